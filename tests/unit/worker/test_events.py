"""Parsing S3 notifications out of SQS message bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.worker.harness import load_event
from worker.events import MalformedMessage, ObjectEvent, parse_notification


def body(event: dict[str, Any]) -> str:
    text: str = event["Records"][0]["body"]
    return text


def test_object_created_notification_is_parsed_with_its_version() -> None:
    event = load_event(
        "sqs_s3_object_created.json",
        bucket="b",
        key="uploads/originals/a%2Bb+c.png",
        version_id="v-1",
        etag="e-1",
    )
    notification = parse_notification(body(event))
    assert not notification.is_test_event
    assert notification.records == (
        ObjectEvent(
            event_name="ObjectCreated:Post",
            bucket="b",
            key="uploads/originals/a+b c.png",
            version_id="v-1",
            size=1024,
            etag="e-1",
        ),
    )
    assert notification.records[0].is_object_created


def test_unversioned_notification_has_no_version() -> None:
    event = load_event("sqs_s3_object_created.json", bucket="b", key="k", version_id="", etag="")
    (record,) = parse_notification(body(event)).records
    assert record.version_id is None
    assert record.etag is None


def test_test_event_is_recognised() -> None:
    notification = parse_notification(body(load_event("sqs_s3_test_event.json", bucket="b")))
    assert notification.is_test_event
    assert notification.records == ()


def test_every_record_of_a_message_is_parsed() -> None:
    event = load_event(
        "sqs_s3_two_records.json",
        bucket="b",
        key_1="one",
        version_id_1="1",
        etag_1="e",
        key_2="two",
        version_id_2="2",
        etag_2="e",
    )
    assert [record.key for record in parse_notification(body(event)).records] == ["one", "two"]


def test_removal_events_are_not_uploads() -> None:
    assert not ObjectEvent("ObjectRemoved:Delete", "b", "k").is_object_created


_RECORD = {
    "eventName": "ObjectCreated:Put",
    "s3": {"bucket": {"name": "b"}, "object": {"key": "k", "size": 3}},
}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        "null",
        json.dumps({"Records": []}),
        json.dumps({"Records": "nope"}),
        json.dumps({"Records": [1]}),
        json.dumps({"Records": [{**_RECORD, "eventName": None}]}),
        json.dumps({"Records": [{**_RECORD, "s3": {"bucket": {"name": "b"}}}]}),
        json.dumps({"Records": [{**_RECORD, "s3": {"bucket": {}, "object": {"key": "k"}}}]}),
        json.dumps(
            {"Records": [{**_RECORD, "s3": {"bucket": {"name": "b"}, "object": {"key": ""}}}]}
        ),
        json.dumps(
            {
                "Records": [
                    {**_RECORD, "s3": {"bucket": {"name": "b"}, "object": {"key": "k", "size": -1}}}
                ]
            }
        ),
        json.dumps(
            {
                "Records": [
                    {
                        **_RECORD,
                        "s3": {"bucket": {"name": "b"}, "object": {"key": "k", "versionId": 7}},
                    }
                ]
            }
        ),
        json.dumps({"Event": "s3:SomethingElse"}),
    ],
)
def test_anything_else_is_malformed(text: str) -> None:
    with pytest.raises(MalformedMessage):
        parse_notification(text)
