"""Creating the AWS resources the code expects, in moto, shaped as `template.yaml` declares them."""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

from moto.dynamodb.models import DynamoDBBackend

from assets.model import COLLECTION_INDEX_NAME, OWNER_INDEX_NAME, is_asset_id

if TYPE_CHECKING:
    import pytest
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


def create_assets_table(dynamodb: DynamoDBClient, name: str) -> None:
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "assetId", "AttributeType": "S"},
            {"AttributeName": "ownerId", "AttributeType": "S"},
            {"AttributeName": "createdAt", "AttributeType": "S"},
            {"AttributeName": "collection", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "assetId", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": OWNER_INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": "ownerId", "KeyType": "HASH"},
                    {"AttributeName": "createdAt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": COLLECTION_INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": "collection", "KeyType": "HASH"},
                    {"AttributeName": "createdAt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    )


def create_asset_bucket(s3: S3Client, name: str) -> None:
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def asset_records(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The asset records among a table's items (the table also holds albums and per-user items)."""
    return [item for item in items if is_asset_id(item["assetId"]["S"])]


_ATOMIC = ("put_item", "get_item", "update_item", "delete_item", "transact_write_items", "query")


def make_dynamodb_atomic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apply each moto DynamoDB request atomically, as DynamoDB applies a conditional write or a
    transaction: moto itself checks a condition and then writes, and threads can interleave."""
    lock = threading.RLock()
    for name in _ATOMIC:
        original = getattr(DynamoDBBackend, name)

        def locked(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(*args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, functools.wraps(original)(locked))
