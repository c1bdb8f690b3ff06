"""The API against moto's server over HTTP: a real JWKS fetch, real tokens, a real form upload."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from assets.settings import ApiSettings
from testbed.aws import create_asset_bucket, create_assets_table
from testbed.moto_server import moto_server

REGION = "us-east-1"
PASSWORD = "Correct-Horse-Battery-9"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


@dataclass
class Stack:
    endpoint: str
    pool_id: str
    client_id: str
    settings: ApiSettings


@pytest.fixture(scope="module")
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
            COGNITO_USER_POOL_ID=pool_id,
            COGNITO_CLIENT_ID=(client_id,),
            COGNITO_JWKS_URL=f"{endpoint}/{pool_id}/.well-known/jwks.json",
        )
        yield Stack(endpoint, pool_id, client_id, settings)


def _token(stack: Stack, email: str) -> str:
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


def test_browser_flow_against_moto_server(stack: Stack) -> None:
    # GIVEN a user signed in against Cognito (moto) and the API configured by its settings
    token = _token(stack, "dana@example.test")
    app = create_app(stack.settings)
    with TestClient(app) as client:
        # WHEN she asks for a form, her token is verified against the JWKS fetched over HTTP
        created = client.post(
            "/assets",
            json={"contentType": "image/png"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201, created.text
        upload = created.json()["upload"]
        asset_id = created.json()["asset"]["assetId"]
        # AND the form targets the configured endpoint, path-style
        assert upload["url"] == f"{stack.endpoint}/asset-bucket"

        # WHEN the browser posts the file with the form (fields first, file last)
        response = httpx.post(
            upload["url"],
            data=upload["fields"],
            files={"file": ("photo.png", PNG, "image/png")},
            timeout=10,
        )
        # THEN S3 stores exactly those bytes under the server's key and type
        assert response.status_code == 204, response.text
        stored = boto3.client("s3", region_name=REGION).get_object(
            Bucket="asset-bucket", Key=f"uploads/originals/{asset_id}.png"
        )
        assert stored["Body"].read() == PNG
        assert stored["ContentType"] == "image/png"

        status = client.get(f"/assets/{asset_id}", headers={"Authorization": f"Bearer {token}"})
        assert status.json()["asset"]["status"] == "uploading"
        assert app.state.verifier.jwks.fetch_count == 1
