"""When AWS fails, the API answers 503 with a JSON error and leaves nothing half-written."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from fastapi.testclient import TestClient

from assets.aws import AwsClients
from assets.pending import PendingUploads
from testbed.aws import asset_records
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


class _Http:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""


def _error(code: str, status: int) -> Callable[..., Any]:
    def respond(**_: Any) -> tuple[_Http, dict[str, Any]]:
        return _Http(status), {
            "Error": {"Code": code, "Message": f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    return respond


def _raise(exception: Exception) -> Callable[..., Any]:
    def fail(**_: Any) -> None:
        raise exception

    return fail


TRANSIENT = {
    "throttled": lambda: _error("ThrottlingException", 400),
    "provisioned throughput": lambda: _error("ProvisionedThroughputExceededException", 400),
    "5xx": lambda: _error("InternalServerError", 500),
    "s3 slow down": lambda: _error("SlowDown", 503),
    "connection refused": lambda: _raise(EndpointConnectionError(endpoint_url="https://x")),
    "read timeout": lambda: _raise(ReadTimeoutError(endpoint_url="https://x")),
}


class Faults:
    """Makes one AWS operation fail by hooking botocore's `before-call` event, then undoes it."""

    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients
        self._hooks: list[tuple[Any, str, Callable[..., Any]]] = []

    def inject(self, service: str, operation: str, behaviour: Callable[..., Any]) -> None:
        client = self.clients.dynamodb if service == "dynamodb" else self.clients.s3
        event = f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}"
        client.meta.events.register(event, behaviour)
        self._hooks.append((client, event, behaviour))

    def clear(self) -> None:
        for client, event, behaviour in self._hooks:
            client.meta.events.unregister(event, behaviour)
        self._hooks.clear()


@pytest.fixture
def faulty(
    pool: Pool, aws: Resources, jwks_server: JwksServer
) -> Iterator[tuple[TestClient, Faults]]:
    # No retries here: the hook answers every attempt, and the API's retry budget is botocore's.
    clients = AwsClients(REGION, max_attempts=1, session=_SESSION)
    faults = Faults(clients)
    with TestClient(build_app(make_settings(pool, aws), jwks_server, clients)) as client:
        yield client, faults
    faults.clear()


def _items(resources: Resources) -> list[dict[str, Any]]:
    """The asset records stored (the table's other items are albums and per-user tallies)."""
    items: list[dict[str, Any]] = boto3.client("dynamodb", region_name=REGION).scan(
        TableName=resources.table
    )["Items"]
    return asset_records(items)


def _held_slots(resources: Resources, user: User) -> dict[str, int]:
    """The user's open-form slots (assets.pending)."""
    return PendingUploads(boto3.client("dynamodb", region_name=REGION), resources.table).held(
        user.sub
    )


def _assert_503(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {
        "error": "the service is temporarily unavailable; retry shortly",
        "code": "service_unavailable",
    }
    assert response.headers["retry-after"]


@pytest.mark.parametrize("fault", TRANSIENT)
@pytest.mark.parametrize("operation", ["UpdateItem", "PutItem"])  # the form's slot, the record
def test_create_fails_whole(
    faulty: tuple[TestClient, Faults], alice: User, aws: Resources, fault: str, operation: str
) -> None:
    client, faults = faulty
    faults.inject("dynamodb", operation, TRANSIENT[fault]())
    response = client.post("/assets", json={"contentType": "image/png"}, headers=alice.auth())
    _assert_503(response)
    assert _items(aws) == []
    assert _held_slots(aws, alice) == {}
    faults.clear()
    assert (
        client.post("/assets", json={"contentType": "image/png"}, headers=alice.auth()).status_code
        == 201
    )


@pytest.mark.parametrize("fault", TRANSIENT)
def test_reads_fail_with_503(faulty: tuple[TestClient, Faults], alice: User, fault: str) -> None:
    client, faults = faulty
    created = client.post("/assets", json={"contentType": "image/png"}, headers=alice.auth())
    asset_id = created.json()["asset"]["assetId"]
    faults.inject("dynamodb", "GetItem", TRANSIENT[fault]())
    faults.inject("dynamodb", "Query", TRANSIENT[fault]())
    _assert_503(client.get(f"/assets/{asset_id}", headers=alice.auth()))
    _assert_503(client.get("/assets", headers=alice.auth()))


def test_delete_when_s3_fails_keeps_the_record_and_a_retry_finishes(
    faulty: tuple[TestClient, Faults], alice: User, aws: Resources
) -> None:
    client, faults = faulty
    asset_id = client.post(
        "/assets", json={"contentType": "image/png"}, headers=alice.auth()
    ).json()["asset"]["assetId"]
    faults.inject("s3", "DeleteObjects", TRANSIENT["s3 slow down"]())
    _assert_503(client.delete(f"/assets/{asset_id}", headers=alice.auth()))
    assert len(_items(aws)) == 1
    faults.clear()
    assert client.delete(f"/assets/{asset_id}", headers=alice.auth()).status_code == 204
    assert _items(aws) == []


def test_delete_when_dynamodb_fails_after_s3_can_be_retried(
    faulty: tuple[TestClient, Faults], alice: User, aws: Resources
) -> None:
    client, faults = faulty
    asset_id = client.post(
        "/assets", json={"contentType": "image/png"}, headers=alice.auth()
    ).json()["asset"]["assetId"]
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=aws.bucket, Key=f"uploads/originals/{asset_id}.png", Body=b"x"
    )
    faults.inject("dynamodb", "DeleteItem", TRANSIENT["throttled"]())
    _assert_503(client.delete(f"/assets/{asset_id}", headers=alice.auth()))
    faults.clear()
    assert client.delete(f"/assets/{asset_id}", headers=alice.auth()).status_code == 204
    assert _items(aws) == []
    listing = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=aws.bucket)
    assert listing.get("KeyCount", 0) == 0


def test_a_non_transient_aws_error_is_a_json_500_without_a_trace(
    faulty: tuple[TestClient, Faults], alice: User
) -> None:
    client, faults = faulty
    faults.inject("dynamodb", "Query", _error("AccessDeniedException", 400))
    response = client.get("/assets", headers=alice.auth())
    assert response.status_code == 500
    assert response.json() == {"error": "internal error", "code": "internal_error"}
    assert "Traceback" not in response.text
    assert "AccessDenied" not in response.text


def test_a_bug_is_a_json_500(
    faulty: tuple[TestClient, Faults], alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = faulty

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr("api.service.AssetService.list", broken)
    response = client.get("/assets", headers=alice.auth())
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert response.headers["x-request-id"]
