"""moto served over HTTP on 127.0.0.1 (behind the local stack's gateway), one per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local_stack.aws import MotoClients
from local_stack.blueprint import Blueprint, derive_blueprint
from local_stack.state import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY
from local_stack.template import load_template
from testbed.moto_server import MotoServer

FIXTURE_TEMPLATE = Path(__file__).parents[2] / "unit" / "local_stack" / "data" / "template.yaml"
PAGE_ORIGIN = "http://127.0.0.1:8700"


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer(
        "127.0.0.1",
        0,
        allowed_origins=[PAGE_ORIGIN],
        secrets={LOCAL_ACCESS_KEY_ID: LOCAL_SECRET_ACCESS_KEY},
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def module_clients(moto_server: MotoServer) -> MotoClients:
    return MotoClients(moto_server.url, "us-east-1")


@pytest.fixture
def clients(moto_server: MotoServer, module_clients: MotoClients) -> MotoClients:
    """Clients for a moto emptied before each test (its state is shared by the whole process)."""
    httpx.post(f"{moto_server.url}/moto-api/reset", timeout=10).raise_for_status()
    return module_clients


@pytest.fixture(scope="session")
def fixture_blueprint() -> Blueprint:
    return derive_blueprint(load_template(FIXTURE_TEMPLATE))


@pytest.fixture
def page_origin() -> str:
    """The one browser origin the module's moto server answers CORS for."""
    return PAGE_ORIGIN
