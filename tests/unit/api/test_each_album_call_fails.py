"""Each AWS call of the album routes, and of the asset routes where albums are involved, failing
in turn: DynamoDB throttles, S3 answers 5xx.

As in `test_each_call_fails`, the calls are found by running each request once cleanly. Each run
starts from the same world, built afresh with the same ids and clock, so the end states compare
exactly: every failure must be a 503 with the JSON error and a Retry-After, leave every album
counting exactly its ready assets, and the retry must end in the very state (and, for a read, the
very answer) the clean request did.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient

from api.service import AssetService
from assets.aws import AwsClients
from testbed.aws import create_asset_bucket, create_assets_table
from tests.support.faults import AwsCalls
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

_SESSION = boto3.session.Session(region_name=REGION)
NOW = datetime.now(UTC).replace(microsecond=0)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@dataclass
class World:
    """Alice's albums A and B; `ready` (ready, in A), `uploading` (in A) and `loose` (in none)."""

    client: TestClient
    resources: Resources
    user: User
    aws: AwsClients
    labels: dict[str, str] = field(default_factory=dict)
    """Setup ids by name; an id made by the request under test is `NEW`."""

    def id(self, name: str) -> str:
        return next(value for value, label in self.labels.items() if label == name)

    def state(self) -> tuple[list[str], list[str]]:
        """Every item and every object key, ids replaced by their names."""
        items = sorted(
            self._named(json.dumps(item, sort_keys=True))
            for item in scan(self.resources, self.aws.dynamodb)
        )
        listing = self.aws.s3.list_objects_v2(Bucket=self.resources.bucket)
        keys = sorted(self._named(entry["Key"]) for entry in listing.get("Contents", []))
        return items, keys

    def _named(self, text: str) -> str:
        return _UUID.sub(lambda match: self.labels.get(match[0], "NEW"), text)

    def answer(self, response: httpx.Response) -> str:
        return self._named(response.text)


def _sequential_ids(start: int = 1) -> Iterator[str]:
    for n in itertools.count(start):
        yield str(uuid.UUID(f"00000000-0000-4000-8000-{n:012d}"))


@dataclass
class Worlds:
    """Builds the world once through the API and the worker, then copies it for every run."""

    pool: Pool
    jwks_server: JwksServer
    clients: AwsClients
    user: User
    opened: list[TestClient] = field(default_factory=list)
    _template: tuple[dict[str, str], list[dict[str, Any]], dict[str, bytes], int] | None = None

    def build(self) -> World:
        if self._template is None:
            self._template = self._original()
        labels, items, objects, next_id = self._template
        world = self._empty(next_id, labels)
        self.clients.dynamodb.batch_write_item(
            RequestItems={world.resources.table: [{"PutRequest": {"Item": item}} for item in items]}
        )
        for key, data in objects.items():
            self.clients.s3.put_object(Bucket=world.resources.bucket, Key=key, Body=data)
        return world

    def _original(self) -> tuple[dict[str, str], list[dict[str, Any]], dict[str, bytes], int]:
        world = self._empty(1, {})
        client = world.client
        for name in ("A", "B"):
            response = client.post("/albums", json={"name": name}, headers=self.user.auth())
            world.labels[response.json()["album"]["albumId"]] = name
        for name, album in (("ready", "A"), ("uploading", "A"), ("loose", None)):
            body = {"contentType": "image/png", "title": name}
            if album:
                body["albumId"] = world.id(album)
            response = client.post("/assets", json=body, headers=self.user.auth())
            world.labels[response.json()["asset"]["assetId"]] = name
        ready = run_worker(self.clients, world.resources, world.id("ready"), clock=lambda: NOW)
        assert ready is Outcome.READY
        s3 = self.clients.s3
        objects = {
            entry["Key"]: s3.get_object(Bucket=world.resources.bucket, Key=entry["Key"])[
                "Body"
            ].read()
            for entry in s3.list_objects_v2(Bucket=world.resources.bucket).get("Contents", [])
        }
        return (
            dict(world.labels),
            scan(world.resources, self.clients.dynamodb),
            objects,
            len(world.labels) + 1,
        )

    def _empty(self, next_id: int, labels: dict[str, str]) -> World:
        suffix = uuid.uuid4().hex[:12]
        resources = Resources(table=f"albums-{suffix}", bucket=f"albums-{suffix}")
        create_assets_table(self.clients.dynamodb, resources.table)
        create_asset_bucket(self.clients.s3, resources.bucket)
        settings = make_settings(self.pool, resources)
        ids = _sequential_ids(next_id)
        service = AssetService(settings, self.clients, clock=lambda: NOW, new_id=lambda: next(ids))
        client = TestClient(build_app(settings, self.jwks_server, self.clients, service=service))
        client.__enter__()
        self.opened.append(client)
        return World(client, resources, self.user, self.clients, dict(labels))


