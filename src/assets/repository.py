"""The asset table: every read and conditional write of an asset record goes through here.

A write that changes what an album counts (an asset becoming `ready` in it, a `ready` asset moving
in or out, or deleted) is one transaction with the album's `assetCount`, conditioned on the record
being as it was read: two concurrent moves cannot both count. An album the asset leaves may have
been deleted meanwhile; then there is nothing to uncount. An album it joins must exist and be the
owner's, or the write is refused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from assets.aws import error_code, translate_aws_errors
from assets.dynamo import TransactionCancelled, is_condition_failure, transact
from assets.errors import AlbumNotFound, StaleRecord, StorageUnavailable
from assets.model import (
    COLLECTION_INDEX_NAME,
    OWNER_INDEX_NAME,
    Asset,
    AssetChanges,
    AssetStatus,
    PublishedImage,
    RejectionReason,
    VariantImage,
    album_key,
    epoch_seconds,
    from_item,
    isoformat,
    to_item,
    variants_attribute,
)
from assets.pending import PendingUploads

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class RecordExists(Exception):
    """A record with this asset id is already stored (a UUID collision, or a replayed create)."""


@dataclass(frozen=True, slots=True)
class PageStart:
    """Where a page resumes: the last item (asset or album) of the previous page."""

    created_at: str
    item_id: str


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
_ATTEMPTS = 5
"""Re-reads of a record that changed under a write, before the change is called unavailable."""


@dataclass(frozen=True, slots=True)
class _AlbumCount:
    """A transaction's part on an album: count the asset in (+1), out (-1), or only check (0).

    With `owner` the album must exist and be theirs (an album the asset joins); without, it may be
    gone (an album the asset leaves, which someone deleted).
    """

    album_id: str
    delta: int
    owner: str | None = None

    def transact_item(self, table: str) -> dict[str, Any]:
        key = {"assetId": {"S": album_key(self.album_id)}}
        if self.owner is not None:
            condition = "albumOwnerId = :owner"
            values: dict[str, Any] = {":owner": {"S": self.owner}}
        else:
            condition, values = "attribute_exists(albumOwnerId)", {}
        if self.delta == 0:
            check: dict[str, Any] = {
                "TableName": table,
                "Key": key,
                "ConditionExpression": condition,
            }
            if values:
                check["ExpressionAttributeValues"] = values
            return {"ConditionCheck": check}
        return {
            "Update": {
                "TableName": table,
                "Key": key,
                "UpdateExpression": "ADD assetCount :delta",
                "ConditionExpression": condition,
                "ExpressionAttributeValues": {**values, ":delta": {"N": str(self.delta)}},
            }
        }


def _album_counts(asset: Asset, target: str | None) -> list[_AlbumCount]:
    """What moving `asset` (as read) into `target` changes on albums: only `ready` ones count."""
    if target == asset.album_id:
        return []
    counted = asset.status is AssetStatus.READY
    changes = []
    if counted and asset.album_id is not None:
        changes.append(_AlbumCount(asset.album_id, -1))
    if target is not None:
        changes.append(_AlbumCount(target, 1 if counted else 0, owner=asset.owner_id))
    return changes


@dataclass
class _Expression:
    """An update expression built up clause by clause, with its names and values."""

    sets: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def set(self, attribute: str, value: dict[str, Any]) -> None:
        self.names[f"#{attribute}"] = attribute
        self.values[f":{attribute}"] = value
        self.sets.append(f"#{attribute} = :{attribute}")

    def remove(self, attribute: str) -> None:
        self.names[f"#{attribute}"] = attribute
        self.removes.append(f"#{attribute}")

    @property
    def text(self) -> str:
        clauses = []
        if self.sets:
            clauses.append("SET " + ", ".join(self.sets))
        if self.removes:
            clauses.append("REMOVE " + ", ".join(self.removes))
        return " ".join(clauses)


def _as_read(asset: Asset) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The condition that the record is still the owner's, in the status and album it was read in."""
    condition = "ownerId = :owner AND #status = :readStatus AND "
    names = {"#status": "status"}
    values: dict[str, Any] = {
        ":owner": {"S": asset.owner_id},
        ":readStatus": {"S": asset.status.value},
    }
    if asset.album_id is None:
        condition += "attribute_not_exists(albumId)"
    else:
        condition += "albumId = :readAlbum"
        values[":readAlbum"] = {"S": asset.album_id}
    return condition, names, values


