"""The asset table: every read and conditional write of an asset record goes through here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from assets.aws import error_code, translate_aws_errors
from assets.model import (
    OWNER_INDEX_NAME,
    Asset,
    AssetStatus,
    PublishedImage,
    RejectionReason,
    epoch_seconds,
    from_item,
    isoformat,
    to_item,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class RecordExists(Exception):
    """A record with this asset id is already stored (a UUID collision, or a replayed create)."""


@dataclass(frozen=True, slots=True)
class PageStart:
    """Where a page of an owner's assets resumes: the last item of the previous page."""

    created_at: str
    asset_id: str


@dataclass(frozen=True, slots=True)
class AssetPage:
    assets: list[Asset]
    next_start: PageStart | None


class ClaimOutcome(StrEnum):
    """What an attempt to take an uploaded object into processing found."""

    CLAIMED = "claimed"
    ORPHAN = "orphan"
    """No record can ever claim this object: none exists, it expired, or it names another key."""
    FINAL = "final"
    LEASE_HELD = "lease_held"
    """Another worker holds a live lease; it may still die, so the delivery is worth retrying."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of a claim, with the record as claimed (or as found when refused)."""

    outcome: ClaimOutcome
    asset: Asset | None

    @property
    def claimed(self) -> bool:
        return self.outcome is ClaimOutcome.CLAIMED


def classify_refused_claim(asset: Asset | None, source_key: str, now: datetime) -> ClaimOutcome:
    """Why a record refused a claim for `source_key` at `now`."""
    if asset is None or asset.source_key != source_key:
        return ClaimOutcome.ORPHAN
    if asset.status.is_final:
        return ClaimOutcome.FINAL
    if asset.expires_at is not None and asset.expires_at <= epoch_seconds(now):
        return ClaimOutcome.ORPHAN
    # Held by a live lease, or changed between the write and this read: either way, try later.
    return ClaimOutcome.LEASE_HELD


_LEASED = "#status = :processing AND leaseToken = :token"
"""Only the worker holding the lease may move a record out of `processing`."""


