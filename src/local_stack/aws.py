"""boto3 clients for the local stack's own use, bound to moto and its fake credentials.

The product's processes (the API, the worker, the CDN) get their endpoint from boto3's
`AWS_ENDPOINT_URL` like in Lambda. The supervisor and the `users` command instead pass the
endpoint and credentials explicitly, so nothing in the developer's shell (a profile, an
endpoint variable, real keys) can send local provisioning to a real AWS account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3

from assets.aws import AwsClients
from local_stack.state import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_sqs import SQSClient


class LocalAwsClients(AwsClients):
    """The product's client factory (endpoint and credentials from the environment), plus SQS
    and Cognito, which only the local stack's own tooling calls."""

    @property
    def sqs(self) -> SQSClient:
        client: SQSClient = self._client("sqs")
        return client

    @property
    def cognito(self) -> CognitoIdentityProviderClient:
        client: CognitoIdentityProviderClient = self._client("cognito-idp")
        return client


class MotoClients(LocalAwsClients):
    """Clients for one moto endpoint with the local stack's fake credentials, whatever the shell has."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        session = boto3.session.Session(
            aws_access_key_id=LOCAL_ACCESS_KEY_ID,
            aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
            region_name=region,
        )
        super().__init__(region, read_timeout=30, session=session, endpoint_url=endpoint_url)
        self.endpoint_url = endpoint_url