class AssetRepository:
    """Conditional reads and writes of asset records in one DynamoDB table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self.pending = PendingUploads(client, table_name)

    @property
    def client(self) -> DynamoDBClient:
        return self._client

    @property
    def table_name(self) -> str:
        return self._table

    def create(self, asset: Asset) -> None:
        """Store a new record; never overwrites one that exists.

        A record created in an album is written only if the album exists and is its owner's
        (`AlbumNotFound` otherwise); it is not counted there until it is `ready`.
        """
        put = {
            "TableName": self._table,
            "Item": to_item(asset),
            "ConditionExpression": "attribute_not_exists(assetId)",
        }
        counts = [] if asset.album_id is None else [_AlbumCount(asset.album_id, 0, asset.owner_id)]
        try:
            self._write("Put", put, counts)
        except StaleRecord as error:
            raise RecordExists(asset.asset_id) from error

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
        return self._page(OWNER_INDEX_NAME, "ownerId", owner_id, limit, start)

    def list_in_album(self, album_id: str, limit: int, start: PageStart | None) -> AssetPage:
        """The records in an album, newest first, from the collection index."""
        return self._page(COLLECTION_INDEX_NAME, "collection", album_key(album_id), limit, start)

    def _page(
        self, index: str, key_name: str, key_value: str, limit: int, start: PageStart | None
    ) -> AssetPage:
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": f"{key_name} = :key",
            "ExpressionAttributeValues": {":key": {"S": key_value}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start is not None:
            query["ExclusiveStartKey"] = {
                key_name: {"S": key_value},
                "createdAt": {"S": start.created_at},
                "assetId": {"S": start.item_id},
            }
        with translate_aws_errors():
            response = self._client.query(**query)
        assets = [from_item(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        next_start = (
            PageStart(created_at=last["createdAt"]["S"], item_id=last["assetId"]["S"])
            if last
            else None
        )
        return AssetPage(assets, next_start)

    def update(
        self,
        asset_id: str,
        owner_id: str,
        changes: AssetChanges,
        now: datetime,
        *,
        as_read: Asset | None = None,
        only_from_album: str | None = None,
    ) -> Asset | None:
        """Apply the owner's changes; the record as changed, or None if it is gone (or not theirs).

        With `only_from_album`, the change applies only while the asset is still in that album.
        """
        for asset in self._owned_records(asset_id, owner_id, as_read):
            if asset is None:
                return None
            if only_from_album is not None and asset.album_id != only_from_album:
                return asset
            try:
                return self._apply(asset, changes, now)
            except StaleRecord:
                continue
        raise StorageUnavailable(f"asset {asset_id} kept changing while it was updated")

    def _apply(self, asset: Asset, changes: AssetChanges, now: datetime) -> Asset:
        expression = _Expression()
        expression.set("updatedAt", {"S": isoformat(now)})
        for name in ("title", "description"):
            if name in changes.given:
                value = getattr(changes, name)
                if value is None:
                    expression.remove(name)
                else:
                    expression.set(name, {"S": value})
        target = changes.target_album(asset)
        if target != asset.album_id:
            if target is None:
                expression.remove("albumId")
                expression.remove("collection")
            else:
                expression.set("albumId", {"S": target})
                expression.set("collection", {"S": album_key(target)})
        condition, names, values = _as_read(asset)
        update = {
            "TableName": self._table,
            "Key": {"assetId": {"S": asset.asset_id}},
            "UpdateExpression": expression.text,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {**names, **expression.names},
            "ExpressionAttributeValues": {**values, **expression.values},
        }
        counts = _album_counts(asset, target)
        if "album_id" in changes.given and target is not None and target == asset.album_id:
            # Named again as it stands: it must still exist (it may have been deleted since).
            counts = [_AlbumCount(target, 0, owner=asset.owner_id)]
        self._write("Update", update, counts)
        given = {
            name: getattr(changes, name)
            for name in ("title", "description")
            if name in changes.given
        }
        return asset.with_changes(album_id=target, updated_at=isoformat(now), **given)

    def delete(self, asset_id: str, owner_id: str, *, as_read: Asset | None = None) -> bool:
        """Remove an owner's record (uncounting it from its album); False if it was already gone
        (or is not theirs)."""
        for asset in self._owned_records(asset_id, owner_id, as_read):
            if asset is None:
                return False
            condition, names, values = _as_read(asset)
            delete = {
                "TableName": self._table,
                "Key": {"assetId": {"S": asset_id}},
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
            try:
                self._write("Delete", delete, _album_counts(asset, None))
            except StaleRecord:
                continue
            return True
        raise StorageUnavailable(f"asset {asset_id} kept changing while it was deleted")

    def _owned_records(
        self, asset_id: str, owner_id: str, as_read: Asset | None
    ) -> Iterator[Asset | None]:
        """The owner's record for each attempt at a write conditioned on it: `as_read` first,
        then read again after each refusal; None once it is gone (or not theirs)."""
        for attempt in range(_ATTEMPTS):
            asset = as_read if attempt == 0 and as_read is not None else self.get(asset_id)
            yield asset if asset is not None and asset.owner_id == owner_id else None

    def _write(self, kind: str, request: dict[str, Any], counts: list[_AlbumCount]) -> None:
        """One write of the record, in a transaction with its album counts when there are any.

        Raises `StaleRecord` if the record's own condition failed and `AlbumNotFound` if an album
        it joins does not exist; an album it leaves that is gone is left out and the write retried.
        """
        while True:
            if not counts:
                calls: dict[str, Callable[..., Any]] = {
                    "Put": self._client.put_item,
                    "Update": self._client.update_item,
                    "Delete": self._client.delete_item,
                }
                try:
                    with translate_aws_errors():
                        calls[kind](**request)
                except ClientError as error:
                    if is_condition_failure(error):
                        raise StaleRecord(str(error)) from error
                    raise
                return
            try:
                transact(
                    self._client,
                    [{kind: request}, *(count.transact_item(self._table) for count in counts)],
                )
            except TransactionCancelled as cancelled:
                if cancelled.failed(0):
                    raise StaleRecord(str(cancelled)) from cancelled
                failed = [count for index, count in enumerate(counts, 1) if cancelled.failed(index)]
                if any(count.owner is not None for count in failed):
                    raise AlbumNotFound(failed[0].album_id) from cancelled
                # The album it leaves was deleted meanwhile: nothing is left there to uncount.
                counts = [count for count in counts if count not in failed]
                continue
            return

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
        it took (`version_id`), so later versions of a decided key can be told apart. A claim
        also gives back the upload's form slot.
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
        claimed = from_item(response["Attributes"])
        # The upload has left `uploading`, so its form no longer counts against the owner. Best
        # effort: a slot not given back here frees itself when the form expires.
        with contextlib.suppress(StorageUnavailable, ClientError, BotoCoreError):
            self.pending.release(claimed.owner_id, asset_id)
        return Claim(ClaimOutcome.CLAIMED, claimed)

    def release_claim(self, asset_id: str, token: str, now: datetime) -> bool:
        """Give up a lease early so a retry need not wait for it; False if it was not ours."""
        update = _Expression(
            sets=["updatedAt = :updatedAt"],
            removes=["leaseToken", "leaseExpiresAt"],
            values={":updatedAt": {"S": isoformat(now)}},
        )
        return self._leased_update(asset_id, token, update)[0]

    def finish_ready(
        self, asset_id: str, token: str, published: PublishedImage, now: datetime
    ) -> bool:
        """`processing` -> `ready` under the caller's lease; False if the lease is not theirs.

        Written only once the image and every variant are published. An asset in an album is
        counted there in the same transaction; if its album was deleted while it was processed,
        it is finished unassigned instead of pointing at no album.
        """
        update = _Expression(
            sets=[
                "#status = :ready",
                "outputKey = :outputKey",
                "#width = :width",
                "#height = :height",
                "#bytes = :bytes",
                "sha256 = :sha256",
                "updatedAt = :updatedAt",
            ],
            # A published asset is kept: it no longer expires with its upload window.
            removes=["expiresAt", "leaseToken", "leaseExpiresAt", "#error", "errorCode"],
            names={"#width": "width", "#height": "height", "#bytes": "bytes", "#error": "error"},
            values={
                ":ready": {"S": AssetStatus.READY.value},
                ":outputKey": {"S": published.output_key},
                ":width": {"N": str(published.width)},
                ":height": {"N": str(published.height)},
                ":bytes": {"N": str(published.bytes)},
                ":sha256": {"S": published.sha256},
                ":updatedAt": {"S": isoformat(now)},
            },
        )
        if published.variants and published.placeholder is not None:
            update.sets += ["variants = :variants", "placeholder = :placeholder"]
            update.values[":variants"] = variants_attribute(published.variants)
            update.values[":placeholder"] = {"S": published.placeholder}
        for _ in range(_ATTEMPTS):
            done, found = self._leased_update(
                asset_id, token, update, also="attribute_not_exists(albumId)"
            )
            if done:
                return True
            if found is None or not _holds_lease(found, token):
                return False
            if "albumId" not in found:
                continue  # it left its album just now: the plain finish applies again
            album_id = found["albumId"]["S"]
            in_album = _Expression(
                update.sets,
                update.removes,
                update.names,
                {**update.values, ":album": {"S": album_id}},
            )
            try:
                transact(
                    self._client,
                    [
                        {
                            "Update": self._leased_request(
                                asset_id, token, in_album, "albumId = :album"
                            )
                        },
                        _AlbumCount(album_id, 1, owner=found["ownerId"]["S"]).transact_item(
                            self._table
                        ),
                    ],
                )
                return True
            except TransactionCancelled as cancelled:
                if cancelled.failed(0):
                    continue  # moved to another album meanwhile (or the lease went): look again
            unassigned = _Expression(
                update.sets,
                [*update.removes, "albumId", "#collection"],
                {**update.names, "#collection": "collection"},
                in_album.values,
            )
            done, _ = self._leased_update(asset_id, token, unassigned, also="albumId = :album")
            if done:
                return True
        raise StorageUnavailable(f"asset {asset_id} kept changing while it was finished")

    def add_variants(
        self,
        asset_id: str,
        output_key: str,
        variants: tuple[VariantImage, ...],
        placeholder: str,
        now: datetime,
    ) -> bool:
        """Give a ready asset published before variants existed its variants (the backfill).

        False if the asset is gone, no longer the one published at `output_key`, or already has
        variants: running the backfill again changes nothing.
        """
        try:
            with translate_aws_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key={"assetId": {"S": asset_id}},
                    UpdateExpression=(
                        "SET variants = :variants, placeholder = :placeholder,"
                        " updatedAt = :updatedAt"
                    ),
                    ConditionExpression=(
                        "#status = :ready AND outputKey = :outputKey"
                        " AND attribute_not_exists(variants)"
                    ),
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":ready": {"S": AssetStatus.READY.value},
                        ":outputKey": {"S": output_key},
                        ":variants": variants_attribute(variants),
                        ":placeholder": {"S": placeholder},
                        ":updatedAt": {"S": isoformat(now)},
                    },
                )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def ready_without_variants(
        self, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Asset], dict[str, Any] | None]:
        """One page of a table scan for ready assets that lack variants (the backfill's, an
        operator's command: no request path scans). Returns the page and where the next starts."""
        scan: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "#status = :ready AND attribute_not_exists(variants)",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":ready": {"S": AssetStatus.READY.value}},
            "Limit": limit,
            "ConsistentRead": True,
        }
        if start is not None:
            scan["ExclusiveStartKey"] = start
        with translate_aws_errors():
            response = self._client.scan(**scan)
        assets = [from_item(item) for item in response.get("Items", [])]
        return assets, response.get("LastEvaluatedKey")

    def finish_rejected(
        self,
        asset_id: str,
        token: str,
        reason: RejectionReason,
        message: str,
        now: datetime,
        expires_at: int,
    ) -> bool:
        """`processing` -> `rejected` under the caller's lease; False if the lease is not theirs.

        A rejected asset stays listed in its album, uncounted (only `ready` ones count).
        """
        update = _Expression(
            sets=[
                "#status = :rejected",
                "#error = :error",
                "errorCode = :errorCode",
                "expiresAt = :expiresAt",
                "updatedAt = :updatedAt",
            ],
            removes=[
                "leaseToken",
                "leaseExpiresAt",
                "outputKey",
                "#width",
                "#height",
                "#bytes",
                "sha256",
                "variants",
                "placeholder",
            ],
            names={"#width": "width", "#height": "height", "#bytes": "bytes", "#error": "error"},
            values={
                ":rejected": {"S": AssetStatus.REJECTED.value},
                ":error": {"S": message},
                ":errorCode": {"S": reason.value},
                ":expiresAt": {"N": str(expires_at)},
                ":updatedAt": {"S": isoformat(now)},
            },
        )
        return self._leased_update(asset_id, token, update)[0]

    def _leased_request(
        self, asset_id: str, token: str, update: _Expression, also: str | None = None
    ) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": {"assetId": {"S": asset_id}},
            "UpdateExpression": update.text,
            "ConditionExpression": _LEASED if also is None else f"{_LEASED} AND {also}",
            "ExpressionAttributeNames": {"#status": "status", **update.names},
            "ExpressionAttributeValues": {
                ":processing": {"S": AssetStatus.PROCESSING.value},
                ":token": {"S": token},
                **update.values,
            },
        }

    def _leased_update(
        self, asset_id: str, token: str, update: _Expression, also: str | None = None
    ) -> tuple[bool, dict[str, Any] | None]:
        """Whether the write under the lease was made, and if not, the record it found."""
        try:
            with translate_aws_errors():
                self._client.update_item(
                    **self._leased_request(asset_id, token, update, also),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            item = cast("dict[str, Any] | None", error.response.get("Item"))
            if item is None and also is not None:
                # Engines that do not return the record they refused cost one read.
                with translate_aws_errors():
                    response = self._client.get_item(
                        TableName=self._table, Key={"assetId": {"S": asset_id}}, ConsistentRead=True
                    )
                item = response.get("Item")
            return False, item
        return True, None


def _holds_lease(item: dict[str, Any], token: str) -> bool:
    status: str | None = item.get("status", {}).get("S")
    lease: str | None = item.get("leaseToken", {}).get("S")
    return status == AssetStatus.PROCESSING.value and lease == token
