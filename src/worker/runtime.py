"""What the worker's domain functions work with, passed in rather than reached for."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from assets.aws import AwsClients
from assets.repository import AssetRepository
from assets.settings import WorkerSettings
from assets.storage import AssetBucket


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_lease_token() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Worker:
    """The collaborators of one worker process: settings, the asset table, the bucket, a clock."""

    settings: WorkerSettings
    repository: AssetRepository
    bucket: AssetBucket
    clock: Callable[[], datetime] = utc_now
    new_token: Callable[[], str] = new_lease_token
    sleep: Callable[[float], None] = field(default=time.sleep)


def build_worker(settings: WorkerSettings, clients: AwsClients | None = None) -> Worker:
    """A worker over this process's AWS clients (built here unless given)."""
    clients = clients or AwsClients(settings.AWS_REGION)
    return Worker(
        settings=settings,
        repository=AssetRepository(clients.dynamodb, settings.ASSETS_TABLE_NAME),
        bucket=AssetBucket(clients.s3, settings.ASSET_BUCKET_NAME),
    )
