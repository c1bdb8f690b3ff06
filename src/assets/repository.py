"""The asset table: every read and conditional write of an asset record goes through here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from assets.aws import error_code, translate_aws_errors
from assets.model import OWNER_INDEX_NAME, Asset, AssetStatus, from_item, to_item

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
