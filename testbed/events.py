"""Lambda-shaped events: API Gateway HTTP API (payload 2.0) requests."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any


def http_api_event(
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    query: str = "",
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API v2 event as Lambda receives it."""
    all_headers = {
        "host": "abc123.execute-api.us-east-1.amazonaws.com",
        "user-agent": "pytest",
        "x-forwarded-proto": "https",
    }
    if token is not None:
        all_headers["authorization"] = f"Bearer {token}"
    raw_body = None
    if body is not None:
        raw_body = body if isinstance(body, str) else json.dumps(body)
        all_headers["content-type"] = "application/json"
    all_headers.update(headers or {})
    if raw_body is not None and base64_body:
        raw_body = base64.b64encode(raw_body.encode()).decode()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "pytest",
            },
            "requestId": f"req-{uuid.uuid4().hex[:12]}",
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": base64_body,
    }
    if raw_body is not None:
        event["body"] = raw_body
    return event


class _LambdaContext:
    """The attributes of Lambda's context object that the handlers and powertools read."""

    function_name = "ApiFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ApiFunction"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/ApiFunction"
    log_stream_name = "2026/06/21/[$LATEST]abc"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def lambda_context() -> Any:
    """A stand-in for Lambda's context object (typed `Any`: each library declares its own type)."""
    return _LambdaContext()
