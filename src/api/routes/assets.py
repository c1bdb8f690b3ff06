"""The asset routes: start an upload, read its status, list, change and delete the caller's assets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status

from api.deps import CurrentUser, ServiceDep, run_blocking
from api.routes.common import CursorParam, LimitParam, errors
from api.schemas import (
    AssetListResponse,
    AssetResponse,
    AssetView,
    CreateUploadRequest,
    CreateUploadResponse,
    UpdateAssetRequest,
    UploadForm,
    VariantView,
)
from api.service import AssetService
from assets.model import ID_PATTERN, VARIANT_CONTENT_TYPE, Asset, AssetStatus, RejectionReason

router = APIRouter(prefix="/assets", tags=["assets"])

AssetIdParam = Annotated[
    str, Path(alias="assetId", description="The `assetId` returned by `POST /assets`.")
]


def asset_view(service: AssetService, asset: Asset) -> AssetView:
    """What the owner sees of an asset. May sign URLs (and, once per process, read the key):
    call it where blocking is allowed (`run_blocking`)."""
    now = service.now()
    current = asset.status_at(now)
    ready = current is AssetStatus.READY
    rejected = current is AssetStatus.REJECTED
    delivered = service.delivered_url(asset, now)
    variants = {
        variant.name: (variant, service.url_for(variant.key(asset.asset_id), now))
        for variant in (asset.variants if delivered else ())
    }
    # One expiry for the view: the earliest of its URLs (a client refreshes them together).
    expiries = [
        url.expires_at
        for url in (delivered, *(url for _, url in variants.values()))
        if url is not None and url.expires_at is not None
    ]
    return AssetView(
        asset_id=asset.asset_id,
        status=current,
        content_type=asset.image_type,
        created_at=asset.created_at,
        updated_at=asset.updated_at,
        url=delivered.url if delivered else None,
        url_expires_at=min(expiries) if expiries else None,
        width=asset.width if ready else None,
        height=asset.height if ready else None,
        bytes=asset.bytes if ready else None,
        variants={
            name: VariantView(
                url=url.url,
                width=variant.width,
                height=variant.height,
                content_type=VARIANT_CONTENT_TYPE,
                bytes=variant.bytes,
            )
            for name, (variant, url) in variants.items()
        }
        or None,
        placeholder=asset.placeholder if ready else None,
        error=asset.error if rejected else None,
        error_code=_reason(asset.error_code) if rejected else None,
        file_name=asset.file_name,
        title=asset.title,
        description=asset.description,
        album_id=asset.album_id,
    )


def _reason(code: str | None) -> RejectionReason | None:
    # A code this build does not know (a newer worker's) is left out rather than failing the read.
    known = {reason.value for reason in RejectionReason}
    return RejectionReason(code) if code is not None and code in known else None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CreateUploadResponse,
    response_model_exclude_none=True,
    summary="Start an upload",
    responses=errors(400, 401, 404, 413, 429, 503),
)
async def create_upload(
    body: CreateUploadRequest,
    user: CurrentUser,
    service: ServiceDep,
    request: Request,
    response: Response,
) -> CreateUploadResponse:
    """Record a new asset and return the signed form that uploads its bytes straight to S3.

    `fileName`, `title` and `description` are kept for display; `albumId` puts the asset in one of
    the caller's albums (404 for any other id). The form allows exactly one object, at a key the
    server chooses.
    """
    started = await run_blocking(
        request, service.start_upload, user.sub, body.content_type, body.details()
    )
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
    responses=errors(400, 401, 404, 503),
)
async def list_assets(
    request: Request,
    user: CurrentUser,
    service: ServiceDep,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
    album_id: Annotated[
        str | None,
        Query(
            alias="albumId",
            pattern=ID_PATTERN,
            description="Only the assets in this album of the caller's (404 for any other).",
        ),
    ] = None,
) -> AssetListResponse:
    """The caller's assets, newest first; with `albumId`, only those in that album."""
    return await run_blocking(request, _listing, service, user.sub, limit, cursor, album_id)


def _listing(
    service: AssetService, owner_id: str, limit: int, cursor: str | None, album_id: str | None
) -> AssetListResponse:
    listing = service.list(owner_id, limit, cursor, album_id)
    return AssetListResponse(
        assets=[asset_view(service, asset) for asset in listing.assets],
        next_cursor=listing.next_cursor,
    )


@router.get(
    "/{assetId}",
    response_model=AssetResponse,
    response_model_exclude_none=True,
    summary="Get an asset's status",
    responses=errors(401, 404, 503),
)
async def get_asset(
    asset_id: AssetIdParam, request: Request, user: CurrentUser, service: ServiceDep
) -> AssetResponse:
    """The status of one of the caller's assets, with its CDN URL once `ready`."""
    return await run_blocking(request, _view, service, service.get, user.sub, asset_id)


@router.patch(
    "/{assetId}",
    response_model=AssetResponse,
    response_model_exclude_none=True,
    summary="Change an asset's title, description or album",
    responses=errors(400, 401, 404, 413, 503),
)
async def update_asset(
    asset_id: AssetIdParam,
    body: UpdateAssetRequest,
    request: Request,
    user: CurrentUser,
    service: ServiceDep,
) -> AssetResponse:
    """Set any of `title`, `description`, `albumId`; `null` clears. 404 for anyone but the owner,
    and for an `albumId` that is not one of the caller's albums (nothing is changed then)."""
    return await run_blocking(
        request, _view, service, service.update, user.sub, asset_id, body.changes()
    )


def _view(service: AssetService, read: Callable[..., Asset], *args: Any) -> AssetResponse:
    # Reading and signing are both blocking: one hop for the two.
    return AssetResponse(asset=asset_view(service, read(*args)))


@router.delete(
    "/{assetId}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete an asset",
    responses=errors(401, 404, 503),
)
async def delete_asset(
    asset_id: AssetIdParam, request: Request, user: CurrentUser, service: ServiceDep
) -> Response:
    """Delete one of the caller's assets: its record, its original and its published image."""
    await run_blocking(request, service.delete, user.sub, asset_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
