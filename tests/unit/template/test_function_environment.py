"""Each function's environment in template.yaml against the settings class it is read into."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assets.settings import ApiSettings, AssetSettings, WorkerSettings, load_settings
from local_stack.template import TEMPLATE_PATH
from tests.unit.template.cfn import function, properties, template

FUNCTIONS: dict[str, type[AssetSettings]] = {
    "ApiFunction": ApiSettings,
    "WorkerFunction": WorkerSettings,
}
SET_BY_LAMBDA = frozenset({"AWS_REGION"})
"""Reserved: the runtime sets it, a template may not."""
DECLARED_EMPTY = frozenset({"AWS_ENDPOINT_URL", "COGNITO_JWKS_URL", "CORS_ALLOW_ORIGINS"})
"""Declared with "" so `sam local --env-vars` can set them; empty must mean the deployed default."""
ENV_JSON = TEMPLATE_PATH.parent / "env.json"


def variables(logical_id: str) -> dict[str, Any]:
    """What SAM gives the function: Globals' variables, then the function's own."""
    merged: dict[str, Any] = function(logical_id)["Environment"]["Variables"]
    return merged


@pytest.mark.parametrize(("logical_id", "settings"), FUNCTIONS.items())
def test_every_setting_is_set_and_nothing_unknown_is(
    logical_id: str, settings: type[AssetSettings]
) -> None:
    # GIVEN the names the function's settings class reads
    fields = set(settings.model_fields)
    declared = set(variables(logical_id))
    # THEN every one of them is in the template, except the runtime's own ...
    assert declared >= fields - SET_BY_LAMBDA, (
        f"{logical_id} lacks {fields - SET_BY_LAMBDA - declared}"
    )
    assert not declared & SET_BY_LAMBDA, "Lambda reserves AWS_REGION"
    # ... and the template sets nothing the code does not read (besides Powertools' and boto3's)
    unknown = {
        name
        for name in declared - fields
        if not name.startswith("POWERTOOLS_") and name != "AWS_ENDPOINT_URL"
    }
    assert not unknown, f"{logical_id} sets variables nothing reads: {unknown}"


@pytest.mark.parametrize(("logical_id", "settings"), FUNCTIONS.items())
def test_the_template_values_are_valid_settings(
    logical_id: str, settings: type[AssetSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the function's variables, with values only a deploy knows replaced by examples
    deployed = {
        "ASSETS_TABLE_NAME": "stack-AssetsTable-1ABC",
        "ASSET_BUCKET_NAME": "asset-uploads-pr-1-123456789012-eu-west-1",
        "ASSET_BASE_URL": "https://d111111abcdef8.cloudfront.net/assets",
        "COGNITO_USER_POOL_ID": "eu-west-1_AbCdEf123",
        "COGNITO_CLIENT_ID": "1example23456789",
    }
    for name, value in variables(logical_id).items():
        monkeypatch.setenv(name, deployed[name] if isinstance(value, dict) else str(value))
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    # WHEN the function loads its settings as it does at cold start
    loaded = load_settings(settings)
    # THEN they validate, and the declared-empty ones fall back to the deployed behaviour
    assert loaded.MAX_UPLOAD_BYTES == 10 * 1024 * 1024
    if isinstance(loaded, ApiSettings):
        assert loaded.jwks_url == (
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123/.well-known/jwks.json"
        )
        assert loaded.CORS_ALLOW_ORIGINS == ()
        assert loaded.ASSET_BASE_URL == deployed["ASSET_BASE_URL"]
        assert loaded.COGNITO_CLIENT_ID == (deployed["COGNITO_CLIENT_ID"],)
    if isinstance(loaded, WorkerSettings):
        assert loaded.PUBLISH_MODE == "sanitized"
        assert loaded.LEASE_SECONDS > properties(logical_id)["Timeout"]


def test_declared_empty_variables_are_empty_in_the_deployed_stack() -> None:
    for logical_id in FUNCTIONS:
        for name, value in variables(logical_id).items():
            if name in DECLARED_EMPTY:
                assert value == "", f"{logical_id}.{name} must stay empty in AWS"


def test_shared_limits_are_one_value_for_both_functions() -> None:
    globals_variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    shared = set(AssetSettings.model_fields) - {"AWS_REGION"}
    assert shared <= set(globals_variables), "shared settings belong in Globals, set once"
    for logical_id in FUNCTIONS:
        own = properties(logical_id).get("Environment", {}).get("Variables", {})
        assert not shared & set(own), f"{logical_id} overrides a shared setting"


def test_api_environment_points_at_the_stacks_own_resources() -> None:
    api = variables("ApiFunction")
    assert api["ASSETS_TABLE_NAME"] == {"Ref": "AssetsTable"}
    assert api["ASSET_BUCKET_NAME"] == {"Ref": "AssetBucket"}
    assert api["ASSET_BASE_URL"] == {"Fn::Sub": "https://${Distribution.DomainName}/assets"}
    assert api["COGNITO_USER_POOL_ID"] == {"Ref": "UserPool"}
    assert api["COGNITO_CLIENT_ID"] == {"Ref": "WebClient"}
    assert api["POWERTOOLS_SERVICE_NAME"] == "asset-api"
    assert variables("WorkerFunction")["POWERTOOLS_SERVICE_NAME"] == "asset-worker"
    assert api["POWERTOOLS_METRICS_NAMESPACE"] == "PrivateAssetUploads"


def test_env_json_sets_only_variables_the_template_declares() -> None:
    # sam local silently ignores a value for a variable the function does not declare.
    document = json.loads(Path(ENV_JSON).read_text(encoding="utf-8"))
    functions = {key: value for key, value in document.items() if not key.startswith("_")}
    assert set(functions) == set(FUNCTIONS)
    for logical_id, values in functions.items():
        undeclared = set(values) - set(variables(logical_id))
        assert not undeclared, f"env.json sets {undeclared} that {logical_id} does not declare"
        assert values["AWS_ENDPOINT_URL"].startswith("http://"), "points at the local stack"
