"""Building the FastAPI application from settings and its collaborators."""

from __future__ import annotations

import warnings
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic.alias_generators import to_camel
from pydantic.warnings import UnsupportedFieldAttributeWarning

from api.docs import install_docs
from api.errors import install_error_handlers
from api.middleware import RequestMiddleware
from api.routes import albums, assets, health
from api.schemas import ErrorBody, drop_null
from api.security import CognitoTokenVerifier, JwksCache
from api.service import AssetService
from assets.aws import AwsClients
from assets.settings import ApiSettings

# FastAPI silences this pydantic warning about the `body` field it wraps each request model in,
# while it builds the field; the API's models are built on first use (schemas.ApiModel), after.
warnings.filterwarnings(
    "ignore", "The 'alias' attribute with value 'body'", UnsupportedFieldAttributeWarning
)

DESCRIPTION = """\
Signed-in users upload PNG and JPEG images straight to a private S3 bucket.

1. `POST /assets` with the image type: the API records the asset and returns a signed S3 POST form
   (exact key, type, 1..max bytes, a few minutes).
2. POST the file to `upload.url` as `multipart/form-data`: every `upload.fields` entry first, the
   file last, as the `file` field.
3. Poll `GET /assets/{assetId}` until `ready` (with the CDN `url`) or `rejected` (with `error`).

An asset may carry a `fileName`, `title` and `description` (for display only) and be in one of
the caller's albums (`/albums`; `GET /assets?albumId=` lists one). Text is NFC-normalised and
trimmed, must hold no control characters (newline and tab are allowed in `description`), and is
stored and answered verbatim: markup is data.

Image URLs are CloudFront signed URLs for the owner (unless the deployment serves them publicly),
valid until `urlExpiresAt`: a client refreshes a URL by reading the asset (or the list) again, and
never builds, edits or stores one.

Every route but `/health` needs a Cognito ID or access token: `Authorization: Bearer <token>`.
Errors are always JSON: `{"error": "<message>", "code": "<stable code>"}`. Anyone but the owner,
and any unknown or malformed id, gets the same 404. Fields an answer leaves out are absent, never
`null`.
"""


def create_app(
    settings: ApiSettings,
    *,
    clients: AwsClients | None = None,
    verifier: CognitoTokenVerifier | None = None,
    service: AssetService | None = None,
) -> FastAPI:
    """The API, wired to its collaborators (built from settings unless given)."""
    app = FastAPI(
        title="Private asset uploads",
        version="1.0.0",
        description=DESCRIPTION,
        # Swagger UI from the API itself, not FastAPI's CDN copy (api.docs).
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        generate_unique_id_function=_operation_id,
        # Starlette's trailing-slash redirect builds its Location from the caller's Host and
        # X-Forwarded-Proto; every path here is exact, so `/assets/` is a plain 404 instead.
        redirect_slashes=False,
        # Logs and metrics are Powertools' and tracing is off (template.yaml): FastAPI's own
        # OpenTelemetry instrumentation would only ask, on every request, whether it is wanted.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    clients = clients or AwsClients(settings.AWS_REGION)
    app.state.settings = settings
    app.state.clients = clients
    app.state.service = service or AssetService(settings, clients)
    app.state.verifier = verifier or CognitoTokenVerifier(
        issuer=settings.cognito_issuer,
        client_ids=settings.COGNITO_CLIENT_ID,
        jwks=JwksCache(settings.jwks_url),
    )
    app.include_router(health.router)
    app.include_router(assets.router)
    app.include_router(albums.router)
    install_docs(app)
    install_error_handlers(app)
    if settings.CORS_ALLOW_ORIGINS:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.CORS_ALLOW_ORIGINS),
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["authorization", "content-type"],
            expose_headers=["location", "retry-after", "x-request-id"],
            max_age=600,
        )
    app.add_middleware(RequestMiddleware)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _operation_id(route: APIRoute) -> str:
    """`createUpload`, `getAsset`, ...: the names generated clients will show."""
    return to_camel(route.name)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with our error schema in place of its 422 validation error, and
    optional query parameters documented as optional rather than nullable."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema(by_alias=True))
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if not parameter.get("required", False):
                    drop_null(parameter["schema"])
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None and "400" not in responses:
                responses["400"] = {
                    "description": "The request is malformed.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                    },
                }
    app.openapi_schema = document
    return document
