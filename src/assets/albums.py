"""The album records: every read and conditional write of an album goes through here.

Albums live in the asset table, keyed `album#<albumId>`, listed per owner on the collection
index. Each owner has one tally item counting their albums, written in the same transaction as
the album it counts, so `MAX_ALBUMS` holds under concurrent creation. An album's `assetCount` is
kept by the writes that move its assets (`assets.repository`), never recounted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from assets.aws import translate_aws_errors
from assets.dynamo import TransactionCancelled, is_condition_failure, transact
from assets.errors import StorageUnavailable, TooManyAlbums
from assets.model import (
    COLLECTION_INDEX_NAME,
    Album,
    album_from_item,
    album_key,
    album_to_item,
    isoformat,
    owner_albums_key,
)
from assets.repository import PageStart, RecordExists

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_BATCH_GET_LIMIT = 100
_BATCH_GET_ATTEMPTS = 4
_OWNED = "albumOwnerId = :owner"


@dataclass(frozen=True, slots=True)
class AlbumPage:
    albums: list[Album]
    next_start: PageStart | None


class AlbumRepository:
    """Conditional reads and writes of album records and of each owner's album tally."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create(self, album: Album, limit: int) -> None:
        """Store a new album and count it, or raise `TooManyAlbums` if the owner has `limit`."""
        try:
            transact(
                self._client,
                [
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": album_to_item(album),
                            "ConditionExpression": "attribute_not_exists(assetId)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": {"assetId": {"S": owner_albums_key(album.owner_id)}},
                            "UpdateExpression": "ADD albumCount :one",
                            "ConditionExpression": (
                                "attribute_not_exists(albumCount) OR albumCount < :limit"
                            ),
                            "ExpressionAttributeValues": {
                                ":one": {"N": "1"},
                                ":limit": {"N": str(limit)},
                            },
                        }
                    },
                ],
            )
        except TransactionCancelled as cancelled:
            if cancelled.failed(1):
                raise TooManyAlbums(limit) from cancelled
            raise RecordExists(album.album_id) from cancelled

    def get(self, album_id: str) -> Album | None:
        """The album as last written (strongly consistent), or None."""
        with translate_aws_errors():
            response = self._client.get_item(
                TableName=self._table,
                Key={"assetId": {"S": album_key(album_id)}},
                ConsistentRead=True,
            )
        item = response.get("Item")
        return album_from_item(item) if item else None

    def find(self, album_ids: Iterable[str]) -> dict[str, Album]:
        """Those of these albums that exist, by id (strongly consistent: a deleted one is gone)."""
        wanted = sorted(set(album_ids))
        found: dict[str, Album] = {}
        for start in range(0, len(wanted), _BATCH_GET_LIMIT):
            keys: list[Any] = [
                {"assetId": {"S": album_key(album_id)}}
                for album_id in wanted[start : start + _BATCH_GET_LIMIT]
            ]
            for _ in range(_BATCH_GET_ATTEMPTS):
                with translate_aws_errors():
                    response = self._client.batch_get_item(
                        RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
                    )
                for item in response.get("Responses", {}).get(self._table, []):
                    album = album_from_item(item)
                    found[album.album_id] = album
                unprocessed: Any = response.get("UnprocessedKeys", {}).get(self._table)
                keys = list(unprocessed["Keys"]) if unprocessed else []
                if not keys:
                    break
            else:
                raise StorageUnavailable("DynamoDB left album reads unprocessed")
        return found

    def list_for_owner(self, owner_id: str, limit: int, start: PageStart | None) -> AlbumPage:
        """An owner's albums, newest first, from the collection index."""
        collection = owner_albums_key(owner_id)
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": COLLECTION_INDEX_NAME,
            "KeyConditionExpression": "collection = :collection",
            "ExpressionAttributeValues": {":collection": {"S": collection}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start is not None:
            query["ExclusiveStartKey"] = {
                "collection": {"S": collection},
                "createdAt": {"S": start.created_at},
                "assetId": {"S": album_key(start.item_id)},
            }
        with translate_aws_errors():
            response = self._client.query(**query)
        albums = [album_from_item(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        next_start = (
            PageStart(
                created_at=last["createdAt"]["S"],
                item_id=last["assetId"]["S"].removeprefix(album_key("")),
            )
            if last
            else None
        )
        return AlbumPage(albums, next_start)

    def rename(self, album_id: str, owner_id: str, name: str, now: datetime) -> Album | None:
        """Give the owner's album a new name; None if it is gone (or not theirs)."""
        try:
            with translate_aws_errors():
                response = self._client.update_item(
                    TableName=self._table,
                    Key={"assetId": {"S": album_key(album_id)}},
                    UpdateExpression="SET #name = :name, updatedAt = :updatedAt",
                    ConditionExpression=_OWNED,
                    ExpressionAttributeNames={"#name": "name"},
                    ExpressionAttributeValues={
                        ":name": {"S": name},
                        ":updatedAt": {"S": isoformat(now)},
                        ":owner": {"S": owner_id},
                    },
                    ReturnValues="ALL_NEW",
                )
        except ClientError as error:
            if is_condition_failure(error):
                return None
            raise
        return album_from_item(response["Attributes"])

    def delete(self, album: Album) -> bool:
        """Remove the owner's album and uncount it; False if it was already gone."""
        try:
            transact(
                self._client,
                [
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": {"assetId": {"S": album_key(album.album_id)}},
                            "ConditionExpression": _OWNED,
                            "ExpressionAttributeValues": {":owner": {"S": album.owner_id}},
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": {"assetId": {"S": owner_albums_key(album.owner_id)}},
                            "UpdateExpression": "ADD albumCount :minusOne",
                            "ExpressionAttributeValues": {":minusOne": {"N": "-1"}},
                        }
                    },
                ],
            )
        except TransactionCancelled:
            return False
        return True
