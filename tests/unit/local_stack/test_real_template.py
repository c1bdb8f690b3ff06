"""The real template.yaml: the local stack can mirror it, and mirrors what the code relies on."""

from __future__ import annotations

import pytest

from assets.model import OWNER_INDEX_NAME, SOURCE_PREFIX
from assets.settings import ApiSettings, WorkerSettings
from local_stack.blueprint import Blueprint, derive_blueprint
from local_stack.environment import (
    api_overrides,
    function_environment,
    local_timings,
    worker_overrides,
)
from local_stack.provision import Provisioned
from local_stack.template import load_template

PROVISIONED = Provisioned(
    table_name="local-assets",
    bucket_name="local-asset-bucket",
    queue_url="http://127.0.0.1:8702/123456789012/local-assets-queue",
    queue_arn="arn:aws:sqs:us-east-1:123456789012:local-assets-queue",
    dead_letter_queue_url="http://127.0.0.1:8702/123456789012/local-assets-dlq",
    dead_letter_queue_arn="arn:aws:sqs:us-east-1:123456789012:local-assets-dlq",
    user_pool_id="us-east-1_local",
    user_pool_client_id="localclient",
)


@pytest.fixture(scope="module")
def blueprint() -> Blueprint:
    return derive_blueprint(load_template())


def test_the_real_template_has_every_shape_the_local_stack_copies(blueprint: Blueprint) -> None:
    assert {"AttributeName": "assetId", "KeyType": "HASH"} in blueprint.table.key_schema
    assert [index["IndexName"] for index in blueprint.table.global_secondary_indexes] == [
        OWNER_INDEX_NAME
    ]
    assert blueprint.table.ttl_attribute == "expiresAt"
    assert blueprint.bucket.versioned
    assert blueprint.bucket.notification_prefix == SOURCE_PREFIX
    assert blueprint.worker.handler == "worker.main.handler"
    assert blueprint.api.handler == "api.main.handler"
    assert blueprint.worker_event.report_batch_item_failures
    assert (
        blueprint.user_pool.create_arguments["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"]
        is True
    )


def test_the_local_timings_keep_the_templates_proportions(blueprint: Blueprint) -> None:
    timings = local_timings(blueprint, "us-east-1", 30)
    assert timings.worker_timeout < timings.lease_seconds <= timings.visibility_timeout
    template = local_timings(blueprint, "us-east-1", None)
    assert template.worker_timeout < template.lease_seconds <= template.visibility_timeout


def test_the_api_gets_every_template_variable_and_every_required_setting(
    blueprint: Blueprint,
) -> None:
    environment, skipped = function_environment(
        blueprint.api,
        blueprint,
        region="us-east-1",
        overrides=api_overrides(
            PROVISIONED,
            asset_base_url="http://127.0.0.1:8700/assets",
            jwks_url="http://127.0.0.1:8702/us-east-1_local/.well-known/jwks.json",
            cors_origins=["http://127.0.0.1:8700"],
        ),
    )
    # Nothing the template sets is silently dropped ...
    assert skipped == []
    assert set(blueprint.api.environment) - {"AWS_ENDPOINT_URL"} <= set(environment)
    # ... and the settings load from it, as they would in Lambda.
    settings = ApiSettings.model_validate({**environment, "AWS_REGION": "us-east-1"})
    assert settings.ASSETS_TABLE_NAME == "local-assets"
    assert settings.CORS_ALLOW_ORIGINS == ("http://127.0.0.1:8700",)


def test_the_worker_gets_every_template_variable_and_the_scaled_lease(blueprint: Blueprint) -> None:
    timings = local_timings(blueprint, "us-east-1", 30)
    environment, skipped = function_environment(
        blueprint.worker,
        blueprint,
        region="us-east-1",
        overrides=worker_overrides(PROVISIONED, timings),
    )
    assert skipped == []
    assert set(blueprint.worker.environment) - {"AWS_ENDPOINT_URL"} <= set(environment)
    settings = WorkerSettings.model_validate({**environment, "AWS_REGION": "us-east-1"})
    assert settings.LEASE_SECONDS == timings.lease_seconds
