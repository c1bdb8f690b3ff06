"""The same app through Mangum with API Gateway HTTP API (v2) events, as Lambda runs it."""

from __future__ import annotations

import base64
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from mangum import Mangum

from api.lambda_adapter import LambdaAdapter
from testbed.events import http_api_event, lambda_context
from tests.unit.api.conftest import Pool, Resources, User

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def handler(app: FastAPI) -> Mangum:
    return LambdaAdapter(app, lifespan="off")  # api.main.handler, over this app


def _json(response: dict[str, Any]) -> Any:
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body)


def test_upload_status_list_delete_through_lambda_events(handler: Mangum, alice: User) -> None:
    created = handler(
        http_api_event("POST", "/assets", token=alice.id_token, body={"contentType": "image/png"}),
        lambda_context(),
    )
    assert created["statusCode"] == 201
    assert created["headers"]["content-type"] == "application/json"
    asset_id = _json(created)["asset"]["assetId"]

    status = handler(
        http_api_event("GET", f"/assets/{asset_id}", token=alice.access_token), lambda_context()
    )
    assert status["statusCode"] == 200
    assert _json(status)["asset"]["status"] == "uploading"

    listing = handler(
        http_api_event("GET", "/assets", token=alice.id_token, query="limit=5"), lambda_context()
    )
    assert [asset["assetId"] for asset in _json(listing)["assets"]] == [asset_id]

    deleted = handler(
        http_api_event("DELETE", f"/assets/{asset_id}", token=alice.id_token), lambda_context()
    )
    assert deleted["statusCode"] == 204


def test_the_request_id_is_api_gateways(handler: Mangum, alice: User) -> None:
    event = http_api_event("GET", "/assets", token=alice.id_token)
    response = handler(event, lambda_context())
    assert response["headers"]["x-request-id"] == event["requestContext"]["requestId"]


def test_base64_bodies_are_decoded(handler: Mangum, alice: User) -> None:
    event = http_api_event(
        "POST",
        "/assets",
        token=alice.id_token,
        body={"contentType": "image/jpeg"},
        base64_body=True,
    )
    response = handler(event, lambda_context())
    assert response["statusCode"] == 201
    assert _json(response)["upload"]["fields"]["Content-Type"] == "image/jpeg"


def test_other_users_get_404_through_lambda(handler: Mangum, alice: User, bob: User) -> None:
    created = handler(
        http_api_event("POST", "/assets", token=alice.id_token, body={"contentType": "image/png"}),
        lambda_context(),
    )
    asset_id = _json(created)["asset"]["assetId"]
    for method in ("GET", "DELETE"):
        response = handler(
            http_api_event(method, f"/assets/{asset_id}", token=bob.id_token), lambda_context()
        )
        assert response["statusCode"] == 404
        assert _json(response) == {"error": "asset not found", "code": "not_found"}


@pytest.mark.parametrize("token", [None, "garbage", "a.b.c"])
def test_unauthenticated_lambda_requests_are_401(handler: Mangum, token: str | None) -> None:
    response = handler(http_api_event("GET", "/assets", token=token), lambda_context())
    assert response["statusCode"] == 401
    assert response["headers"]["www-authenticate"].startswith("Bearer")
    assert _json(response)["code"] == "unauthorized"


def test_api_main_exposes_app_and_a_lifespan_off_handler(
    monkeypatch: pytest.MonkeyPatch, pool: Pool, aws: Resources
) -> None:
    env = {
        "ASSETS_TABLE_NAME": aws.table,
        "ASSET_BUCKET_NAME": aws.bucket,
        "ASSET_BASE_URL": "https://cdn.example.test/assets",
        "COGNITO_USER_POOL_ID": pool.pool_id,
        "COGNITO_CLIENT_ID": pool.client_id,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("api.main", None)
    main = importlib.import_module("api.main")
    try:
        assert isinstance(main.app, FastAPI)
        assert isinstance(main.handler, Mangum)
        assert main.handler.lifespan == "off"
        assert main.settings.COGNITO_CLIENT_ID == (pool.client_id,)
        assert main.settings.jwks_url == (
            f"https://cognito-idp.us-east-1.amazonaws.com/{pool.pool_id}/.well-known/jwks.json"
        )
        health = main.handler(http_api_event("GET", "/health"), lambda_context())
        assert health["statusCode"] == 200
        assert main.handler(http_api_event("GET", "/assets"), lambda_context())["statusCode"] == 401
    finally:
        sys.modules.pop("api.main", None)


def test_missing_configuration_fails_at_start_naming_every_variable() -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ASSET", "COGNITO", "MAX_", "UPLOAD_"))
    }
    env["MAX_UPLOAD_BYTES"] = "-1"
    env["PYTHONPATH"] = str(ROOT / "src")
    result = subprocess.run(
        [sys.executable, "-c", "import api.main"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("assets.settings.SettingsError: ApiSettings: invalid environment")
    for name in (
        "ASSETS_TABLE_NAME is required",
        "ASSET_BUCKET_NAME is required",
        "ASSET_BASE_URL is required",
        "COGNITO_USER_POOL_ID is required",
        "COGNITO_CLIENT_ID is required",
        "MAX_UPLOAD_BYTES",
    ):
        assert name in last_line
