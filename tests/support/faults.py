"""Every AWS call a piece of code makes, in order, with the Nth one failing as AWS fails.

The failure is what botocore raises once its own retries are spent: DynamoDB throttling, an S3
5xx. Hooked on `before-call`, so nothing is sent for the failing call and nothing is retried.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

FAULTS = {
    "dynamodb": ("ProvisionedThroughputExceededException", 400),
    "s3": ("InternalError", 500),
}


@dataclass
class AwsCalls:
    """The calls made while watching, as `"<service> <Operation>"`; the one at `fail_at` fails."""

    fail_at: int | None = None
    made: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def __call__(self, model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        name = f"{service} {model.name}"
        failing = len(self.made) == self.fail_at
        self.made.append(name)
        if failing:
            self.failed.append(name)
            code, status = FAULTS[service]
            response: Any = {
                "Error": {"Code": code, "Message": "injected"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
            raise ClientError(response, model.name)

    @contextmanager
    def watching(self, *clients: Any) -> Iterator[AwsCalls]:
        """Watch (and fail) the calls of these boto3 clients for the length of the block."""
        hooks = []
        for client in clients:
            event = f"before-call.{client.meta.service_model.service_id.hyphenize()}"
            client.meta.events.register(event, self)
            hooks.append((client, event))
        try:
            yield self
        finally:
            for client, event in hooks:
                client.meta.events.unregister(event, self)
