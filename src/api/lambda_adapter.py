"""The API's Lambda entry: Mangum, with Powertools' correlation id, and 400 for unreadable events.

Mangum builds the ASGI request from the event before the app (and its error handling) runs: a
`Host` of `a:b`, an `X-Forwarded-Port` that is not a number or a body flagged base64 that is not,
raise there, and Lambda would turn the exception into API Gateway's bare 500.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from mangum import Mangum

from api.errors import error_body
from api.logs import logger

_MALFORMED = error_body(400, "the request is malformed").decode()


class LambdaAdapter(Mangum):
    """Mangum over the app, with requests it cannot read refused as the app refuses them: JSON 400."""

    def __init__(self, app: Any, **options: Any) -> None:
        super().__init__(app, **options)
        # API Gateway's request id becomes the log lines' correlation id and `x-request-id`.
        self._invoke = logger.inject_lambda_context(
            self._serve, correlation_id_path=correlation_paths.API_GATEWAY_HTTP
        )

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        response: dict[str, Any] = self._invoke(event, context)
        return response

    def _serve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = super().__call__(event, context)
        except ValueError as error:
            # The message would quote the header at fault: the caller's text stays out of logs.
            logger.warning("malformed request event", extra={"error_type": type(error).__name__})
            return {
                "statusCode": 400,
                "headers": {"content-type": "application/json"},
                "body": _MALFORMED,
                "isBase64Encoded": False,
            }
        return response
