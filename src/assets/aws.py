"""AWS clients, created once per process on first use, and the classification of AWS failures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from assets.errors import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient

_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalError",
        "InternalServerError",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
        "TransactionConflictException",
    }
)


def is_transient(error: BaseException) -> bool:
    """True when AWS (or the way to it) failed: throttling, timeouts, connection faults, 5xx."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in _TRANSIENT_CODES or int(status) >= 500
    return isinstance(error, BotoCoreError)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class AwsClients:
    """The process's boto3 clients, each built on first use and then reused by every request."""

    def __init__(
        self,
        region: str,
        *,
        max_attempts: int = 3,
        read_timeout: float = 5.0,
        session: boto3.session.Session | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self._region = region
        self._session = session
        # The product leaves this None (boto3 reads AWS_ENDPOINT_URL itself); the local stack's
        # own tooling names moto explicitly so a developer's environment cannot redirect it.
        self._endpoint_url = endpoint_url
        self._config = Config(
            signature_version="s3v4",
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=2,
            read_timeout=read_timeout,
            s3={"us_east_1_regional_endpoint": "regional"},
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def region(self) -> str:
        return self._region

    def _client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            with self._lock:
                client = self._clients.get(service)
                if client is None:
                    # A private session, used under the lock: boto3's default one is not safe to
                    # build clients from several threads.
                    if self._session is None:
                        self._session = boto3.session.Session(region_name=self._region)
                    client = self._session.client(  # type: ignore[call-overload]
                        service, config=self._config, endpoint_url=self._endpoint_url
                    )
                    self._clients[service] = client
        return client

    def close_connections(self) -> None:
        """Drop every open connection; the clients stay usable and open new ones when next used."""
        with self._lock:
            for client in self._clients.values():
                client.close()

    @property
    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self._client("dynamodb")
        return client

    @property
    def s3(self) -> S3Client:
        client: S3Client = self._client("s3")
        return client

    @property
    def secretsmanager(self) -> SecretsManagerClient:
        client: SecretsManagerClient = self._client("secretsmanager")
        return client

    @property
    def cloudfront(self) -> CloudFrontClient:
        client: CloudFrontClient = self._client("cloudfront")
        return client


@contextmanager
def translate_aws_errors() -> Iterator[None]:
    """Re-raise transient AWS failures as `StorageUnavailable`; anything else propagates."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        if is_transient(error):
            raise StorageUnavailable(f"AWS is unavailable: {error}") from error
        raise
