"""Albums over HTTP: the owner's alone, listed and paged, counting their ready assets, and gone
for good once deleted (their assets stay, unassigned, and no answer names the album again)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from api import service as service_module
from api.service import AssetService
from assets.aws import AwsClients
from assets.pending import PendingUploads
from assets.repository import AssetPage, AssetRepository
from testbed.aws import asset_records
from tests.unit.api.conftest import (
    REGION,
    JwksServer,
    Pool,
    Resources,
    User,
    assert_counts_right,
    build_app,
    make_settings,
    run_worker,
    scan,
)
from worker.processing import Outcome

UNKNOWN_ID = "307d0b55-05d1-4c0f-a0fb-4c3e1083e3df"
MALFORMED_IDS = ["not-an-id", "307D0B55-05D1-4C0F-A0FB-4C3E1083E3DF", "%2e%2e", "a" * 300]


class Ticking:
    """A clock that moves one second each time it is read: creation order is time order."""

    def __init__(self) -> None:
        self._moments = (
            datetime(2026, 6, 21, 10, 0, tzinfo=UTC) + timedelta(seconds=n)
            for n in itertools.count()
        )

    def __call__(self) -> datetime:
        return next(self._moments)


@pytest.fixture
def ticking(
    pool: Pool, aws: Resources, jwks_server: JwksServer, clients: AwsClients
) -> Iterator[TestClient]:
    settings = make_settings(pool, aws)
    service = AssetService(settings, clients, clock=Ticking())
    with TestClient(build_app(settings, jwks_server, clients, service=service)) as client:
        yield client


def _album(client: TestClient, user: User, name: str = "Holidays") -> dict[str, Any]:
    response = client.post("/albums", json={"name": name}, headers=user.auth())
    assert response.status_code == 201, response.text
    album: dict[str, Any] = response.json()["album"]
    return album


def _asset(client: TestClient, user: User, album_id: str | None = None, **fields: Any) -> str:
    body = {"contentType": "image/png", **fields}
    if album_id is not None:
        body["albumId"] = album_id
    response = client.post("/assets", json=body, headers=user.auth())
    assert response.status_code == 201, response.text
    asset_id: str = response.json()["asset"]["assetId"]
    return asset_id


def _ready(clients: AwsClients, aws: Resources, asset_id: str) -> None:
    assert run_worker(clients, aws, asset_id) is Outcome.READY


def _get_album(client: TestClient, user: User, album_id: str) -> dict[str, Any]:
    response = client.get(f"/albums/{album_id}", headers=user.auth())
    assert response.status_code == 200, response.text
    album: dict[str, Any] = response.json()["album"]
    return album


def _listed(client: TestClient, user: User, **params: Any) -> list[str]:
    """Every asset id of a listing, following its cursors."""
    found: list[str] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/assets", params=query, headers=user.auth())
        assert response.status_code == 200, response.text
        body = response.json()
        found += [asset["assetId"] for asset in body["assets"]]
        cursor = body.get("nextCursor")
        if cursor is None:
            return found


def _record(aws: Resources, key: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        boto3.client("dynamodb", region_name=REGION)
        .get_item(TableName=aws.table, Key={"assetId": {"S": key}})
        .get("Item")
    )
    return item


def test_an_album_is_created_read_renamed_and_deleted(
    client: TestClient, alice: User, aws: Resources
) -> None:
    # WHEN alice creates an album
    response = client.post("/albums", json={"name": "  Holidays 2026 "}, headers=alice.auth())

    # THEN it answers 201 with the album, named as trimmed, empty
    assert response.status_code == 201, response.text
    album = response.json()["album"]
    assert set(album) == {"albumId", "name", "createdAt", "updatedAt", "assetCount"}
    assert album["name"] == "Holidays 2026"
    assert album["assetCount"] == 0
    assert album["createdAt"] == album["updatedAt"]
    album_id = album["albumId"]
    assert response.headers["location"] == f"/albums/{album_id}"
    assert _get_album(client, alice, album_id) == album

    # AND it can be renamed, under the same text rules
    renamed = client.patch(f"/albums/{album_id}", json={"name": "Summer"}, headers=alice.auth())
    assert renamed.status_code == 200
    assert renamed.json()["album"]["name"] == "Summer"
    assert renamed.json()["album"]["updatedAt"] >= album["updatedAt"]
    assert _get_album(client, alice, album_id)["name"] == "Summer"

    # AND deleted: 204, then it is a 404 everywhere
    assert client.delete(f"/albums/{album_id}", headers=alice.auth()).status_code == 204
    for method in ("GET", "DELETE"):
        assert (
            client.request(method, f"/albums/{album_id}", headers=alice.auth()).status_code == 404
        )
    assert client.get("/albums", headers=alice.auth()).json() == {"albums": []}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": "tab\there"},
        {"name": "line\nbreak"},
        {"name": "nul\x00"},
        {"name": 7},
        {"name": "ok", "albumId": UNKNOWN_ID},
        {"title": "not a field of albums"},
    ],
)
def test_a_bad_album_body_is_a_400_and_writes_nothing(
    client: TestClient, alice: User, aws: Resources, body: dict[str, Any]
) -> None:
    album = _album(client, alice)
    before = scan(aws)
    for method, path in (("POST", "/albums"), ("PATCH", f"/albums/{album['albumId']}")):
        response = client.request(method, path, json=body, headers=alice.auth())
        assert response.status_code == 400, (method, response.text)
        assert response.json()["code"] == "invalid_request"
    assert scan(aws) == before


def test_names_keep_the_text_rules(client: TestClient, alice: User) -> None:
    xss = '<img src=x onerror="alert(1)">'
    assert _album(client, alice, xss)["name"] == xss
    assert _album(client, alice, "Cafe\u0301")["name"] == "Café"
    assert _album(client, alice, "é" * 100)["name"] == "é" * 100


def test_albums_are_listed_newest_first_and_paged(
    ticking: TestClient, alice: User, bob: User
) -> None:
    created = [_album(ticking, alice, f"Album {n}")["albumId"] for n in range(5)]
    _album(ticking, bob, "Bob's")

    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = ticking.get("/albums", params=params, headers=alice.auth())
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([album["albumId"] for album in body["albums"]])
        cursor = body.get("nextCursor")
        if cursor is None:
            break
    assert [len(page) for page in pages][:3] == [2, 2, 1]
    assert [album_id for page in pages for album_id in page] == created[::-1]
    assert len(ticking.get("/albums", headers=bob.auth()).json()["albums"]) == 1


def test_a_forged_album_cursor_is_a_400(client: TestClient, alice: User) -> None:
    response = client.get("/albums", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=alice.auth())
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_the_album_limit_is_a_stable_409(
    pool: Pool,
    aws: Resources,
    jwks_server: JwksServer,
    clients: AwsClients,
    alice: User,
    bob: User,
) -> None:
    settings = make_settings(pool, aws, MAX_ALBUMS=3)
    with TestClient(build_app(settings, jwks_server, clients)) as client:
        albums = [_album(client, alice, f"A{n}")["albumId"] for n in range(3)]
        refused = client.post("/albums", json={"name": "One too many"}, headers=alice.auth())
        assert refused.status_code == 409
        assert refused.json()["code"] == "too_many_albums"
        assert "retry-after" not in refused.headers
        assert _album(client, bob, "Bob's own")  # a limit per user
        assert client.delete(f"/albums/{albums[0]}", headers=alice.auth()).status_code == 204
        assert _album(client, alice, "Room again")
    names = sorted(
        item["name"]["S"] for item in scan(aws) if item["assetId"]["S"].startswith("album#")
    )
    assert names == ["A1", "A2", "Bob's own", "Room again"]


# --- assets in albums ------------------------------------------------------------------------


def test_an_upload_into_an_album_is_listed_there_newest_first_and_paged(
    ticking: TestClient, alice: User
) -> None:
    holidays = _album(ticking, alice, "Holidays")["albumId"]
    work = _album(ticking, alice, "Work")["albumId"]
    in_holidays = [_asset(ticking, alice, holidays) for _ in range(5)]
    in_work = _asset(ticking, alice, work)
    loose = _asset(ticking, alice)

    assert _listed(ticking, alice, albumId=holidays, limit=2) == in_holidays[::-1]
    assert _listed(ticking, alice, albumId=work) == [in_work]
    assert _listed(ticking, alice, limit=3) == [loose, in_work, *in_holidays[::-1]]
    view = ticking.get(f"/assets/{in_work}", headers=alice.auth()).json()["asset"]
    assert view["albumId"] == work
    assert "albumId" not in ticking.get(f"/assets/{loose}", headers=alice.auth()).json()["asset"]


def test_only_ready_assets_count_and_moves_and_deletes_keep_the_count(
    client: TestClient, clients: AwsClients, alice: User, aws: Resources
) -> None:
    a = _album(client, alice, "A")["albumId"]
    b = _album(client, alice, "B")["albumId"]
    first, second, uploading = (_asset(client, alice, a) for _ in range(3))
    _ready(clients, aws, first)
    _ready(clients, aws, second)
    assert _get_album(client, alice, a)["assetCount"] == 2  # the upload in progress is not counted
    assert len(_listed(client, alice, albumId=a)) == 3  # but it is listed

    moved = client.patch(f"/assets/{first}", json={"albumId": b}, headers=alice.auth())
    assert moved.status_code == 200
    assert moved.json()["asset"]["albumId"] == b
    assert (
        _get_album(client, alice, a)["assetCount"],
        _get_album(client, alice, b)["assetCount"],
    ) == (1, 1)

    out = client.patch(f"/assets/{second}", json={"albumId": None}, headers=alice.auth())
    assert "albumId" not in out.json()["asset"]
    assert _get_album(client, alice, a)["assetCount"] == 0

    back = client.patch(f"/assets/{second}", json={"albumId": a}, headers=alice.auth())
    assert back.json()["asset"]["albumId"] == a
    assert client.delete(f"/assets/{second}", headers=alice.auth()).status_code == 204
    assert _get_album(client, alice, a)["assetCount"] == 0
    assert (
        client.patch(f"/assets/{uploading}", json={"albumId": b}, headers=alice.auth()).status_code
        == 200
    )
    assert _get_album(client, alice, b)["assetCount"] == 1
    _ready(clients, aws, uploading)  # finishing counts it where it is now
    assert _get_album(client, alice, b)["assetCount"] == 2
    assert_counts_right(aws)


def test_a_rejected_upload_stays_listed_uncounted(
    client: TestClient, clients: AwsClients, alice: User, aws: Resources
) -> None:
    album = _album(client, alice)["albumId"]
    asset_id = _asset(client, alice, album)
    assert run_worker(clients, aws, asset_id, data=b"not a png") is Outcome.REJECTED
    assert _listed(client, alice, albumId=album) == [asset_id]
    assert _get_album(client, alice, album)["assetCount"] == 0
    assert_counts_right(aws)


def test_deleting_an_album_keeps_its_assets_unassigned(
    client: TestClient, clients: AwsClients, alice: User, aws: Resources
) -> None:
    album = _album(client, alice)["albumId"]
    kept = _album(client, alice, "Kept")["albumId"]
    ready, uploading = _asset(client, alice, album, title="Ready"), _asset(client, alice, album)
    elsewhere = _asset(client, alice, kept)
    _ready(clients, aws, ready)

    assert client.delete(f"/albums/{album}", headers=alice.auth()).status_code == 204

    # THEN the assets remain, in no album, and the records say so
    for asset_id in (ready, uploading):
        view = client.get(f"/assets/{asset_id}", headers=alice.auth()).json()["asset"]
        assert "albumId" not in view
        record = _record(aws, asset_id)
        assert record is not None
        assert "albumId" not in record
        assert "collection" not in record
    assert client.get(f"/assets/{ready}", headers=alice.auth()).json()["asset"]["title"] == "Ready"
    assert client.get("/assets", params={"albumId": album}, headers=alice.auth()).status_code == 404
    assert _listed(client, alice, albumId=kept) == [elsewhere]
    assert _record(aws, f"album#{album}") is None
    assert_counts_right(aws)
    tally = _record(aws, f"owner#{alice.sub}#albums")
    assert tally is not None
    assert tally["albumCount"]["N"] == "1"


def test_a_big_album_is_deleted_in_bounded_work_and_no_answer_names_it(
    client: TestClient,
    clients: AwsClients,
    alice: User,
    aws: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service_module, "ALBUM_UNASSIGN_BATCH", 2)
    album = _album(client, alice)["albumId"]
    assets = [_asset(client, alice, album) for _ in range(5)]
    for asset_id in assets[:2]:
        _ready(clients, aws, asset_id)

    assert client.delete(f"/albums/{album}", headers=alice.auth()).status_code == 204

    # THEN only a bounded batch of records was rewritten ...
    still_naming = [a for a in assets if (_record(aws, a) or {}).get("albumId") == {"S": album}]
    assert len(still_naming) == 3
    # ... yet no answer names the album: not a read, not a listing, not a change
    for asset_id in assets:
        view = client.get(f"/assets/{asset_id}", headers=alice.auth()).json()["asset"]
        assert "albumId" not in view
    listing = client.get("/assets", headers=alice.auth()).json()["assets"]
    assert all("albumId" not in asset for asset in listing)
    renamed = client.patch(f"/assets/{still_naming[0]}", json={"title": "t"}, headers=alice.auth())
    assert "albumId" not in renamed.json()["asset"]
    # AND naming the deleted album, even as the one the record still holds, is refused
    again = client.patch(
        f"/assets/{still_naming[0]}", json={"albumId": album}, headers=alice.auth()
    )
    assert again.status_code == 404
    assert again.json()["error"] == "album not found"
    # AND a stale reference is harmless: moving, finishing or deleting such an asset just works
    other = _album(client, alice, "Other")["albumId"]
    moved = client.patch(
        f"/assets/{still_naming[1]}", json={"albumId": other}, headers=alice.auth()
    )
    assert moved.json()["asset"]["albumId"] == other
    _ready(clients, aws, still_naming[2])
    finished = _record(aws, still_naming[2])
    assert finished is not None
    assert finished["status"]["S"] == "ready"
    assert "albumId" not in finished
    assert client.delete(f"/assets/{still_naming[0]}", headers=alice.auth()).status_code == 204
    assert_counts_right(aws)


@pytest.mark.parametrize("index", ["up to date", "lagging"])
def test_an_album_deleted_while_its_upload_is_in_flight_leaves_the_asset_unassigned(
    client: TestClient,
    clients: AwsClients,
    alice: User,
    aws: Resources,
    monkeypatch: pytest.MonkeyPatch,
    index: str,
) -> None:
    # GIVEN an upload into an album, its form issued, its bytes not yet processed
    album = _album(client, alice)["albumId"]
    asset_id = _asset(client, alice, album)
    if index == "lagging":
        # The album's index is eventually consistent: the deletion's own pass may not see it.
        monkeypatch.setattr(AssetRepository, "list_in_album", lambda *_: AssetPage([], None))

    # WHEN the album is deleted, and then the worker finishes the upload
    assert client.delete(f"/albums/{album}", headers=alice.auth()).status_code == 204
    assert run_worker(clients, aws, asset_id) is Outcome.READY

    # THEN the asset is ready and in no album: its record points at no ghost
    record = _record(aws, asset_id)
    assert record is not None
    assert record["status"]["S"] == "ready"
    assert "albumId" not in record
    assert "collection" not in record
    view = client.get(f"/assets/{asset_id}", headers=alice.auth()).json()["asset"]
    assert view["status"] == "ready"
    assert "albumId" not in view
    assert _record(aws, f"album#{album}") is None  # the count did not bring the album back


def test_an_upload_into_another_users_album_is_refused_and_writes_nothing(
    client: TestClient, alice: User, bob: User, aws: Resources
) -> None:
    bobs = _album(client, bob)["albumId"]
    before = scan(aws)
    for album_id in (bobs, UNKNOWN_ID):
        response = client.post(
            "/assets", json={"contentType": "image/png", "albumId": album_id}, headers=alice.auth()
        )
        assert response.status_code == 404
        assert response.json() == {"error": "album not found", "code": "not_found"}
    assert asset_records(scan(aws)) == asset_records(before)
    slots = PendingUploads(boto3.client("dynamodb", region_name=REGION), aws.table)
    assert slots.held(alice.sub) == {}  # the form's slot was given back
    assert _get_album(client, bob, bobs)["assetCount"] == 0


# --- the ownership matrix --------------------------------------------------------------------


def _matrix(
    album_id: str, asset_id: str
) -> list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None, int]]:
    """Each new route, as (method, path, body, query, the owner's status)."""
    return [
        ("GET", f"/albums/{album_id}", None, None, 200),
        ("PATCH", f"/albums/{album_id}", {"name": "Renamed"}, None, 200),
        ("GET", "/assets", None, {"albumId": album_id}, 200),
        ("PATCH", f"/assets/{asset_id}", {"albumId": album_id}, None, 200),
        ("POST", "/assets", {"contentType": "image/png", "albumId": album_id}, None, 201),
        ("DELETE", f"/albums/{album_id}", None, None, 204),
    ]


def test_the_ownership_matrix_over_every_album_route(
    client: TestClient, alice: User, bob: User, aws: Resources
) -> None:
    album_id = _album(client, alice)["albumId"]
    asset_id = _asset(client, alice)
    bobs_asset = _asset(client, bob)

    # another user: every route is the same 404, and nothing of alice's changes
    before = asset_records(scan(aws)), _record(aws, f"album#{album_id}")
    for method, path, body, query, _ in _matrix(album_id, bobs_asset):
        response = client.request(method, path, json=body, params=query, headers=bob.auth())
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["code"] == "not_found"
        assert response.json()["error"] == "album not found"
    assert (asset_records(scan(aws)), _record(aws, f"album#{album_id}")) == before

    # no token: 401 with the challenge, before anything is looked up
    for method, path, body, query, _ in _matrix(album_id, asset_id):
        response = client.request(method, path, json=body, params=query)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["code"] == "unauthorized"
    for method, path in (("POST", "/albums"), ("GET", "/albums")):
        assert client.request(method, path, json={"name": "x"}).status_code == 401

    # malformed ids: in a path, the same 404 as an unknown id; in a body or a query, a 400
    for bad in [*MALFORMED_IDS, UNKNOWN_ID]:
        for method in ("GET", "PATCH", "DELETE"):
            response = client.request(
                method, f"/albums/{bad}", json={"name": "x"}, headers=alice.auth()
            )
            assert response.status_code == 404, (method, bad)
            assert response.json() == {"error": "album not found", "code": "not_found"}
    for bad in MALFORMED_IDS[:2]:
        listing = client.get("/assets", params={"albumId": bad}, headers=alice.auth())
        assert listing.status_code == 400
        patch = client.patch(f"/assets/{asset_id}", json={"albumId": bad}, headers=alice.auth())
        assert patch.status_code == 400
    unknown = client.get("/assets", params={"albumId": UNKNOWN_ID}, headers=alice.auth())
    assert unknown.status_code == 404

    # the owner: every route works, in this order ending with the album's deletion
    for method, path, body, query, status in _matrix(album_id, asset_id):
        response = client.request(method, path, json=body, params=query, headers=alice.auth())
        assert response.status_code == status, (method, path, response.text)
    # bob's own asset never joined alice's album
    assert "albumId" not in client.get(f"/assets/{bobs_asset}", headers=bob.auth()).json()["asset"]


def test_a_patch_into_another_users_album_changes_nothing(
    client: TestClient, alice: User, bob: User, aws: Resources
) -> None:
    mine = _album(client, alice)["albumId"]
    bobs = _album(client, bob)["albumId"]
    asset_id = _asset(client, alice, mine, title="Before")
    before = _record(aws, asset_id)
    response = client.patch(
        f"/assets/{asset_id}", json={"title": "After", "albumId": bobs}, headers=alice.auth()
    )
    assert response.status_code == 404
    assert response.json() == {"error": "album not found", "code": "not_found"}
    assert _record(aws, asset_id) == before
    assert _listed(client, bob, albumId=bobs) == []


def test_album_ids_are_never_reused(client: TestClient, alice: User) -> None:
    ids = {_album(client, alice, f"A{n}")["albumId"] for n in range(5)}
    assert len(ids) == 5
    assert all(uuid.UUID(album_id).version == 4 for album_id in ids)
