"""A worker process killed between claiming an asset and publishing it: SIGKILL, for real.

Both workers are the local stack's own worker process (`local_stack.child worker`: the real
poller, the real handler), started with the command and environment the stack gives it, against
moto provisioned from template.yaml with the stack's scaled timings (visibility timeout 6 s,
lease 5 s). The first one is stopped dead just before its publish and killed with SIGKILL; the
message comes back when its visibility timeout ends, after the lease, and a second process takes
the asset over and finishes it, publishing once.
"""

from __future__ import annotations

import io
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from PIL import Image

from assets.model import AssetStatus, ImageType
from assets.repository import AssetRepository
from local_stack.blueprint import Blueprint
from local_stack.options import StackOptions
from local_stack.plan import worker_launch
from local_stack.supervisor import Child, ChildSpec, Output, Supervisor
from testbed.moto_server import MotoServer
from tests.faults.conftest import REGION, Deployment, deploy
from tests.faults.paused_worker import MARKER_VARIABLE

VISIBILITY_TIMEOUT = 6
START_TIMEOUT = 60.0
DEADLINE = 60.0


class PausingSupervisor(Supervisor):
    """Starts the worker the stack would start, as `tests.faults.paused_worker` instead."""

    def start(self, spec: ChildSpec) -> Child:
        argv = ["tests.faults.paused_worker" if a == "local_stack.child" else a for a in spec.argv]
        return super().start(replace(spec, argv=argv))


def start_worker(deployment: Deployment, supervisor: Supervisor, marker: Path) -> Child:
    """The local stack's worker process, started exactly as `python -m local_stack` starts it."""
    environment = {**deployment.worker_environment(), MARKER_VARIABLE: str(marker)}
    launch = worker_launch(
        StackOptions(region=REGION),
        deployment.blueprint,
        deployment.provisioned,
        deployment.timings,
        environment,
    )
    child = supervisor.start(launch.spec({}))
    child.wait_ready(START_TIMEOUT, lambda: False)
    return child


@pytest.fixture
def supervisors(output: io.StringIO) -> Iterator[list[Supervisor]]:
    """Every supervisor a test makes; each stops all it started, whatever the test did."""
    made: list[Supervisor] = []
    yield made
    for supervisor in made:
        supervisor.stop_all(grace_seconds=5)
    assert all(child.poll() is not None for s in made for child in s.children), output.getvalue()


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def wait_for(condition: str, check: Callable[[], bool], output: io.StringIO) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, (
            f"timed out waiting for {condition}\n{output.getvalue()}"
        )
        time.sleep(0.1)


def test_a_worker_killed_after_its_claim_is_taken_over_and_the_asset_published_once(
    moto: MotoServer,
    blueprint: Blueprint,
    http: httpx.Client,
    output: io.StringIO,
    supervisors: list[Supervisor],
    tmp_path: Path,
) -> None:
    deployment = deploy(moto, blueprint, VISIBILITY_TIMEOUT)
    timings = deployment.timings
    assert timings.lease_seconds < timings.visibility_timeout  # the stack's own rule
    repository = AssetRepository(deployment.clients.dynamodb, deployment.provisioned.table_name)
    marker = tmp_path / "about-to-publish"

    # GIVEN a worker process that will stop dead just before publishing
    first = PausingSupervisor(Output(output))
    supervisors.append(first)
    doomed = start_worker(deployment, first, marker)

    # WHEN a PNG is uploaded, and the worker has claimed it and is about to publish it
    asset = deployment.upload(png(), ImageType.PNG, http)
    wait_for("the claim", marker.exists, output)
    assert marker.read_text() == asset.processed_key
    claimed = repository.get(asset.asset_id)
    assert claimed is not None
    assert claimed.status is AssetStatus.PROCESSING
    assert claimed.lease_token

    # ... and it is killed there: SIGKILL, no cleanup, the lease left held
    doomed.signal_group(signal.SIGKILL)
    doomed.reap()
    assert doomed.poll() == -signal.SIGKILL
    assert repository.get(asset.asset_id) == claimed
    assert deployment.published_versions(asset) == []

    # ... and another worker process runs
    second = Supervisor(Output(output))
    supervisors.append(second)
    start_worker(deployment, second, marker)

    # THEN once the message is back and the lease has lapsed, the second takes over and finishes
    def finished() -> bool:
        record = repository.get(asset.asset_id)
        return record is not None and record.status.is_final

    wait_for("the takeover", finished, output)
    record = repository.get(asset.asset_id)
    assert record is not None
    assert record.status is AssetStatus.READY, output.getvalue()
    assert record.lease_token is None
    # ... publishing exactly once: one version of the published key, the record's bytes
    versions = deployment.published_versions(asset)
    assert len(versions) == 1
    assert record.bytes == versions[0]["Size"]
    # ... and the message is gone from the queue, none in the dead-letter queue
    provisioned = deployment.provisioned
    wait_for("the delete", lambda: deployment.queue_depth(provisioned.queue_url) == 0, output)
    assert deployment.queue_depth(provisioned.dead_letter_queue_url) == 0
