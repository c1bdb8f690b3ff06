"""The asset routes: start an upload, read its status, list and delete the caller's assets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status

from api.deps import CurrentUser, ServiceDep, run_blocking
from api.schemas import (
    AssetListResponse,
    AssetResponse,
    AssetView,
    CreateUploadRequest,
    CreateUploadResponse,
    ErrorBody,
    UploadForm,
)
from api.service import AssetService
from assets.model import Asset, AssetStatus

router = APIRouter(prefix="/assets", tags=["assets"])

AssetIdParam = Annotated[
    str, Path(alias="assetId", description="The `assetId` returned by `POST /assets`.")
]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "The request is malformed (the body, a parameter or the cursor).",
        401: "No valid Cognito bearer token.",
        404: "No such asset for this caller (unknown, malformed, or another user's id).",
        413: "The request body is too large.",
        429: "Too many uploads in progress for this user.",
        503: "AWS is throttling or unavailable; retry with backoff. Nothing was half-written.",
    }
    return {code: {"model": ErrorBody, "description": descriptions[code]} for code in codes}


def asset_view(service: AssetService, asset: Asset) -> AssetView:
    """What the owner sees of an asset. May sign a URL (and, once per process, read the key)."""
    now = service.now()
    current = asset.status_at(now)
    ready = current is AssetStatus.READY
    rejected = current is AssetStatus.REJECTED
    delivered = service.delivered_url(asset, now)
    return AssetView(
        asset_id=asset.asset_id,
        status=current,
        content_type=asset.image_type,
        created_at=asset.created_at,
        updated_at=asset.updated_at,
        url=delivered.url if delivered else None,
        url_expires_at=delivered.expires_at if delivered else None,
        width=asset.width if ready else None,
        height=asset.height if ready else None,
        bytes=asset.bytes if ready else None,
        error=asset.error if rejected else None,
        error_code=asset.error_code if rejected else None,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CreateUploadResponse,
    response_model_exclude_none=True,
    summary="Start an upload",
    responses=_errors(400, 401, 413, 429, 503),
)
async def create_upload(
    body: CreateUploadRequest,
    user: CurrentUser,
    service: ServiceDep,
    request: Request,
    response: Response,
) -> CreateUploadResponse:
    """Record a new asset and return the signed form that uploads its bytes straight to S3."""
    started = await run_blocking(request, service.start_upload, user.sub, body.content_type)
    asset_id = started.asset.asset_id
    request.state.asset_id = asset_id
    response.headers["Location"] = f"/assets/{asset_id}"
    form = started.form
    return CreateUploadResponse(
        asset=asset_view(service, started.asset),
        upload=UploadForm(
            url=form.url, fields=form.fields, expires_at=form.expires_at, max_bytes=form.max_bytes
        ),
    )


@router.get(
    "",
    response_model=AssetListResponse,
    response_model_exclude_none=True,
    summary="List my assets",
    responses=_errors(400, 401, 503),
)
async def list_assets(
    request: Request,
    user: CurrentUser,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    cursor: Annotated[
        str | None,
        Query(
            max_length=512,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="`nextCursor` of the previous page, as given (opaque).",
        ),
    ] = None,
) -> AssetListResponse:
    """The caller's assets, newest first."""
    return await run_blocking(request, _listing, service, user.sub, limit, cursor)


def _listing(
    service: AssetService, owner_id: str, limit: int, cursor: str | None
) -> AssetListResponse:
    listing = service.list(owner_id, limit, cursor)
    return AssetListResponse(
        assets=[asset_view(service, asset) for asset in listing.assets],
        next_cursor=listing.next_cursor,
    )


@router.get(
    "/{assetId}",
    response_model=AssetResponse,
    response_model_exclude_none=True,
    summary="Get an asset's status",
    responses=_errors(401, 404, 503),
)
async def get_asset(
    asset_id: AssetIdParam, request: Request, user: CurrentUser, service: ServiceDep
) -> AssetResponse:
    """The status of one of the caller's assets, with its CDN URL once `ready`."""
    return await run_blocking(request, _one, service, user.sub, asset_id)


def _one(service: AssetService, owner_id: str, asset_id: str) -> AssetResponse:
    # Signing may read the key's secret (once per process): blocking, like the read.
    return AssetResponse(asset=asset_view(service, service.get(owner_id, asset_id)))


@router.delete(
    "/{assetId}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete an asset",
    responses=_errors(401, 404, 503),
)
async def delete_asset(
    asset_id: AssetIdParam, request: Request, user: CurrentUser, service: ServiceDep
) -> Response:
    """Delete one of the caller's assets: its record, its original and its published image."""
    await run_blocking(request, service.delete, user.sub, asset_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
