"""The API's SnapStart option: on in production by default, off in a preview, and either way
API Gateway invokes a published version through the `live` alias."""

from __future__ import annotations

import pytest

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


def test_api_gateway_invokes_a_published_version_through_the_alias() -> None:
    # SnapStart snapshots published versions only; SAM points the function's HttpApi events (and
    # their invoke permissions) at the AutoPublishAlias, which sam validate's transform shows.
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
