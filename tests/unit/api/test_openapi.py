"""The OpenAPI document frontends build on: committed, complete, and never stale."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from api.openapi_export import openapi_document, render

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def test_committed_document_matches_the_app() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "docs/openapi.json is stale: run `make openapi` and commit the result"
    )


def test_served_document_is_the_same(client: TestClient) -> None:
    served = client.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(COMMITTED.read_text(encoding="utf-8"))
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_every_asset_operation_requires_the_bearer_scheme_and_documents_errors() -> None:
    document = openapi_document()
    scheme = document["components"]["securitySchemes"]["CognitoBearer"]
    assert scheme == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": scheme["description"],
    }
    operations = {
        operation["operationId"]: operation
        for path, item in document["paths"].items()
        for operation in item.values()
        if path.startswith("/assets")
    }
    assert set(operations) == {"createUpload", "listAssets", "getAsset", "deleteAsset"}
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for operation in operations.values():
        assert operation["security"] == [{"CognitoBearer": []}]
        assert "422" not in operation["responses"]
        for status in ("401", "503"):
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            assert schema == error_ref
    assert "404" in operations["getAsset"]["responses"]
    assert "429" in operations["createUpload"]["responses"]
    health = document["paths"]["/health"]["get"]
    assert "security" not in health


def test_schemas_carry_examples_and_forbid_unknown_fields() -> None:
    schemas = openapi_document()["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["ErrorBody"]["required"] == ["error", "code"]
    request = schemas["CreateUploadRequest"]
    assert request["additionalProperties"] is False
    assert request["example"] == {"contentType": "image/png"}
    for name in ("AssetView", "UploadForm", "ErrorBody"):
        assert "example" in schemas[name]