@pytest.fixture
def worlds(pool: Pool, jwks_server: JwksServer, alice: User, _moto: None) -> Iterator[Worlds]:
    factory = Worlds(pool, jwks_server, AwsClients(REGION, session=_SESSION), alice)
    yield factory
    for client in factory.opened:
        client.__exit__(None, None, None)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    ok: int
    body: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)

    def send(self, world: World) -> httpx.Response:
        def fill(text: str) -> str:
            return re.sub(r"\{(\w+)\}", lambda match: world.id(match[1]), text)

        body = None
        if self.body is not None:
            body = {
                key: fill(value) if isinstance(value, str) else value
                for key, value in self.body.items()
            }
        response: httpx.Response = world.client.request(
            self.method,
            fill(self.path),
            json=body,
            params={key: fill(value) for key, value in self.params.items()},
            headers=world.user.auth(),
        )
        return response


REQUESTS = {
    "upload into an album": Request(
        "POST", "/assets", 201, {"contentType": "image/png", "albumId": "{A}"}
    ),
    "move a ready asset": Request("PATCH", "/assets/{ready}", 200, {"albumId": "{B}"}),
    "move an upload out": Request("PATCH", "/assets/{uploading}", 200, {"albumId": None}),
    "retitle an asset in an album": Request("PATCH", "/assets/{ready}", 200, {"title": "New"}),
    "delete a ready asset in an album": Request("DELETE", "/assets/{ready}", 204),
    "read an asset in an album": Request("GET", "/assets/{ready}", 200),
    "list assets": Request("GET", "/assets", 200),
    "list an album": Request("GET", "/assets", 200, params={"albumId": "{A}"}),
    "create an album": Request("POST", "/albums", 201, {"name": "C"}),
    "list albums": Request("GET", "/albums", 200),
    "read an album": Request("GET", "/albums/{A}", 200),
    "rename an album": Request("PATCH", "/albums/{A}", 200, {"name": "Renamed"}),
    "delete an album": Request("DELETE", "/albums/{A}", 204),
}


def _albums_tallied(world: World) -> None:
    items = scan(world.resources, world.aws.dynamodb)
    albums = sum(item["assetId"]["S"].startswith("album#") for item in items)
    tally = [item for item in items if item["assetId"]["S"].endswith("#albums")]
    assert [int(item["albumCount"]["N"]) for item in tally] == [albums]


@pytest.mark.parametrize("name", REQUESTS)
def test_each_call_failing_in_turn_is_a_503_that_a_retry_finishes(
    worlds: Worlds, name: str
) -> None:
    request = REQUESTS[name]
    aws = (worlds.clients.dynamodb, worlds.clients.s3)

    # GIVEN the calls the request makes, and where it leaves the world, when nothing fails
    world = worlds.build()
    with AwsCalls().watching(*aws) as clean:
        clean_response = request.send(world)
    assert clean_response.status_code == request.ok, clean_response.text
    assert clean.made, "the request made no AWS call"
    clean_state, clean_answer = world.state(), world.answer(clean_response)

    for index, call in enumerate(clean.made):
        # WHEN that call fails, in the same world built afresh
        world = worlds.build()
        before = world.state()
        with AwsCalls(fail_at=index).watching(*aws) as calls:
            response = request.send(world)
        where = f"{name}: {call} (call {index + 1} of {len(clean.made)})"
        assert calls.failed == [call], (where, calls.made)

        # THEN the answer is a 503 with the JSON error and a Retry-After ...
        assert response.status_code == 503, (where, response.text)
        assert response.json()["code"] == "service_unavailable"
        assert response.headers["retry-after"]
        # ... a read changed nothing, and whatever a write did, every count is still right
        if request.method == "GET":
            assert world.state() == before, where
        assert_counts_right(world.resources, world.aws.dynamodb)
        _albums_tallied(world)

        # AND the same request, retried, ends where the clean one did
        retried = request.send(world)
        assert retried.status_code == request.ok, (where, retried.text)
        assert world.state() == clean_state, where
        if request.method != "POST":  # a new form's signature and a new id differ, by design
            assert world.answer(retried) == clean_answer, where


def test_these_cover_every_album_operation(worlds: Worlds) -> None:
    world = worlds.build()
    documented = {
        (method.upper(), path)
        for path, item in world.client.get("/openapi.json").json()["paths"].items()
        for method in item
        if path.startswith("/albums")
    }
    tried = {
        (request.method, re.sub(r"\{\w+\}", "{albumId}", request.path))
        for request in REQUESTS.values()
        if request.path.startswith("/albums")
    }
    assert documented == tried
