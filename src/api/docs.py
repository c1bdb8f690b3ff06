"""`/docs`: Swagger UI from the API itself (fastapi-offline's copy), under a strict CSP.

FastAPI's own `/docs` loads Swagger UI from a CDN and starts it with an inline script: blank
without internet, and a page that runs another site's code next to a pasted token. Here the
page is still FastAPI's `get_swagger_ui_html`, with local URLs, and its start-up script is
moved into a served file, so the CSP can say `script-src 'self'`.

fastapi-offline ships Swagger UI 5 (our document is OpenAPI 3.1, which Swagger UI 4 refuses)
as three plain files and needs nothing but FastAPI; only its files are used, not its app.
"""

from __future__ import annotations

import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response

DOCS_URL = "/docs"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none';"
    " object-src 'none'"
)
"""Swagger UI fetches the document and sends "Try it out" requests to this origin only."""
_FILES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
_INLINE_SCRIPT = re.compile(r"<script>(?P<code>.*?)</script>", re.DOTALL)
_HEADERS = {"content-security-policy": DOCS_CSP, "x-content-type-options": "nosniff"}


def swagger_ui_files() -> Path:
    """Where fastapi-offline keeps Swagger UI (importing it costs under a millisecond)."""
    return Path(fastapi_offline.__file__).parent / "static"


def swagger_page(title: str, openapi_url: str) -> tuple[str, str]:
    """FastAPI's Swagger UI page with local files, and its start-up script taken out of it."""
    body = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=title,
        swagger_js_url=f"{DOCS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_URL}/favicon.png",
    ).body
    page = bytes(body).decode()
    found = _INLINE_SCRIPT.search(page)
    if found is None:
        raise RuntimeError("FastAPI's Swagger UI page has no start-up script to move")
    served = f'<script src="{DOCS_URL}/swagger-init.js"></script>'
    return page[: found.start()] + served + page[found.end() :], found["code"].strip() + "\n"


def install_docs(app: FastAPI) -> None:
    """Serve `/docs`, its start-up script and Swagger UI's files from this app."""
    files = swagger_ui_files()
    page, init_script = swagger_page(f"{app.title} - API docs", app.openapi_url or "/openapi.json")

    async def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(page, headers={**_HEADERS, "cache-control": "no-cache"})

    async def init(request: Request) -> Response:
        return Response(init_script, media_type="text/javascript", headers=_HEADERS)

    async def asset(request: Request) -> Response:
        name = request.url.path.rsplit("/", 1)[1]
        return FileResponse(
            files / name,
            media_type=_FILES[name],
            headers={**_HEADERS, "cache-control": "public, max-age=86400"},
        )

    app.add_api_route(DOCS_URL, docs, methods=["GET"], include_in_schema=False)
    app.add_api_route(f"{DOCS_URL}/swagger-init.js", init, methods=["GET"], include_in_schema=False)
    for name in _FILES:
        app.add_api_route(f"{DOCS_URL}/{name}", asset, methods=["GET"], include_in_schema=False)
