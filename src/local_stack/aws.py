"""boto3 clients for the local stack's own use, bound to moto and its fake credentials.

The product's processes (the API, the worker, the CDN) get their endpoint from boto3's
`AWS_ENDPOINT_URL` like in Lambda. The supervisor and the `users` command instead pass the
endpoint and credentials explicitly, so nothing in the developer's shell (a profile, an
endpoint variable, real keys) can send local provisioning to a real AWS account.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from assets.aws import AwsClients
from local_stack.state import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient


class MotoClients:
    """Clients for one moto endpoint, each built on first use and then reused."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self._endpoint_url = endpoint_url
        self._region = region
        self._session = boto3.session.Session(
            aws_access_key_id=LOCAL_ACCESS_KEY_ID,
            aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
            region_name=region,
        )
        self._config = Config(
            signature_version="s3v4",
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=2,
            read_timeout=30,
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def endpoint_url(self) -> str:
        return self._endpoint_url

    @property
    def region(self) -> str:
        return self._region

    def _client(self, service: str) -> Any:
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                client = self._session.client(
                    service,  # type: ignore[call-overload]
                    endpoint_url=self._endpoint_url,
                    config=self._config,
                )
                self._clients[service] = client
            return client

    @property
    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self._client("dynamodb")
        return client

    @property
    def s3(self) -> S3Client:
        client: S3Client = self._client("s3")
        return client

    @property
    def sqs(self) -> SQSClient:
        client: SQSClient = self._client("sqs")
        return client

    @property
    def cognito(self) -> CognitoIdentityProviderClient:
        client: CognitoIdentityProviderClient = self._client("cognito-idp")
        return client


class LocalAwsClients(AwsClients):
    """The product's client factory (endpoint and credentials from the environment), plus SQS."""

    @property
    def sqs(self) -> SQSClient:
        client: SQSClient = self._client("sqs")
        return client
