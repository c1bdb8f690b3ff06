"""What every local listener refuses: other Host names (DNS rebinding) and other sites' pages.

The page legitimately calls moto (sign-in, the form POST) and the API from its own origin; tools
and tests send no Origin at all. Anything else a browser sends (a page elsewhere POSTing to
`/moto-api/reset`, an `<img>` naming an SQS `?Action=DeleteQueue`) is refused before it runs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_local_host(host: str) -> bool:
    """True for Host headers a local client sends: IP literals, localhost, host.docker.internal.

    A page on someone else's domain that rebinds its DNS to 127.0.0.1 still sends its own name,
    so refusing other names keeps such pages from reading the local stack's data.
    """
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name in ("localhost", "host.docker.internal") or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def refusal(
    method: str,
    headers: Mapping[str, str],
    allowed_origins: Collection[str],
    *,
    navigation: bool = False,
) -> str | None:
    """Why a request is refused, or None. `headers` keys are lowercase.

    An Origin other than the page's (or the listener's own) is refused whenever a browser sent
    it (`Sec-Fetch-Site` present) or the method changes something; a cross-site request without
    an Origin (an image, a link, a form GET) too, except, where `navigation` allows it, a
    top-level page load, which changes nothing.
    """
    host = headers.get("host", "")
    if not is_local_host(host):
        return f"Host {host!r} is not a local name; refused."
    origin = headers.get("origin")
    site = headers.get("sec-fetch-site")
    if origin is not None:
        if origin.rstrip("/") in allowed_origins or origin.rstrip("/") == f"http://{host}":
            return None
        if site is not None or method.upper() not in _SAFE_METHODS:
            return f"Origin {origin!r} is not the local page's; refused."
        return None
    loads_page = headers.get("sec-fetch-mode") == "navigate" and method.upper() in ("GET", "HEAD")
    if site == "cross-site" and not (navigation and loads_page):
        return "A cross-site request to the local stack; refused."
    return None


class LocalOnly:
    """ASGI middleware applying `refusal` (the API's and the page/CDN's listeners)."""

    def __init__(self, app: ASGIApp, allowed_origins: Collection[str]) -> None:
        self._app = app
        self._origins = frozenset(origin.rstrip("/") for origin in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            reason = refusal(scope["method"], headers, self._origins, navigation=True)
            if reason is not None:
                await PlainTextResponse(reason, status_code=403)(scope, receive, send)
                return
        await self._app(scope, receive, send)
