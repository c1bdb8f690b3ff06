"""The worker process runs several batches at once, each in its own process, and stops whole."""

from __future__ import annotations

import io
import json
import os
import time
from itertools import combinations
from pathlib import Path

from local_stack.aws import MotoClients
from local_stack.environment import base_environment
from local_stack.plan import Launch, WorkerConfig
from local_stack.poller import EventSourceConfig, FunctionConfig
from local_stack.supervisor import Output, Supervisor
from testbed.moto_server import MotoServer
from tests.integration.local_stack.slow_handler import LOG_VARIABLE
from tests.integration.local_stack.test_processes import gone

PROJECT = Path(__file__).resolve().parents[3]


def test_three_pollers_share_the_queue_and_leave_nothing_behind(
    moto_server: MotoServer, clients: MotoClients, tmp_path: Path
) -> None:
    url = clients.sqs.create_queue(QueueName="concurrency", Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"
    ]
    arn = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    log = tmp_path / "batches.jsonl"
    env = base_environment(os.environ, region="us-east-1", endpoint_url=moto_server.url)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT), env["PYTHONPATH"]])
    env[LOG_VARIABLE] = str(log)
    config = WorkerConfig(
        handler="tests.integration.local_stack.slow_handler.handler",
        source=EventSourceConfig(url, arn, batch_size=1, report_batch_item_failures=True),
        function=FunctionConfig("local-WorkerFunction", 5, 1024, "us-east-1", "123456789012"),
        concurrency=3,
    )
    output = io.StringIO()
    supervisor = Supervisor(Output(output, colour=False))
    try:
        worker = supervisor.start(Launch("worker", config, env).spec({}))
        worker.wait_ready(60, lambda: False)
        # WHEN six one-message batches are queued
        for number in range(6):
            clients.sqs.send_message(QueueUrl=url, MessageBody=str(number))
        deadline = time.monotonic() + 60
        while len(log.read_text().splitlines() if log.exists() else []) < 6:
            assert time.monotonic() < deadline, output.getvalue()
            time.sleep(0.1)
    finally:
        supervisor.stop_all(grace_seconds=5)
    batches = [json.loads(line) for line in log.read_text().splitlines()]
    # THEN three processes ran them, and batches of different processes ran at the same time
    pids = {batch["pid"] for batch in batches}
    assert len(pids) == 3, output.getvalue()
    assert worker.pid in pids
    assert any(
        a["pid"] != b["pid"] and a["start"] < b["end"] and b["start"] < a["end"]
        for a, b in combinations(batches, 2)
    )
    # ... every message was deleted once its batch succeeded
    attributes = clients.sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert sum(int(value) for value in attributes.values()) == 0
    # ... and once stopped, none of the three is left
    assert all(gone(pid) for pid in pids)
