"""SnapStart's restore hook: registered with Lambda's runtime library, it renews what a snapshot
must not share between the environments restored from it (random state, JWKS age, connections)."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import snapshot_restore_py
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.snapstart import register_restore_hook
from assets.aws import AwsClients
from testbed.aws import create_assets_table
from testbed.moto_server import moto_server
from testbed.tokens import moto_public_jwks
from tests.unit.api.conftest import JwksServer, User

Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


@pytest.fixture
def registered(app: FastAPI) -> Iterator[Hook]:
    """The hook `api.main` registers for this app, removed from the runtime's registry after."""
    hooks = snapshot_restore_py.get_after_restore()
    before = len(hooks)
    assert register_restore_hook(app) is True
    assert len(hooks) == before + 1
    hook: Hook = hooks[-1]
    yield hook
    hooks.remove(hook)


def _run(hook: Hook) -> None:
    """As Lambda's runtime runs each after-restore hook."""
    function, args, kwargs = hook
    function(*args, **kwargs)


def test_without_lambdas_runtime_library_nothing_is_registered(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # as outside Lambda
    assert register_restore_hook(app) is False


def test_each_restored_environment_draws_its_own_random_numbers(registered: Hook) -> None:
    # GIVEN two environments restored from one snapshot: the same `random` state
    snapshot = random.getstate()
    draws = []
    for _ in range(2):
        random.setstate(snapshot)
        # WHEN each runs the restore hook THEN their numbers differ
        _run(registered)
        draws.append([random.random() for _ in range(4)])
    assert draws[0] != draws[1]


def test_a_restored_environment_refetches_the_jwks_and_forgets_remembered_tokens(
    registered: Hook, app: FastAPI, jwks_server: JwksServer, alice: User
) -> None:
    with TestClient(app) as client:
        # GIVEN the snapshot's process had fetched the keys and remembered a token
        assert client.get("/assets", headers=alice.auth()).status_code == 200
        assert jwks_server.fetches == 1
        # WHEN it is restored (days later) and the pool has withdrawn the key
        _run(registered)
        jwks_server.document = {"keys": [dict(moto_public_jwks()["keys"][0], kid="rotated")]}
        # THEN the first request refetches the set, and the remembered token is checked again
        response = client.get("/assets", headers=alice.auth())
        assert response.status_code == 401
        assert jwks_server.fetches == 2


def test_closing_connections_leaves_the_clients_usable() -> None:
    with moto_server() as endpoint:
        clients = AwsClients("us-east-1", endpoint_url=endpoint, session=_session())
        create_assets_table(clients.dynamodb, "assets")
        client: Any = clients.dynamodb  # botocore's connection pools are not in its stubs
        pools = client._endpoint.http_session._manager.pools
        assert len(pools) == 1  # a connection pool to moto is open
        clients.close_connections()
        assert len(pools) == 0
        assert clients.dynamodb.describe_table(TableName="assets")["Table"]["TableName"] == "assets"
        assert len(pools) == 1


def _session() -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
