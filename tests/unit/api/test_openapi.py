"""The OpenAPI document frontends build on: committed, complete, and never stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.errors import ErrorCode
from api.openapi_export import openapi_document, render
from assets.model import RejectionReason

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
        if path.startswith(("/assets", "/albums"))
    }
    assert set(operations) == {
        "createUpload",
        "listAssets",
        "getAsset",
        "updateAsset",
        "deleteAsset",
        "createAlbum",
        "listAlbums",
        "getAlbum",
        "renameAlbum",
        "deleteAlbum",
    }
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for operation in operations.values():
        assert operation["security"] == [{"CognitoBearer": []}]
        assert "422" not in operation["responses"]
        for status in ("401", "503"):
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            assert schema == error_ref
    for name in ("getAsset", "updateAsset", "deleteAsset", "createUpload", "listAssets"):
        assert "404" in operations[name]["responses"], name
    for name in ("getAlbum", "renameAlbum", "deleteAlbum"):
        assert "404" in operations[name]["responses"], name
    assert "429" in operations["createUpload"]["responses"]
    assert "409" in operations["createAlbum"]["responses"]
    health = document["paths"]["/health"]["get"]
    assert "security" not in health


def test_schemas_carry_examples_and_forbid_unknown_fields() -> None:
    schemas = openapi_document()["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["ErrorBody"]["required"] == ["error", "code"]
    request = schemas["CreateUploadRequest"]
    assert request["additionalProperties"] is False
    assert request["example"] == {"contentType": "image/png"}
    for name in ("AssetView", "UploadForm", "ErrorBody", "AlbumView", "UpdateAssetRequest"):
        assert "example" in schemas[name]
    for name in ("UpdateAssetRequest", "AlbumRequest"):
        assert schemas[name]["additionalProperties"] is False


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_error_answers_declare_their_headers() -> None:
    document = openapi_document()
    for where, operation in _operations(document):
        responses = operation["responses"]
        if "security" in operation:
            challenge = responses["401"]["headers"]["WWW-Authenticate"]
            assert challenge["required"] is True, where
            assert challenge["schema"] == {"type": "string"}, where
        for status in ("429", "503"):
            if status in responses:
                retry = responses[status]["headers"]["Retry-After"]
                assert retry["required"] is True, where
                assert retry["schema"]["type"] == "integer", where


def test_codes_and_reasons_are_enums() -> None:
    schemas = openapi_document()["components"]["schemas"]
    assert schemas["ErrorBody"]["properties"]["code"]["$ref"] == "#/components/schemas/ErrorCode"
    assert set(schemas["ErrorCode"]["enum"]) == {code.value for code in ErrorCode}
    assert {
        "invalid_request",
        "invalid_cursor",
        "unauthorized",
        "not_found",
        "too_many_albums",
        "payload_too_large",
        "too_many_pending_uploads",
        "internal_error",
        "service_unavailable",
    } <= set(schemas["ErrorCode"]["enum"])
    error_code = schemas["AssetView"]["properties"]["errorCode"]
    assert error_code["$ref"] == "#/components/schemas/RejectionReason"
    assert set(schemas["RejectionReason"]["enum"]) == {reason.value for reason in RejectionReason}


def _nullable(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(
        _nullable(choice) for choice in schema.get("anyOf", [])
    )


def test_fields_an_answer_omits_are_optional_not_nullable() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]
    answers = [name for name in schemas if name.endswith(("View", "Response", "Form", "Body"))]
    assert {"AssetView", "AlbumView", "AssetListResponse", "AlbumListResponse"} <= set(answers)
    for name in answers:
        for field, schema in schemas[name].get("properties", {}).items():
            assert not _nullable(schema), (name, field)
            assert "default" not in schema or schema["default"] is not None, (name, field)
    view = schemas["AssetView"]
    assert set(view["required"]) == {"assetId", "status", "contentType", "createdAt", "updatedAt"}
    for field in ("url", "fileName", "title", "description", "albumId", "errorCode"):
        assert field in view["properties"], field
    for where, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            if not parameter["required"]:
                assert not _nullable(parameter["schema"]), (where, parameter["name"])


def test_patch_fields_may_be_null_to_clear() -> None:
    schemas = openapi_document()["components"]["schemas"]
    patch = schemas["UpdateAssetRequest"]
    assert patch.get("required", []) == []
    assert patch["minProperties"] == 1
    for field in ("title", "description", "albumId"):
        assert _nullable(patch["properties"][field]), field


def test_text_limits_are_documented() -> None:
    schemas = openapi_document()["components"]["schemas"]

    def text(schema: dict[str, Any]) -> dict[str, Any]:
        choices: list[dict[str, Any]] = schema.get("anyOf", [schema])
        (choice,) = [c for c in choices if c.get("type") == "string"]
        return choice

    upload = schemas["CreateUploadRequest"]["properties"]
    assert text(upload["fileName"])["maxLength"] == 255
    assert text(upload["fileName"])["minLength"] == 1
    assert text(upload["title"])["maxLength"] == 200
    assert text(upload["description"])["maxLength"] == 2000
    assert text(schemas["AlbumRequest"]["properties"]["name"])["maxLength"] == 100
    assert text(schemas["AlbumRequest"]["properties"]["name"])["minLength"] == 1
