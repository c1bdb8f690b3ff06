"""ASGI middleware: one JSON log line per request, a body cap, a JSON 500 of last resort.

Plain ASGI rather than BaseHTTPMiddleware: it costs a few microseconds a request, not a task.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from api.logs import logger
from assets.model import is_asset_id

MAX_BODY_BYTES = 16 * 1024


class BodyTooLarge(HTTPException):
    """Raised from inside the app too, so FastAPI's body parsing passes it on as a 413."""

    def __init__(self) -> None:
        super().__init__(413, "request body too large")


def _json(status: int, message: str, code: str, request_id: str) -> list[Message]:
    body = error_body(status, message, code)
    return [
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


def _request_id(scope: Scope) -> str:
    """API Gateway's request id under Lambda (Powertools' correlation id), else a new one."""
    if "aws.event" in scope:
        correlation_id = logger.get_correlation_id()
        if correlation_id:
            return correlation_id
    return str(uuid.uuid4())


def _event_body_size(event: Any) -> int:
    """The size of a Lambda event's body once decoded, without decoding it."""
    if not isinstance(event, dict):
        return 0
    body = event.get("body")
    if not isinstance(body, str) or not body:
        return 0
    if event.get("isBase64Encoded"):
        padding = len(body) - len(body.rstrip("="))
        return len(body) // 4 * 3 - padding
    return len(body.encode())


class RequestMiddleware:
    """Wraps every HTTP request: id, body-size cap, access log line, and no bare 500s."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        outcome = {"status": 500, "started": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                outcome["started"] = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        received = 0

        async def receive_wrapper() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge()
            return message

        try:
            if self._declared_length(scope) > self.max_body_bytes:
                raise BodyTooLarge()
            await self.app(scope, receive_wrapper, send_wrapper)
        except BodyTooLarge:
            await self._reply(
                send, outcome, 413, "request body too large", "payload_too_large", request_id
            )
        except Exception as error:  # noqa: BLE001 - the last wall before a bare 500
            logger.exception("unhandled error", extra={"error_type": type(error).__name__})
            await self._reply(send, outcome, 500, "internal error", "internal_error", request_id)
        finally:
            self._log(scope, state, int(outcome["status"]), started, request_id)

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        declared = 0
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                break
        # Under Lambda the whole body is in the event, whatever the headers say: a route that
        # never reads it must refuse it all the same.
        return max(declared, _event_body_size(scope.get("aws.event")))

    @staticmethod
    async def _reply(
        send: Send, outcome: dict[str, Any], status: int, message: str, code: str, request_id: str
    ) -> None:
        outcome["status"] = status
        if outcome["started"]:
            return  # headers already sent: nothing better than closing can be done
        for part in _json(status, message, code, request_id):
            await send(part)

    @staticmethod
    def _log(
        scope: Scope, state: dict[str, Any], status: int, started: float, request_id: str
    ) -> None:
        route = scope.get("route")
        entry: dict[str, Any] = {
            "requestId": request_id,
            "method": scope.get("method"),
            "route": getattr(route, "path", None) or "<unmatched>",
            "status": status,
            "durationMs": round((time.perf_counter() - started) * 1000, 3),
        }
        asset_id = state.get("asset_id") or scope.get("path_params", {}).get("assetId")
        # The path is the caller's text: only an id this service could have issued is logged.
        if isinstance(asset_id, str) and is_asset_id(asset_id):
            entry["assetId"] = asset_id
        logger.info("request", extra=entry)