class AssetRepository:
    """Conditional reads and writes of asset records in one DynamoDB table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    @property
    def client(self) -> DynamoDBClient:
        return self._client

    @property
    def table_name(self) -> str:
        return self._table

    def create(self, asset: Asset) -> None:
        """Store a new record; never overwrites one that exists."""
        try:
            with translate_aws_errors():
                self._client.put_item(
                    TableName=self._table,
                    Item=to_item(asset),
                    ConditionExpression="attribute_not_exists(assetId)",
                )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise RecordExists(asset.asset_id) from error
            raise

    def get(self, asset_id: str) -> Asset | None:
        """The record as last written (strongly consistent), or None."""
        with translate_aws_errors():
            response = self._client.get_item(
                TableName=self._table, Key={"assetId": {"S": asset_id}}, ConsistentRead=True
            )
        item = response.get("Item")
        return from_item(item) if item else None

    def list_for_owner(self, owner_id: str, limit: int, start: PageStart | None) -> AssetPage:
        """An owner's records, newest first, from the owner/creation-time index."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OWNER_INDEX_NAME,
            "KeyConditionExpression": "ownerId = :owner",
            "ExpressionAttributeValues": {":owner": {"S": owner_id}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start is not None:
            query["ExclusiveStartKey"] = {
                "ownerId": {"S": owner_id},
                "createdAt": {"S": start.created_at},
                "assetId": {"S": start.asset_id},
            }
        with translate_aws_errors():
            response = self._client.query(**query)
        assets = [from_item(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        next_start = (
            PageStart(created_at=last["createdAt"]["S"], asset_id=last["assetId"]["S"])
            if last
            else None
        )
        return AssetPage(assets, next_start)

    def count_open_uploads(self, owner_id: str, created_since: str) -> int:
        """How many of an owner's records created since `created_since` are still `uploading`."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OWNER_INDEX_NAME,
            "KeyConditionExpression": "ownerId = :owner AND createdAt >= :since",
            "FilterExpression": "#status = :uploading",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":owner": {"S": owner_id},
                ":since": {"S": created_since},
                ":uploading": {"S": AssetStatus.UPLOADING.value},
            },
            "Select": "COUNT",
        }
        count = 0
        with translate_aws_errors():
            while True:
                response = self._client.query(**query)
                count += response.get("Count", 0)
                last = response.get("LastEvaluatedKey")
                if not last:
                    return count
                query["ExclusiveStartKey"] = last

    def delete(self, asset_id: str, owner_id: str) -> bool:
        """Remove an owner's record; False if it was already gone (or is not theirs)."""
        try:
            with translate_aws_errors():
                self._client.delete_item(
                    TableName=self._table,
                    Key={"assetId": {"S": asset_id}},
                    ConditionExpression="ownerId = :owner",
                    ExpressionAttributeValues={":owner": {"S": owner_id}},
                )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def claim_for_processing(
        self,
        asset_id: str,
        source_key: str,
        token: str,
        now: datetime,
        lease_seconds: int,
        version_id: str | None = None,
    ) -> Claim:
        """Take the record into `processing` under a lease, if it is waiting or its lease lapsed.

        One conditional write decides between concurrent and repeated deliveries: the record must
        name this very object, not be past its TTL, and be `uploading`, or `processing` with a
        lease that expired (its worker died). The claim remembers which version of the original
        it took (`version_id`), so later versions of a decided key can be told apart.
        """
        stamp = epoch_seconds(now)
        version: dict[str, Any] = {":versionId": {"S": version_id}} if version_id else {}
        try:
            with translate_aws_errors():
                response = self._client.update_item(
                    TableName=self._table,
                    Key={"assetId": {"S": asset_id}},
                    UpdateExpression=(
                        "SET #status = :processing, leaseToken = :token,"
                        " leaseExpiresAt = :leaseUntil, updatedAt = :updatedAt"
                        + (
                            ", sourceVersionId = :versionId"
                            if version
                            else " REMOVE sourceVersionId"
                        )
                    ),
                    ConditionExpression=(
                        "sourceKey = :sourceKey"
                        " AND (attribute_not_exists(expiresAt) OR expiresAt > :now)"
                        " AND (#status = :uploading OR (#status = :processing AND"
                        " (attribute_not_exists(leaseExpiresAt) OR leaseExpiresAt <= :now)))"
                    ),
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":processing": {"S": AssetStatus.PROCESSING.value},
                        ":uploading": {"S": AssetStatus.UPLOADING.value},
                        ":token": {"S": token},
                        ":leaseUntil": {"N": str(stamp + lease_seconds)},
                        ":updatedAt": {"S": isoformat(now)},
                        ":sourceKey": {"S": source_key},
                        ":now": {"N": str(stamp)},
                        **version,
                    },
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            # The failed write returns the record it found; engines that do not, cost one read.
            item = cast("dict[str, Any] | None", error.response.get("Item"))
            found = from_item(item) if item else self.get(asset_id)
            return Claim(classify_refused_claim(found, source_key, now), found)
        return Claim(ClaimOutcome.CLAIMED, from_item(response["Attributes"]))

    def release_claim(self, asset_id: str, token: str, now: datetime) -> bool:
        """Give up a lease early so a retry need not wait for it; False if it was not ours."""
        return self._leased_update(
            asset_id,
            token,
            "SET updatedAt = :updatedAt REMOVE leaseToken, leaseExpiresAt",
            {":updatedAt": {"S": isoformat(now)}},
            {},
        )

    def finish_ready(
        self, asset_id: str, token: str, published: PublishedImage, now: datetime
    ) -> bool:
        """`processing` -> `ready` under the caller's lease; False if the lease is not theirs."""
        return self._leased_update(
            asset_id,
            token,
            "SET #status = :ready, outputKey = :outputKey, #width = :width, #height = :height,"
            " #bytes = :bytes, sha256 = :sha256, updatedAt = :updatedAt"
            # A published asset is kept: it no longer expires with its upload window.
            " REMOVE expiresAt, leaseToken, leaseExpiresAt, #error, errorCode",
            {
                ":ready": {"S": AssetStatus.READY.value},
                ":outputKey": {"S": published.output_key},
                ":width": {"N": str(published.width)},
                ":height": {"N": str(published.height)},
                ":bytes": {"N": str(published.bytes)},
                ":sha256": {"S": published.sha256},
                ":updatedAt": {"S": isoformat(now)},
            },
            {"#width": "width", "#height": "height", "#bytes": "bytes", "#error": "error"},
        )

    def finish_rejected(
        self,
        asset_id: str,
        token: str,
        reason: RejectionReason,
        message: str,
        now: datetime,
        expires_at: int,
    ) -> bool:
        """`processing` -> `rejected` under the caller's lease; False if the lease is not theirs."""
        return self._leased_update(
            asset_id,
            token,
            "SET #status = :rejected, #error = :error, errorCode = :errorCode,"
            " expiresAt = :expiresAt, updatedAt = :updatedAt"
            " REMOVE leaseToken, leaseExpiresAt, outputKey, #width, #height, #bytes, sha256",
            {
                ":rejected": {"S": AssetStatus.REJECTED.value},
                ":error": {"S": message},
                ":errorCode": {"S": reason.value},
                ":expiresAt": {"N": str(expires_at)},
                ":updatedAt": {"S": isoformat(now)},
            },
            {"#width": "width", "#height": "height", "#bytes": "bytes", "#error": "error"},
        )

    def _leased_update(
        self,
        asset_id: str,
        token: str,
        update: str,
        values: dict[str, Any],
        names: dict[str, str],
    ) -> bool:
        try:
            with translate_aws_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key={"assetId": {"S": asset_id}},
                    UpdateExpression=update,
                    ConditionExpression=_LEASED,
                    ExpressionAttributeNames={"#status": "status", **names},
                    ExpressionAttributeValues={
                        ":processing": {"S": AssetStatus.PROCESSING.value},
                        ":token": {"S": token},
                        **values,
                    },
                )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True
