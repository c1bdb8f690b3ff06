"""What the table modules share: atomic writes of several items, and why DynamoDB refused one."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from assets.aws import error_code, translate_aws_errors
from assets.errors import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CONDITION_FAILED = "ConditionalCheckFailed"
CONFLICT_ATTEMPTS = 4
"""Another transaction on one of the items: DynamoDB cancels, and a moment later it is done."""
CONFLICT_BACKOFF_SECONDS = 0.02


class TransactionCancelled(Exception):
    """A condition of the transaction failed; `failed(i)` says whether item `i`'s did."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__(f"transaction cancelled: {', '.join(reasons)}")
        self.reasons = list(reasons)

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == CONDITION_FAILED


def is_condition_failure(error: ClientError) -> bool:
    return error_code(error) == "ConditionalCheckFailedException"


def transact(
    client: DynamoDBClient,
    items: Sequence[dict[str, Any]],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Write every item or none; raises `TransactionCancelled` when a condition failed.

    Each attempt has its own request token, so botocore's own retries of one attempt (a lost
    answer) cannot apply an `ADD` twice. Conflicts with other transactions are retried briefly,
    then reported as `StorageUnavailable`, like throttling.
    """
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            with translate_aws_errors():
                client.transact_write_items(
                    TransactItems=list(items),  # type: ignore[arg-type]
                    ClientRequestToken=str(uuid.uuid4()),
                )
            return
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons = [
                str(reason.get("Code") or "None")
                for reason in error.response.get("CancellationReasons", [])
            ]
            if CONDITION_FAILED in reasons:
                raise TransactionCancelled(reasons) from error
            if attempt == CONFLICT_ATTEMPTS - 1:
                raise StorageUnavailable(f"transaction kept failing: {reasons}") from error
            sleep(CONFLICT_BACKOFF_SECONDS * 2**attempt * (1 + random.random()))  # noqa: S311
    raise AssertionError("unreachable")  # pragma: no cover
