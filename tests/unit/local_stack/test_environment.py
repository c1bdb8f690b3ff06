"""The environment and time limits each local process gets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from local_stack.blueprint import Blueprint, derive_blueprint
from local_stack.environment import (
    api_overrides,
    base_environment,
    function_environment,
    local_timings,
    worker_overrides,
)
from local_stack.provision import Provisioned
from local_stack.template import load_template

FIXTURE = Path(__file__).parent / "data" / "template.yaml"
PROVISIONED = Provisioned(
    table_name="local-assets",
    bucket_name="local-asset-bucket",
    queue_url="http://127.0.0.1:1/123456789012/q",
    queue_arn="arn:aws:sqs:us-east-1:123456789012:q",
    dead_letter_queue_url="http://127.0.0.1:1/123456789012/dlq",
    dead_letter_queue_arn="arn:aws:sqs:us-east-1:123456789012:dlq",
    user_pool_id="us-east-1_abc",
    user_pool_client_id="client123",
)


@pytest.fixture(scope="module")
def blueprint() -> Blueprint:
    return derive_blueprint(load_template(FIXTURE))


def test_the_template_timings_are_kept_when_asked(blueprint: Blueprint) -> None:
    timings = local_timings(blueprint, "us-east-1", None)
    assert (timings.visibility_timeout, timings.worker_timeout, timings.lease_seconds) == (
        60,
        10,
        40,
    )
    assert not timings.scaled


def test_a_shorter_visibility_timeout_scales_timeout_and_lease_with_it(
    blueprint: Blueprint,
) -> None:
    # GIVEN the fixture's 60 s visibility, 10 s timeout, 40 s lease, halved locally
    timings = local_timings(blueprint, "us-east-1", 30)
    # THEN all three halve, and the lease still outlasts an invocation and ends before a retry
    assert (timings.visibility_timeout, timings.worker_timeout, timings.lease_seconds) == (
        30,
        5,
        20,
    )
    assert timings.worker_timeout < timings.lease_seconds <= timings.visibility_timeout
    assert "template: 60s / 10s / 40s" in timings.describe()


@pytest.mark.parametrize("visibility", [10, 12, 17, 30, 45, 59, 120, 600])
def test_scaled_timings_always_keep_their_order(blueprint: Blueprint, visibility: int) -> None:
    timings = local_timings(blueprint, "us-east-1", visibility)
    assert 1 <= timings.worker_timeout < timings.lease_seconds <= timings.visibility_timeout
    assert timings.lease_seconds >= 5  # WorkerSettings.LEASE_SECONDS' own minimum


def test_the_developers_aws_settings_never_reach_a_child() -> None:
    # GIVEN a shell with a real profile, a service endpoint and product settings exported
    parent = {
        "PATH": "/usr/bin",
        "HOME": "/home/dev",
        "AWS_PROFILE": "production",
        "AWS_ACCESS_KEY_ID": "AKIAREAL",
        "AWS_ENDPOINT_URL_S3": "https://s3.eu-west-1.amazonaws.com",
        "ASSETS_TABLE_NAME": "prod-table",
        "POWERTOOLS_SERVICE_NAME": "prod",
        "PYTHONPATH": "/extra",
    }
    environment = base_environment(parent, region="us-east-1", endpoint_url="http://127.0.0.1:8702")
    # THEN only moto and the fake credentials are configured
    assert environment["AWS_ENDPOINT_URL"] == "http://127.0.0.1:8702"
    assert environment["AWS_ACCESS_KEY_ID"] == "local-access-key"
    assert environment["AWS_CONFIG_FILE"] == os.devnull
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL_S3",
        "ASSETS_TABLE_NAME",
        "POWERTOOLS_SERVICE_NAME",
    ):
        assert name not in environment
    assert environment["PATH"] == "/usr/bin"
    assert environment["PYTHONPATH"].endswith(os.pathsep + "/extra")


def test_the_api_gets_the_templates_literals_and_the_local_resources(blueprint: Blueprint) -> None:
    overrides = api_overrides(
        PROVISIONED,
        asset_base_url="http://127.0.0.1:8700/assets",
        jwks_url="http://127.0.0.1:8702/us-east-1_abc/.well-known/jwks.json",
        cors_origins=["http://127.0.0.1:8700", "http://localhost:8700"],
    )
    environment, skipped = function_environment(
        blueprint.api, blueprint, region="us-east-1", overrides=overrides
    )
    assert environment["POWERTOOLS_SERVICE_NAME"] == "asset-api"
    assert environment["MAX_UPLOAD_BYTES"] == "10485760"  # !Ref to a parameter's default
    assert environment["UPLOAD_FORM_TTL_SECONDS"] == "300"
    assert environment["STAGE_LABEL"] == "preview-us-east-1"
    assert environment["ASSET_BASE_URL"] == "http://127.0.0.1:8700/assets"
    assert environment["COGNITO_CLIENT_ID"] == "client123"
    assert environment["CORS_ALLOW_ORIGINS"] == "http://127.0.0.1:8700,http://localhost:8700"
    assert skipped == []


def test_a_value_only_a_deploy_can_compute_is_reported(blueprint: Blueprint) -> None:
    environment, skipped = function_environment(
        blueprint.api, blueprint, region="us-east-1", overrides={}
    )
    assert "ASSET_BASE_URL" not in environment
    assert any("ASSET_BASE_URL is computed at deploy time" in note for note in skipped)


def test_the_worker_gets_the_scaled_lease(blueprint: Blueprint) -> None:
    timings = local_timings(blueprint, "us-east-1", 30)
    environment, _ = function_environment(
        blueprint.worker,
        blueprint,
        region="us-east-1",
        overrides=worker_overrides(PROVISIONED, timings),
    )
    assert environment["LEASE_SECONDS"] == "20"
    assert environment["PUBLISH_MODE"] == "sanitized"
    assert environment["ASSETS_TABLE_NAME"] == "local-assets"


def test_template_aws_variables_cannot_undo_the_stacks_endpoint(blueprint: Blueprint) -> None:
    blueprint.api.environment["AWS_ENDPOINT_URL"] = ""
    try:
        environment, _ = function_environment(
            blueprint.api, blueprint, region="us-east-1", overrides={}
        )
    finally:
        del blueprint.api.environment["AWS_ENDPOINT_URL"]
    assert "AWS_ENDPOINT_URL" not in environment
