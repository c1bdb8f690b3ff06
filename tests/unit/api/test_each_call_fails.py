"""Each AWS call each route makes, failing in turn: DynamoDB throttles, S3 answers 5xx.

`test_failures` pins the failures operation by operation; this walks whatever calls a route
actually makes (found by running it once cleanly), so a call added later is covered too. Each
failure must be a 503 with the JSON error, leave nothing a retry cannot finish, and the retry
must end exactly as the clean request did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient

from assets.aws import AwsClients
from assets.model import ImageType, processed_key, source_key
from tests.support.faults import AwsCalls
from tests.unit.api.conftest import (
    REGION,
    JwksServer,
    Pool,
    Resources,
    User,
    build_app,
    make_settings,
)

_SESSION = boto3.session.Session(region_name=REGION)  # models load once for the module


@dataclass
class Api:
    client: TestClient
    clients: AwsClients
    resources: Resources
    user: User

    def create(self) -> str:
        """An upload of the user's, with an original and a published object to delete."""
        response = self.client.post(
            "/assets", json={"contentType": "image/png"}, headers=self.user.auth()
        )
        assert response.status_code == 201, response.text
        asset_id: str = response.json()["asset"]["assetId"]
        for key in (source_key(asset_id, ImageType.PNG), processed_key(asset_id, ImageType.PNG)):
            self.clients.s3.put_object(Bucket=self.resources.bucket, Key=key, Body=b"png")
        return asset_id

    def stored(self) -> tuple[list[str], list[str]]:
        """The asset ids recorded and the object keys present."""
        items = self.clients.dynamodb.scan(TableName=self.resources.table)["Items"]
        objects = self.clients.s3.list_objects_v2(Bucket=self.resources.bucket)
        return (
            sorted(item["assetId"]["S"] for item in items),
            sorted(entry["Key"] for entry in objects.get("Contents", [])),
        )


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    ok: int
    outcome: Callable[[tuple[list[str], list[str]], str], tuple[list[str], list[str]]]
    """The stored state after a successful request, from the state before it and the asset id."""


def _unchanged(before: tuple[list[str], list[str]], _: str) -> tuple[list[str], list[str]]:
    return before


def _deleted(before: tuple[list[str], list[str]], asset_id: str) -> tuple[list[str], list[str]]:
    ids, keys = before
    return [i for i in ids if i != asset_id], [k for k in keys if asset_id not in k]


ROUTES = {
    "create": Route("POST", "/assets", 201, _unchanged),  # plus the new record, checked apart
    "read": Route("GET", "/assets/{id}", 200, _unchanged),
    "list": Route("GET", "/assets", 200, _unchanged),
    "update": Route("PATCH", "/assets/{id}", 200, _unchanged),  # albums: test_each_album_call_fails
    "delete": Route("DELETE", "/assets/{id}", 204, _deleted),
}
BODIES = {"POST": {"contentType": "image/png"}, "PATCH": {"title": "A title"}}


@pytest.fixture
def api(pool: Pool, aws: Resources, jwks_server: JwksServer, alice: User) -> Iterator[Api]:
    clients = AwsClients(REGION, session=_SESSION)
    with TestClient(build_app(make_settings(pool, aws), jwks_server, clients)) as client:
        yield Api(client, clients, aws, alice)


def _send(api: Api, route: Route, asset_id: str) -> httpx.Response:
    response: httpx.Response = api.client.request(
        route.method,
        route.path.format(id=asset_id),
        headers=api.user.auth(),
        json=BODIES.get(route.method),
    )
    return response


def _created(before: list[str], after: list[str]) -> int:
    return len(set(after) - set(before))


@pytest.mark.parametrize("name", ROUTES)
def test_each_call_failing_in_turn_is_a_503_that_a_retry_finishes(api: Api, name: str) -> None:
    route = ROUTES[name]
    aws = (api.clients.dynamodb, api.clients.s3)

    # GIVEN the calls one clean request to this route makes
    asset_id = api.create()
    before = api.stored()
    with AwsCalls().watching(*aws) as clean:
        assert _send(api, route, asset_id).status_code == route.ok
    assert clean.made, "the route made no AWS call"
    expected = route.outcome(before, asset_id)
    if route.method == "POST":
        assert _created(before[0], api.stored()[0]) == 1
    else:
        assert api.stored() == expected

    for index, call in enumerate(clean.made):
        # WHEN that call fails, on a fresh asset
        asset_id = api.create()
        before = api.stored()
        with AwsCalls(fail_at=index).watching(*aws) as calls:
            response = _send(api, route, asset_id)
        where = f"{call} (call {index + 1} of {len(clean.made)})"
        assert calls.failed == [call], (where, calls.made)

        # THEN the answer is a 503 with the JSON error and a Retry-After
        assert response.status_code == 503, (where, response.text)
        assert response.json() == {
            "error": "the service is temporarily unavailable; retry shortly",
            "code": "service_unavailable",
        }
        assert response.headers["retry-after"]
        # ... nothing was half-written: no record made, none lost while its objects remain
        ids, keys = api.stored()
        assert ids == before[0], where
        assert set(keys) <= set(before[1]), where

        # ... and the same request, retried, ends exactly as the clean one did
        assert _send(api, route, asset_id).status_code == route.ok, where
        if route.method == "POST":
            assert _created(before[0], api.stored()[0]) == 1, where
        else:
            assert api.stored() == route.outcome(before, asset_id), where


def test_routes_cover_every_asset_operation(api: Api) -> None:
    documented = {
        (method.upper(), path.replace("{assetId}", "{id}"))
        for path, item in api.client.get("/openapi.json").json()["paths"].items()
        for method in item
        if path.startswith("/assets")
    }
    assert documented == {(route.method, route.path) for route in ROUTES.values()}
