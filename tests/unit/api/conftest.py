"""The API under test: the real app over moto's DynamoDB, S3 and Cognito, in-process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from moto import mock_aws

from api.app import create_app
from api.security import CognitoTokenVerifier, JwksCache
from assets.aws import AwsClients
from assets.settings import ApiSettings
from testbed.aws import create_asset_bucket, create_assets_table
from testbed.tokens import TokenForge, moto_public_jwks

REGION = "us-east-1"
BASE_URL = "https://cdn.example.test/assets"
JWKS_URL = "https://jwks.example.test/pool/.well-known/jwks.json"
PASSWORD = "Correct-Horse-Battery-9"


@dataclass
class Pool:
    pool_id: str
    client_id: str
    other_client_id: str


@dataclass
class User:
    email: str
    sub: str
    id_token: str
    access_token: str

    def auth(self, kind: str = "id") -> dict[str, str]:
        token = self.id_token if kind == "id" else self.access_token
        return {"Authorization": f"Bearer {token}"}


@dataclass
class JwksServer:
    """Serves moto's public JWKS through httpx, counting fetches."""

    fetches: int = 0
    fail: bool = False
    document: dict[str, Any] = field(default_factory=moto_public_jwks)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        if self.fail:
            return httpx.Response(503)
        return httpx.Response(200, json=self.document)


@dataclass(frozen=True)
class Resources:
    table: str
    bucket: str


@pytest.fixture(scope="package")
def _moto() -> Iterator[None]:
    # One mock for the package: moto's Cognito takes ~0.3 s to create a pool, so the pool and its
    # users are shared, while every test gets a table and bucket of its own.
    with mock_aws():
        yield


@pytest.fixture
def aws(_moto: None) -> Resources:
    suffix = uuid.uuid4().hex[:12]
    resources = Resources(table=f"assets-{suffix}", bucket=f"assets-{suffix}")
    create_assets_table(boto3.client("dynamodb", region_name=REGION), resources.table)
    create_asset_bucket(boto3.client("s3", region_name=REGION), resources.bucket)
    return resources


@pytest.fixture(scope="package")
def pool(_moto: None) -> Pool:
    cognito = boto3.client("cognito-idp", region_name=REGION)
    pool_id = cognito.create_user_pool(PoolName="users", UsernameAttributes=["email"])["UserPool"][
        "Id"
    ]
    flows: Any = ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=flows
    )["UserPoolClient"]["ClientId"]
    other = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="other", ExplicitAuthFlows=flows
    )["UserPoolClient"]["ClientId"]
    return Pool(pool_id, client_id, other)


def sign_in(pool: Pool, email: str, client_id: str | None = None) -> User:
    """A real user in moto's Cognito, and the tokens it issues to them."""
    cognito = boto3.client("cognito-idp", region_name=REGION)
    try:
        cognito.admin_create_user(
            UserPoolId=pool.pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(
            UserPoolId=pool.pool_id, Username=email, Password=PASSWORD, Permanent=True
        )
    except cognito.exceptions.UsernameExistsException:
        pass
    result = cognito.admin_initiate_auth(
        UserPoolId=pool.pool_id,
        ClientId=client_id or pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    sub = next(
        attribute["Value"]
        for attribute in cognito.admin_get_user(UserPoolId=pool.pool_id, Username=email)[
            "UserAttributes"
        ]
        if attribute["Name"] == "sub"
    )
    return User(email, sub, result["IdToken"], result["AccessToken"])


@pytest.fixture(scope="package")
def alice(pool: Pool) -> User:
    return sign_in(pool, "alice@example.test")


@pytest.fixture(scope="package")
def bob(pool: Pool) -> User:
    return sign_in(pool, "bob@example.test")


@pytest.fixture
def forge(pool: Pool) -> TokenForge:
    return TokenForge(REGION, pool.pool_id, pool.client_id)


def make_settings(pool: Pool, resources: Resources, **overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "AWS_REGION": REGION,
        "ASSETS_TABLE_NAME": resources.table,
        "ASSET_BUCKET_NAME": resources.bucket,
        "ASSET_BASE_URL": BASE_URL,
        "COGNITO_USER_POOL_ID": pool.pool_id,
        "COGNITO_CLIENT_ID": pool.client_id,
        "COGNITO_JWKS_URL": JWKS_URL,
    }
    values.update(overrides)
    return ApiSettings(**values)


@pytest.fixture
def settings(pool: Pool, aws: Resources) -> ApiSettings:
    return make_settings(pool, aws)


@pytest.fixture
def jwks_server() -> JwksServer:
    return JwksServer()


@pytest.fixture(scope="package")
def clients(_moto: None) -> AwsClients:
    return AwsClients(REGION)


def build_app(
    settings: ApiSettings, jwks_server: JwksServer, clients: AwsClients, **kwargs: Any
) -> FastAPI:
    http = httpx.Client(transport=httpx.MockTransport(jwks_server.handle))
    verifier = CognitoTokenVerifier(
        issuer=settings.cognito_issuer,
        client_ids=settings.COGNITO_CLIENT_ID,
        jwks=JwksCache(settings.jwks_url, http=http),
    )
    return create_app(settings, clients=clients, verifier=verifier, **kwargs)


@pytest.fixture
def app(settings: ApiSettings, jwks_server: JwksServer, clients: AwsClients) -> FastAPI:
    return build_app(settings, jwks_server, clients)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
