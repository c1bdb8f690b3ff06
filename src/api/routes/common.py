"""What every route module shares: the documented error answers and the paging parameters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from api.schemas import ErrorBody

_DESCRIPTIONS = {
    400: "The request is malformed (the body, a parameter or the cursor), or breaks a limit.",
    401: "No valid Cognito bearer token.",
    404: "No such asset or album for this caller (unknown, malformed, or another user's id).",
    409: "The caller already has `MAX_ALBUMS` albums (`too_many_albums`); delete one first.",
    413: "The request body is over 16 KiB (`payload_too_large`).",
    429: "The caller holds `MAX_PENDING_UPLOADS` open upload forms (`too_many_pending_uploads`).",
    503: "AWS is throttling or unavailable; retry with backoff. Nothing was half-written.",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": '`Bearer`, or `Bearer error="invalid_token"` when a token was given.',
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route documents: each the JSON `ErrorBody`, with its headers."""
    documented: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        documented[code] = {"model": ErrorBody, "description": _DESCRIPTIONS[code]}
        if code in _HEADERS:
            documented[code]["headers"] = _HEADERS[code]
    return documented


LimitParam = Annotated[int, Query(ge=1, le=100, description="Page size.")]
CursorParam = Annotated[
    str | None,
    Query(
        max_length=512,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="`nextCursor` of the previous page, as given (opaque).",
    ),
]
