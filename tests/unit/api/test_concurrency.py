"""Requests at the same moment, over real HTTP to the app under uvicorn: limits hold exactly and
album counts stay right, whatever order DynamoDB applies the writes in."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest

from assets.aws import AwsClients
from assets.pending import PendingUploads
from testbed.aws import asset_records, make_dynamodb_atomic
from testbed.servers import serving
from tests.unit.api.conftest import (
    REGION,
    JwksServer,
    Pool,
    Resources,
    User,
    album_counts,
    assert_counts_right,
    build_app,
    make_settings,
    run_worker,
    scan,
)
from worker.processing import Outcome

Send = Callable[[httpx.Client], httpx.Response]


@dataclass
class Served:
    url: str
    clients: AwsClients
    resources: Resources
    http: httpx.Client

    def all_at_once(
        self, requests: list[Callable[[httpx.Client], httpx.Response]]
    ) -> list[httpx.Response]:
        """Send every request at the same moment, each on its own connection."""
        barrier = threading.Barrier(len(requests))
        # One client (building one costs a TLS context), with a connection for every request.
        limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
        with httpx.Client(base_url=self.url, timeout=60, limits=limits) as http:

            def send(request: Send) -> httpx.Response:
                barrier.wait(timeout=30)
                return request(http)

            with ThreadPoolExecutor(max_workers=len(requests)) as pool:
                return list(pool.map(send, requests))

    def call(self, method: str, path: str, user: User, body: Any = None) -> httpx.Response:
        return self.http.request(method, path, json=body, headers=user.auth())


@pytest.fixture
def served(
    pool: Pool,
    aws: Resources,
    jwks_server: JwksServer,
    clients: AwsClients,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Served]:
    make_dynamodb_atomic(monkeypatch)
    settings = make_settings(pool, aws, MAX_PENDING_UPLOADS=20, MAX_ALBUMS=3)
    with (
        serving(build_app(settings, jwks_server, clients)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        yield Served(url, clients, aws, http)


def _request(method: str, path: str, user: User, body: Any = None) -> Send:
    def send(http: httpx.Client) -> httpx.Response:
        return http.request(method, path, json=body, headers=user.auth())

    return send


def _post_asset(user: User, **fields: Any) -> Send:
    return _request("POST", "/assets", user, {"contentType": "image/png", **fields})


def test_sixty_concurrent_uploads_get_exactly_twenty_forms(served: Served, alice: User) -> None:
    # WHEN alice, allowed 20 open forms, asks for 60 at the same moment
    responses = served.all_at_once([_post_asset(alice) for _ in range(60)])

    # THEN exactly 20 get a form and 40 are told to wait
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 20, 429: 40}, statuses
    for response in responses:
        if response.status_code == 429:
            assert response.json()["code"] == "too_many_pending_uploads"
            assert int(response.headers["retry-after"]) > 0
    issued = {r.json()["asset"]["assetId"] for r in responses if r.status_code == 201}
    # AND the table holds exactly those 20 records, each holding one slot
    records = asset_records(scan(served.resources))
    assert {item["assetId"]["S"] for item in records} == issued
    slots = PendingUploads(boto3.client("dynamodb", region_name=REGION), served.resources.table)
    assert set(slots.held(alice.sub)) == issued


def test_slots_given_back_are_taken_exactly_once(served: Served, alice: User, bob: User) -> None:
    # GIVEN alice at her limit
    issued = [r.json()["asset"]["assetId"] for r in served.all_at_once([_post_asset(alice)] * 20)]
    assert len(set(issued)) == 20
    # WHEN the worker claims three of her uploads and she deletes two others
    for asset_id in issued[:3]:
        assert run_worker(served.clients, served.resources, asset_id) is Outcome.READY
    for asset_id in issued[3:5]:
        assert served.call("DELETE", f"/assets/{asset_id}", alice).status_code == 204
    # THEN 20 requests at once get exactly those five slots, and bob's own limit is untouched
    responses = served.all_at_once([_post_asset(alice) for _ in range(20)] + [_post_asset(bob)] * 5)
    alices = Counter(r.status_code for r in responses[:20])
    assert alices == {201: 5, 429: 15}, alices
    assert all(r.status_code == 201 for r in responses[20:])


def test_concurrent_album_creation_respects_the_limit(served: Served, alice: User) -> None:
    create = _request("POST", "/albums", alice, {"name": "Same time"})
    statuses = Counter(r.status_code for r in served.all_at_once([create] * 12))
    assert statuses == {201: 3, 409: 9}, statuses
    listed = served.call("GET", "/albums", alice).json()["albums"]
    assert len(listed) == 3


def _ready_assets_in(served: Served, user: User, album_id: str, count: int) -> list[str]:
    assets = []
    for _ in range(count):
        response = served.call(
            "POST", "/assets", user, {"contentType": "image/png", "albumId": album_id}
        )
        assert response.status_code == 201, response.text
        asset_id = response.json()["asset"]["assetId"]
        assert run_worker(served.clients, served.resources, asset_id) is Outcome.READY
        assets.append(asset_id)
    return assets


def _albums(served: Served, user: User, *names: str) -> list[str]:
    ids = []
    for name in names:
        response = served.call("POST", "/albums", user, {"name": name})
        assert response.status_code == 201, response.text
        ids.append(response.json()["album"]["albumId"])
    return ids


def test_two_concurrent_moves_and_a_delete_keep_the_counts_right(
    served: Served, alice: User
) -> None:
    # GIVEN albums A, B and C, and six ready images in A
    a, b, c = _albums(served, alice, "A", "B", "C")
    assets = _ready_assets_in(served, alice, a, 6)
    assert album_counts(served.resources)[a] == (6, 6)

    # WHEN each image is moved to B and to C and deleted, all eighteen requests at once
    requests: list[Send] = []
    for asset_id in assets:
        for target in (b, c):
            requests.append(_request("PATCH", f"/assets/{asset_id}", alice, {"albumId": target}))
        requests.append(_request("DELETE", f"/assets/{asset_id}", alice))
    responses = served.all_at_once(requests)

    # THEN every answer is a success or the 404 of an image deleted first, never a 5xx ...
    assert {r.status_code for r in responses} <= {200, 204, 404}, [r.text for r in responses]
    assert sum(r.status_code == 204 for r in responses) == 6
    # ... and every album counts exactly the ready images in it: here, none are left
    assert_counts_right(served.resources)
    for album_id in (a, b, c):
        album = served.call("GET", f"/albums/{album_id}", alice).json()["album"]
        assert album["assetCount"] == 0


def test_concurrent_moves_out_of_an_album_being_deleted_keep_the_counts_right(
    served: Served, alice: User
) -> None:
    # GIVEN six ready images in A, and B and C to move them to
    a, b, c = _albums(served, alice, "A", "B", "C")
    assets = _ready_assets_in(served, alice, a, 6)

    # WHEN every image is moved to B and to C while A is deleted, all at once
    requests = [
        _request("PATCH", f"/assets/{asset_id}", alice, {"albumId": target})
        for asset_id in assets
        for target in (b, c)
    ]
    requests.append(_request("DELETE", f"/albums/{a}", alice))
    responses = served.all_at_once(requests)

    # THEN all succeed, and B and C count exactly the images that ended up in each
    assert [r.status_code for r in responses] == [200] * 12 + [204], [r.text for r in responses]
    assert_counts_right(served.resources)
    counts = album_counts(served.resources)
    assert a not in counts
    assert counts[b][0] + counts[c][0] == 6
    for asset_id in assets:
        view = served.call("GET", f"/assets/{asset_id}", alice).json()["asset"]
        assert view["albumId"] in (b, c)
