"""The API's SnapStart option: on in production by default, off in a preview, and either way
API Gateway invokes a published version through the `live` alias."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from tests.unit.template.cfn import PREVIEW, PRODUCTION, Stack, properties, template


def _applies(stack: Stack) -> str:
    snap_start: dict[str, str] = stack.resolve(properties("ApiFunction")["SnapStart"])
    return snap_start["ApplyOn"]


def test_snapstart_is_a_parameter_on_in_production_by_default() -> None:
    parameter = template()["Parameters"]["ApiSnapStart"]
    assert parameter["AllowedValues"] == ["auto", "enabled", "disabled"]
    assert parameter["Default"] == "auto"
    assert _applies(PRODUCTION) == "PublishedVersions"
    assert _applies(PREVIEW) == "None"


@pytest.mark.parametrize(
    ("environment", "choice", "applies"),
    [
        ("production", "disabled", "None"),
        ("preview", "enabled", "PublishedVersions"),
        ("production", "enabled", "PublishedVersions"),
        ("preview", "disabled", "None"),
    ],
)
def test_the_parameter_overrides_the_environment(
    environment: str, choice: str, applies: str
) -> None:
    assert _applies(Stack.for_environment(environment, ApiSnapStart=choice)) == applies


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def _sam_transform(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The template as SAM's own transform turns it into CloudFormation (offline)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    document = copy.deepcopy(template())
    document["Transform"] = (
        "AWS::Serverless-2016-10-31"  # LanguageExtensions runs in CloudFormation
    )
    document["Globals"]["Function"]["CodeUri"] = (
        "s3://bucket/bundle.zip"  # what `sam package` writes
    )
    transformed: dict[str, Any] = transform(
        document, {"Environment": "production"}, _NoManagedPolicies()
    )
    return transformed


def test_sam_points_every_route_and_permission_at_the_alias(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resources = _sam_transform(monkeypatch)["Resources"]
    (alias,) = (name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Alias")
    assert resources[alias]["Properties"]["Name"] == "live"
    paths = resources["HttpApi"]["Properties"]["Body"]["paths"]
    uris = [
        operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        for item in paths.values()
        for operation in item.values()
    ]
    routes = len(properties("ApiFunction")["Events"])
    assert routes >= 5  # the asset routes, albums and the health check
    assert len(uris) == routes
    assert all(f"${{{alias}}}/invocations" in uri for uri in uris)
    permissions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    api_permissions = [
        p for p in permissions if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    assert len(api_permissions) == routes
    assert all(p["Properties"]["FunctionName"] == {"Ref": alias} for p in api_permissions)


def test_api_gateway_invokes_a_published_version_through_the_alias() -> None:
    # SnapStart snapshots published versions only; SAM points the function's HttpApi events (and
    # their invoke permissions) at the AutoPublishAlias (the transform test above).
    api = properties("ApiFunction")
    assert api["AutoPublishAlias"] == "live"
    # A new version (and snapshot) for any property change: the environment is in the snapshot.
    assert api["AutoPublishAliasAllProperties"] is True
    events = api["Events"]
    assert events
    assert all(event["Type"] == "HttpApi" for event in events.values())
    # The worker is invoked by SQS with unpublished code; SnapStart is the API's alone.
    worker = properties("WorkerFunction")
    assert "SnapStart" not in worker
    assert "AutoPublishAlias" not in worker
