"""S3 event notifications as they arrive in SQS message bodies, parsed and checked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

TEST_EVENT = "s3:TestEvent"


class MalformedMessage(ValueError):
    """A message body that is not an S3 event notification: it can never succeed, so it goes to the DLQ."""


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    """One record of an S3 notification: what happened to which object (key already decoded)."""

    event_name: str
    bucket: str
    key: str
    version_id: str | None = None
    size: int | None = None
    etag: str | None = None

    @property
    def is_object_created(self) -> bool:
        return self.event_name.startswith("ObjectCreated:")


@dataclass(frozen=True, slots=True)
class Notification:
    """A message body: the `s3:TestEvent` S3 sends when notifications are configured, or records."""

    records: tuple[ObjectEvent, ...]
    is_test_event: bool = False


def parse_notification(body: str) -> Notification:
    """The S3 notification in an SQS message body; raises `MalformedMessage` for anything else."""
    try:
        document = json.loads(body)
    except (TypeError, ValueError) as error:
        raise MalformedMessage(f"the message body is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise MalformedMessage("the message body is not a JSON object")
    if document.get("Event") == TEST_EVENT:
        return Notification(records=(), is_test_event=True)
    records = document.get("Records")
    if not isinstance(records, list) or not records:
        raise MalformedMessage("the message body is not an S3 event notification (no Records)")
    return Notification(records=tuple(_object_event(record, i) for i, record in enumerate(records)))


def _object_event(record: Any, index: int) -> ObjectEvent:
    where = f"Records[{index}]"
    if not isinstance(record, dict):
        raise MalformedMessage(f"{where} is not an object")
    event_name = _string(record.get("eventName"), f"{where}.eventName")
    s3 = _mapping(record.get("s3"), f"{where}.s3")
    bucket = _mapping(s3.get("bucket"), f"{where}.s3.bucket")
    obj = _mapping(s3.get("object"), f"{where}.s3.object")
    size = obj.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise MalformedMessage(f"{where}.s3.object.size is not a byte count")
    return ObjectEvent(
        event_name=event_name,
        bucket=_string(bucket.get("name"), f"{where}.s3.bucket.name"),
        # S3 form-encodes keys in notifications: `+` is a space, `%2B` a plus.
        key=unquote_plus(_string(obj.get("key"), f"{where}.s3.object.key")),
        version_id=_optional_string(obj.get("versionId"), f"{where}.s3.object.versionId"),
        size=size,
        etag=_optional_string(obj.get("eTag"), f"{where}.s3.object.eTag"),
    )


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedMessage(f"{where} is missing or not an object")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedMessage(f"{where} is missing or not a string")
    return value


def _optional_string(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedMessage(f"{where} is not a string")
    return value
