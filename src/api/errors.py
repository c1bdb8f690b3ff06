"""The one place where failures become HTTP answers: always JSON `{"error", "code"}`, never a trace."""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.logs import logger
from api.security import KeysUnavailable
from assets.errors import (
    AlbumNotFound,
    AssetNotFound,
    InvalidCursor,
    StorageUnavailable,
    TooManyAlbums,
    TooManyPendingUploads,
)


class ErrorCode(StrEnum):
    """Every `code` an error answer can carry: stable, for programs to branch on."""

    INVALID_REQUEST = "invalid_request"
    INVALID_CURSOR = "invalid_cursor"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    TOO_MANY_ALBUMS = "too_many_albums"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    TOO_MANY_PENDING_UPLOADS = "too_many_pending_uploads"
    INTERNAL_ERROR = "internal_error"
    SERVICE_UNAVAILABLE = "service_unavailable"
    ERROR = "error"
    """Any other status a layer below the app answers with."""


_STATUS_CODES = {
    400: ErrorCode.INVALID_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    429: ErrorCode.TOO_MANY_PENDING_UPLOADS,
    500: ErrorCode.INTERNAL_ERROR,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}
_ID_PATHS = ("/assets/", "/albums/")


def error_body(status: int, message: str, code: str | None = None) -> bytes:
    """The JSON every error answer carries, whichever layer refuses the request."""
    document = {"error": message, "code": str(code or _STATUS_CODES.get(status, ErrorCode.ERROR))}
    return json.dumps(document, separators=(",", ":")).encode()


def error_response(
    status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        error_body(status, message, code),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def unauthorized(message: str, *, token_given: bool) -> Response:
    challenge = 'Bearer error="invalid_token"' if token_given else "Bearer"
    return error_response(401, message, headers={"WWW-Authenticate": challenge})


class Unauthenticated(Exception):
    """No acceptable bearer token on a route that needs one."""

    def __init__(self, message: str, *, token_given: bool) -> None:
        super().__init__(message)
        self.token_given = token_given


def _describe_validation(error: RequestValidationError) -> str:
    parts = []
    for detail in error.errors()[:5]:
        location = ".".join(str(part) for part in detail.get("loc", ()) if part != "body")
        parts.append(f"{location}: {detail.get('msg', 'invalid')}" if location else detail["msg"])
    return "invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Map the domain's errors, validation failures and anything unexpected to JSON answers."""

    async def not_found(_: Request, __: Exception) -> Response:
        return error_response(404, "asset not found")

    async def album_not_found(_: Request, __: Exception) -> Response:
        return error_response(404, "album not found")

    async def too_many(_: Request, error: Exception) -> Response:
        return error_response(429, str(error), headers={"Retry-After": "60"})

    async def too_many_albums(_: Request, error: Exception) -> Response:
        # Not a 429: waiting changes nothing; deleting an album does.
        return error_response(409, str(error), code=ErrorCode.TOO_MANY_ALBUMS)

    async def bad_cursor(_: Request, error: Exception) -> Response:
        return error_response(400, str(error), code=ErrorCode.INVALID_CURSOR)

    async def unavailable(_: Request, error: Exception) -> Response:
        logger.warning("dependency unavailable", extra={"reason": str(error)})
        return error_response(
            503,
            "the service is temporarily unavailable; retry shortly",
            headers={"Retry-After": "1"},
        )

    async def unauthenticated(_: Request, error: Exception) -> Response:
        assert isinstance(error, Unauthenticated)
        return unauthorized(str(error), token_given=error.token_given)

    async def invalid(_: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        return error_response(400, _describe_validation(error))

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 404 and request.url.path.startswith(_ID_PATHS):
            # Ids with slashes miss the route: still the one 404 every unknown id gets.
            if request.url.path.startswith("/albums/"):
                return await album_not_found(request, error)
            return await not_found(request, error)
        message = error.detail if isinstance(error.detail, str) else "request refused"
        return error_response(error.status_code, message.lower(), headers=error.headers)

    handlers: dict[Any, Any] = {
        AssetNotFound: not_found,
        AlbumNotFound: album_not_found,
        TooManyPendingUploads: too_many,
        TooManyAlbums: too_many_albums,
        InvalidCursor: bad_cursor,
        StorageUnavailable: unavailable,
        KeysUnavailable: unavailable,
        Unauthenticated: unauthenticated,
        RequestValidationError: invalid,
        StarletteHTTPException: http_error,
    }
    for exception_type, handler in handlers.items():
        app.add_exception_handler(exception_type, handler)
