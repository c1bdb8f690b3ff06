"""The album routes: create, list, read, rename and delete the caller's albums."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from api.deps import CurrentUser, ServiceDep, run_blocking
from api.routes.common import CursorParam, LimitParam, errors
from api.schemas import AlbumListResponse, AlbumRequest, AlbumResponse, AlbumView
from assets.model import Album

router = APIRouter(prefix="/albums", tags=["albums"])

AlbumIdParam = Annotated[
    str, Path(alias="albumId", description="The `albumId` returned by `POST /albums`.")
]


def album_view(album: Album) -> AlbumView:
    return AlbumView(
        album_id=album.album_id,
        name=album.name,
        created_at=album.created_at,
        updated_at=album.updated_at,
        asset_count=album.asset_count,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AlbumResponse,
    response_model_exclude_none=True,
    summary="Create an album",
    responses=errors(400, 401, 409, 413, 503),
)
async def create_album(
    body: AlbumRequest, request: Request, response: Response, user: CurrentUser, service: ServiceDep
) -> AlbumResponse:
    """A new, empty album; 409 `too_many_albums` once the caller has `MAX_ALBUMS` of them."""
    album = await run_blocking(request, service.create_album, user.sub, body.name)
    response.headers["Location"] = f"/albums/{album.album_id}"
    return AlbumResponse(album=album_view(album))


@router.get(
    "",
    response_model=AlbumListResponse,
    response_model_exclude_none=True,
    summary="List my albums",
    responses=errors(400, 401, 503),
)
async def list_albums(
    request: Request,
    user: CurrentUser,
    service: ServiceDep,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> AlbumListResponse:
    """The caller's albums, newest first."""
    listing = await run_blocking(request, service.list_albums, user.sub, limit, cursor)
    return AlbumListResponse(
        albums=[album_view(album) for album in listing.albums], next_cursor=listing.next_cursor
    )


@router.get(
    "/{albumId}",
    response_model=AlbumResponse,
    response_model_exclude_none=True,
    summary="Get an album",
    responses=errors(401, 404, 503),
)
async def get_album(
    album_id: AlbumIdParam, request: Request, user: CurrentUser, service: ServiceDep
) -> AlbumResponse:
    """One of the caller's albums; its assets are `GET /assets?albumId=`."""
    album = await run_blocking(request, service.get_album, user.sub, album_id)
    return AlbumResponse(album=album_view(album))


@router.patch(
    "/{albumId}",
    response_model=AlbumResponse,
    response_model_exclude_none=True,
    summary="Rename an album",
    responses=errors(400, 401, 404, 413, 503),
)
async def rename_album(
    album_id: AlbumIdParam,
    body: AlbumRequest,
    request: Request,
    user: CurrentUser,
    service: ServiceDep,
) -> AlbumResponse:
    """Give one of the caller's albums a new name."""
    album = await run_blocking(request, service.rename_album, user.sub, album_id, body.name)
    return AlbumResponse(album=album_view(album))


@router.delete(
    "/{albumId}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete an album",
    responses=errors(401, 404, 503),
)
async def delete_album(
    album_id: AlbumIdParam, request: Request, user: CurrentUser, service: ServiceDep
) -> Response:
    """Delete one of the caller's albums. Its assets stay, unassigned; no answer names it again."""
    await run_blocking(request, service.delete_album, user.sub, album_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
