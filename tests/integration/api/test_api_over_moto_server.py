"""The API against moto's server over HTTP: a real JWKS fetch, real tokens, a real form upload."""

from __future__ import annotations

import boto3
import httpx
from fastapi.testclient import TestClient

from api.app import create_app
from tests.integration.api.conftest import REGION, Stack, sign_in

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def test_browser_flow_against_moto_server(stack: Stack) -> None:
    # GIVEN a user signed in against Cognito (moto) and the API configured by its settings
    token = sign_in(stack, "dana@example.test")
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
