"""Each owner's open upload forms, held in one item so that `MAX_PENDING_UPLOADS` is exact.

The item maps asset id -> the moment its form expires. Taking a slot is one conditional write
(`size(pendingUploads) < limit`), which DynamoDB applies to the item one at a time, so concurrent
requests cannot all see room: counting the records and then creating one could. A slot is given
back when the upload leaves `uploading` (the worker's claim), when the asset is deleted, and when
its form expires: expired entries are removed the next time the map is full, so an abandoned form
holds its slot no longer than the form lives, and a slot whose record was never written (the
write failed after the slot was taken) frees itself the same way.

Plain conditional writes, never a transaction: a user's concurrent requests all touch this item,
and DynamoDB would cancel transactions that collide on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from assets.aws import translate_aws_errors
from assets.dynamo import is_condition_failure
from assets.errors import TooManyPendingUploads
from assets.model import owner_uploads_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

FORMS = "pendingUploads"
_ATTEMPTS = 4
"""A full map is pruned once; the map is created once; then the answer is final."""


class PendingUploads:
    """Slots for open upload forms, one item per owner."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def reserve(
        self, owner_id: str, asset_id: str, form_expires_at: int, limit: int, now: int
    ) -> None:
        """Take a slot for this asset's form, or raise `TooManyPendingUploads`."""
        key = {"assetId": {"S": owner_uploads_key(owner_id)}}
        until = {"N": str(form_expires_at)}
        pruned = False
        for _ in range(_ATTEMPTS):
            try:
                with translate_aws_errors():
                    self._client.update_item(
                        TableName=self._table,
                        Key=key,
                        UpdateExpression=f"SET {FORMS}.#asset = :until",
                        ConditionExpression=f"attribute_exists({FORMS}) AND size({FORMS}) < :limit",
                        ExpressionAttributeNames={"#asset": asset_id},
                        ExpressionAttributeValues={":until": until, ":limit": {"N": str(limit)}},
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
                return
            except ClientError as error:
                if not is_condition_failure(error):
                    raise
                forms = _forms(cast("dict[str, Any] | None", error.response.get("Item")))
            if forms is None:
                # No map yet (the refused write returns the item it found, here none).
                if self._start(key, asset_id, until):
                    return
                continue  # another request made the map first: take a slot in it
            expired = [held for held, expires in forms.items() if int(expires["N"]) <= now]
            if pruned or not expired:
                raise TooManyPendingUploads(limit)
            self._remove(key, expired)
            pruned = True
        raise TooManyPendingUploads(limit)

    def release(self, owner_id: str, asset_id: str) -> None:
        """Give back this asset's slot; nothing happens if it holds none."""
        try:
            with translate_aws_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key={"assetId": {"S": owner_uploads_key(owner_id)}},
                    UpdateExpression=f"REMOVE {FORMS}.#asset",
                    ConditionExpression=f"attribute_exists({FORMS}.#asset)",
                    ExpressionAttributeNames={"#asset": asset_id},
                )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def held(self, owner_id: str) -> dict[str, int]:
        """The owner's slots: asset id -> when its form expires (for operators and tests)."""
        forms = _forms(self._read({"assetId": {"S": owner_uploads_key(owner_id)}}))
        return {asset_id: int(value["N"]) for asset_id, value in (forms or {}).items()}

    def _start(self, key: dict[str, Any], asset_id: str, until: dict[str, str]) -> bool:
        try:
            with translate_aws_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression=f"SET {FORMS} = :forms",
                    ConditionExpression=f"attribute_not_exists({FORMS})",
                    ExpressionAttributeValues={":forms": {"M": {asset_id: until}}},
                )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            return False
        return True

    def _remove(self, key: dict[str, Any], asset_ids: list[str]) -> None:
        # Unconditional: a form that has expired stays expired, so removing it is always right.
        names = {f"#a{index}": asset_id for index, asset_id in enumerate(asset_ids)}
        with translate_aws_errors():
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="REMOVE " + ", ".join(f"{FORMS}.{name}" for name in names),
                ExpressionAttributeNames=names,
            )

    def _read(self, key: dict[str, Any]) -> dict[str, Any] | None:
        with translate_aws_errors():
            response = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        return response.get("Item")


def _forms(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None or FORMS not in item:
        return None
    forms: dict[str, Any] = item[FORMS]["M"]
    return forms
