"""What a cold start leaves out: a fresh interpreter imports `api.main` without what no request uses.

Speed itself is measured in bench/api_cold_start.py; these pin the cuts that figure depends on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
COMMITTED_DOCUMENT = ROOT / "docs" / "openapi.json"

_PROBE = """
import gc, json, sys
import api.main
from fastapi.openapi import models as openapi_models
from api import schemas
from testbed.events import http_api_event, lambda_context
loaded = sorted(
    name for name in ("pydantic.v1", "pydantic_settings", "jose.jwk", "jose.jws", "jose.backends",
                      "cryptography.x509")
    if sys.modules.get(name) is not None
)
built = sorted(
    model.__name__ for model in (schemas.AssetView, schemas.CreateUploadRequest,
                                 schemas.AssetListResponse) if model.__pydantic_complete__
)
collection = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
from pydantic import BaseModel
class MadeLater(BaseModel):
    x: int
health = api.main.handler(http_api_event("GET", "/health"), lambda_context())
unauthenticated = api.main.handler(http_api_event("GET", "/assets"), lambda_context())
openapi_built_before = [model.__name__ for model in (openapi_models.OpenAPI, openapi_models.Schema,
                        openapi_models.Operation) if model.__pydantic_complete__]
document = api.main.handler(http_api_event("GET", "/openapi.json"), lambda_context())
print(json.dumps({"loaded": loaded, "built": built, "status": [health["statusCode"],
                  unauthenticated["statusCode"], document["statusCode"]],
                  "v1_hidden": "pydantic.v1" in sys.modules and sys.modules["pydantic.v1"] is None,
                  "collection": collection, "made_later_built": MadeLater.__pydantic_complete__,
                  "base_config": dict(BaseModel.model_config),
                  "rebuild": BaseModel.model_rebuild.__func__.__qualname__, "openapi_built_before": openapi_built_before,
                  "openapi_built_after": openapi_models.OpenAPI.__pydantic_complete__,
                  "document": json.loads(document["body"])}))
"""


def test_a_fresh_interpreter_serves_without_the_parts_no_request_uses() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        "AWS_REGION": "us-east-1",
        "ASSETS_TABLE_NAME": "assets",
        "ASSET_BUCKET_NAME": "bucket",
        "ASSET_BASE_URL": "https://cdn.example.test/assets",
        "COGNITO_USER_POOL_ID": "us-east-1_example",
        "COGNITO_CLIENT_ID": "client",
        # Signed delivery, as deployed: the key is read on the first URL, not at import.
        "CLOUDFRONT_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:k",
        "CLOUDFRONT_KEY_PAIR_ID": "K2JCJMDEHXQW5F",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # the app answers: health without a token, 401 without one elsewhere, its document
    assert report["status"] == [200, 401, 200]
    # FastAPI's pydantic v1 probe, pydantic-settings, jose's backend and X.509 are not loaded
    assert report["loaded"] == []
    assert report["v1_hidden"] is True
    # and the API's models are built when a request first needs them, not at import
    assert report["built"] == []
    # FastAPI's OpenAPI models too: built by the first /openapi.json, to the same document
    assert report["openapi_built_before"] == []
    assert report["openapi_built_after"] is True
    assert report["document"] == json.loads(COMMITTED_DOCUMENT.read_text(encoding="utf-8"))
    # and only they: pydantic's defaults are as they were, a model made later is built at once
    assert report["base_config"] == {}
    assert report["rebuild"] == "BaseModel.model_rebuild"
    assert report["made_later_built"] is True
    # collection is on again after the start, and what the start made is out of its sight
    assert report["collection"]["enabled"] is True
    assert report["collection"]["frozen"] > 10_000
