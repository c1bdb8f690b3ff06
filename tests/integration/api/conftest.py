"""The API's integration tests share one moto server over HTTP: S3, DynamoDB and Cognito."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest

from assets.settings import ApiSettings
from testbed.aws import create_asset_bucket, create_assets_table
from testbed.moto_server import moto_server

REGION = "us-east-1"
PASSWORD = "Correct-Horse-Battery-9"


@dataclass
class Stack:
    endpoint: str
    pool_id: str
    client_id: str
    settings: ApiSettings


@pytest.fixture(scope="package")
def stack() -> Iterator[Stack]:
    with moto_server() as endpoint, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", endpoint)
        create_assets_table(boto3.client("dynamodb", region_name=REGION), "assets")
        create_asset_bucket(boto3.client("s3", region_name=REGION), "asset-bucket")
        cognito = boto3.client("cognito-idp", region_name=REGION)
        pool_id = cognito.create_user_pool(PoolName="users", UsernameAttributes=["email"])[
            "UserPool"
        ]["Id"]
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        settings = ApiSettings(
            AWS_REGION=REGION,
            ASSETS_TABLE_NAME="assets",
            ASSET_BUCKET_NAME="asset-bucket",
            ASSET_BASE_URL="http://127.0.0.1:9/assets",
            ASSET_DELIVERY="public",
            COGNITO_USER_POOL_ID=pool_id,
            COGNITO_CLIENT_ID=(client_id,),
            COGNITO_JWKS_URL=f"{endpoint}/{pool_id}/.well-known/jwks.json",
        )
        yield Stack(endpoint, pool_id, client_id, settings)


def sign_in(stack: Stack, email: str) -> str:
    """A new user of the pool, signed in with a password: their ID token."""
    cognito = boto3.client("cognito-idp", region_name=REGION)
    cognito.admin_create_user(
        UserPoolId=stack.pool_id,
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(
        UserPoolId=stack.pool_id, Username=email, Password=PASSWORD, Permanent=True
    )
    result = cognito.initiate_auth(
        ClientId=stack.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )
    token: str = result["AuthenticationResult"]["IdToken"]
    return token
