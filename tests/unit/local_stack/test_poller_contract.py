"""The event source's side of the Lambda contract: record shape and how responses are read."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from local_stack.poller import (
    EventSourceConfig,
    FunctionConfig,
    InvalidBatchResponse,
    LambdaContext,
    failed_message_ids,
    lambda_record,
)

SOURCE = EventSourceConfig(
    queue_url="http://127.0.0.1:1/123456789012/q",
    queue_arn="arn:aws:sqs:us-east-1:123456789012:q",
    batch_size=5,
    report_batch_item_failures=True,
)
IDS = ["m1", "m2", "m3"]


def test_an_sqs_message_becomes_a_lambda_record() -> None:
    message: Any = {
        "MessageId": "m1",
        "ReceiptHandle": "rh",
        "Body": '{"Records": []}',
        "MD5OfBody": "abc",
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000"},
        "MessageAttributes": {
            "kind": {"DataType": "String", "StringValue": "upload"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
        "MD5OfMessageAttributes": "def",
    }
    record = lambda_record(message, SOURCE, "us-east-1")
    assert record == {
        "messageId": "m1",
        "receiptHandle": "rh",
        "body": '{"Records": []}',
        "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000"},
        "messageAttributes": {
            "kind": {
                "stringValue": "upload",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            },
            "blob": {
                "binaryValue": base64.b64encode(b"\x00\x01").decode(),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Binary",
            },
        },
        "md5OfBody": "abc",
        "md5OfMessageAttributes": "def",
        "eventSource": "aws:sqs",
        "eventSourceARN": SOURCE.queue_arn,
        "awsRegion": "us-east-1",
    }


@pytest.mark.parametrize(
    ("response", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}, {"m1", "m3"}),
    ],
)
def test_what_lambda_reads_as_success_and_partial_failure(response: Any, failed: set[str]) -> None:
    assert failed_message_ids(response, IDS, report_batch_item_failures=True) == failed


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemId": "m1"}]},
        {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]},
        {"batchItemFailures": "m1"},
        ["m1"],
    ],
)
def test_what_lambda_reads_as_the_failure_of_the_whole_batch(response: Any) -> None:
    with pytest.raises(InvalidBatchResponse):
        failed_message_ids(response, IDS, report_batch_item_failures=True)


def test_without_report_batch_item_failures_the_response_is_ignored() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert failed_message_ids(response, IDS, report_batch_item_failures=False) == set()


def test_the_context_counts_down_from_the_functions_timeout() -> None:
    function = FunctionConfig("local-WorkerFunction", 5, 1024, "us-east-1", "123456789012")
    context = LambdaContext(function, deadline=0.0)
    assert context.get_remaining_time_in_millis() == 0
    assert (
        context.invoked_function_arn
        == "arn:aws:lambda:us-east-1:123456789012:function:local-WorkerFunction"
    )
    assert context.memory_limit_in_mb == "1024"
    assert context.aws_request_id != LambdaContext(function, 0.0).aws_request_id
