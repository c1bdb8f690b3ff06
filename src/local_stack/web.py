"""The local CloudFront: the page from `site/` by default, `/assets/*` from `processed/assets/`.

As in the deployed distribution, `/assets/<name>` reads `processed/assets/<name>` from the private
bucket and nothing else: there is no route to `uploads/`, and a name that tries to climb out of
the prefix is a 404. Objects are served with the `Content-Type` the worker stored. The page gets
a generated `/config.js` (served from memory, so `site/` is never written to).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from assets.model import PROCESSED_PREFIX
from local_stack.guard import LocalOnly

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_ASSET_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,254}\Z")
_PASSED_HEADERS = {
    "ContentType": "content-type",
    "ContentLength": "content-length",
    "ETag": "etag",
    "CacheControl": "cache-control",
    "ContentDisposition": "content-disposition",
    "ContentEncoding": "content-encoding",
}
_SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def config_script(config: Mapping[str, Any]) -> str:
    """The page's `config.js`: the local endpoints, frozen on `window.__APP_CONFIG__`."""
    return f"window.__APP_CONFIG__ = Object.freeze({json.dumps(dict(config), indent=2, sort_keys=True)});\n"


class SecurityHeaders:
    """Headers every response carries, whatever produced it."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in _SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, send_with_headers)


def create_web_app(
    *,
    s3: S3Client,
    bucket: str,
    site_dir: Path | None,
    config: Mapping[str, Any],
    allowed_origins: Collection[str] = (),
) -> Starlette:
    """The page (if `site_dir` is given) and the CDN's `/assets/*` behaviour, on one origin."""
    script = config_script(config)

    async def config_js(request: Request) -> Response:
        return Response(
            script,
            media_type="text/javascript",
            headers={"cache-control": "no-store"},
        )

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if not _ASSET_NAME.match(name) or ".." in name:
            return PlainTextResponse("Not Found", status_code=404)
        return await run_in_threadpool(_fetch, s3, bucket, PROCESSED_PREFIX + name, request)

    routes: list[Route | Mount] = [
        Route("/config.js", config_js, methods=["GET", "HEAD"]),
        Route("/assets/{name}", asset, methods=["GET", "HEAD"]),
    ]
    if site_dir is not None:
        routes.append(Mount("/", StaticFiles(directory=site_dir, html=True), name="site"))
    return Starlette(
        routes=routes,
        middleware=[Middleware(LocalOnly, allowed_origins), Middleware(SecurityHeaders)],
    )


def _fetch(s3: S3Client, bucket: str, key: str, request: Request) -> Response:
    arguments: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match:
        arguments["IfNoneMatch"] = if_none_match
    try:
        if request.method == "HEAD":
            found: Any = s3.head_object(**arguments)
            body = b""
        else:
            found = s3.get_object(**arguments)
            with found["Body"] as stream:
                body = stream.read()
    except ClientError as error:
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        code = str(error.response.get("Error", {}).get("Code", ""))
        if status == 304 or code == "304":
            return Response(status_code=304, headers={"etag": if_none_match or ""})
        if code in ("NoSuchKey", "404", "NotFound"):
            return PlainTextResponse("Not Found", status_code=404)
        raise
    headers = {
        header: str(found[field])
        for field, header in _PASSED_HEADERS.items()
        if found.get(field) is not None
    }
    if found.get("LastModified") is not None:
        headers["last-modified"] = found["LastModified"].strftime("%a, %d %b %Y %H:%M:%S GMT")
    headers.setdefault("content-type", "application/octet-stream")
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers)
    headers["content-length"] = str(len(body))
    return Response(body, status_code=200, headers=headers)
