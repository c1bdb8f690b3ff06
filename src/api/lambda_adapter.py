"""The API's Lambda entry: Mangum, answering 400 when an event cannot be made into a request.

Mangum builds the ASGI request from the event before the app (and its error handling) runs: a
`Host` of `a:b`, an `X-Forwarded-Port` that is not a number or a body flagged base64 that is not,
raise there, and Lambda would turn the exception into API Gateway's bare 500.
"""

from __future__ import annotations

import json
from typing import Any

from mangum import Mangum

from api.logs import logger

_MALFORMED = json.dumps({"error": "the request is malformed", "code": "invalid_request"})


class LambdaAdapter(Mangum):
    """Mangum over the app, with requests it cannot read refused as the app refuses them: JSON 400."""

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
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
