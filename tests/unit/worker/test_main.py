"""The Lambda entry point as Lambda (or the local poller) loads and calls it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import worker.main
from assets.aws import AwsClients
from assets.model import AssetStatus
from tests.unit.worker import corpus
from tests.unit.worker.harness import Harness, LambdaContextStub, failures

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def fresh_worker() -> Iterator[None]:
    """The handler builds its worker from the environment, as on a cold start."""
    worker.main.current_worker.cache_clear()
    yield
    worker.main.current_worker.cache_clear()


def test_importing_the_handler_is_cheap() -> None:
    # Pillow is loaded by the first upload, not on a cold start that may only see a TestEvent.
    code = (
        "import sys, worker.main; print(sorted(m for m in sys.modules if m.split('.')[0] == 'PIL'))"
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.usefixtures("fresh_worker")
def test_handler_builds_its_worker_from_the_environment_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = harness.upload(corpus.encode(corpus.pattern(), "PNG"))
    built: list[AwsClients] = []
    original = AwsClients.__init__

    def spy(self: AwsClients, *args: object, **kwargs: object) -> None:
        built.append(self)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(AwsClients, "__init__", spy)

    first = worker.main.handler(harness.event(upload), LambdaContextStub())
    second = worker.main.handler(harness.event(upload), LambdaContextStub())

    assert failures(dict(first)) == failures(dict(second)) == []
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.READY
    assert len(built) == 1


@pytest.mark.usefixtures("fresh_worker")
def test_misconfigured_worker_fails_each_record_without_crashing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = harness.upload(corpus.encode(corpus.pattern(), "PNG"))
    monkeypatch.delenv("ASSETS_TABLE_NAME")
    event = harness.event(upload)

    response = worker.main.handler(event, LambdaContextStub())

    assert failures(dict(response)) == [event["Records"][0]["messageId"]]
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.UPLOADING
