"""Reading the local stack's shapes from a template: what is copied, what is refused."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assets.model import OWNER_INDEX_NAME, SOURCE_PREFIX
from local_stack.blueprint import LOCAL_AUTH_FLOWS, derive_blueprint, resolve_value
from local_stack.template import TemplateError, load_template

FIXTURE = Path(__file__).parent / "data" / "template.yaml"


@pytest.fixture(scope="module")
def fixture_template() -> dict[str, Any]:
    return load_template(FIXTURE)


def test_the_table_keys_index_and_ttl_come_from_the_template(
    fixture_template: dict[str, Any],
) -> None:
    table = derive_blueprint(fixture_template).table
    assert table.key_schema == [{"AttributeName": "assetId", "KeyType": "HASH"}]
    assert [index["IndexName"] for index in table.global_secondary_indexes] == [OWNER_INDEX_NAME]
    assert table.global_secondary_indexes[0]["KeySchema"][1] == {
        "AttributeName": "createdAt",
        "KeyType": "RANGE",
    }
    assert table.ttl_attribute == "expiresAt"
    assert table.billing_mode == "PAY_PER_REQUEST"


def test_bucket_queue_and_dead_letter_queue(fixture_template: dict[str, Any]) -> None:
    blueprint = derive_blueprint(fixture_template)
    assert blueprint.bucket.versioned
    assert blueprint.bucket.notification_prefix == SOURCE_PREFIX
    assert blueprint.bucket.notification_events == ["s3:ObjectCreated:*"]
    assert blueprint.bucket.public_access_block == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert (blueprint.queue.visibility_timeout, blueprint.queue.max_receive_count) == (60, 5)
    assert blueprint.dead_letter_queue.message_retention == 1209600


def test_the_worker_and_its_event_source(fixture_template: dict[str, Any]) -> None:
    blueprint = derive_blueprint(fixture_template)
    assert blueprint.worker.handler == "worker.main.handler"
    assert (blueprint.worker.timeout, blueprint.worker.memory_size) == (10, 1024)
    assert blueprint.worker_event.batch_size == 5
    assert blueprint.worker_event.report_batch_item_failures
    assert blueprint.worker_event.maximum_concurrency == 5
    # Globals and the function's own variables are merged, the function's winning.
    assert blueprint.worker.environment["POWERTOOLS_SERVICE_NAME"] == "asset-worker"
    assert blueprint.worker.environment["POWERTOOLS_METRICS_NAMESPACE"] == "PrivateAssetUploads"
    assert blueprint.api.handler == "api.main.handler"
    assert blueprint.api.timeout == 10  # from Globals


def test_the_user_pool_keeps_its_rules_and_the_client_gains_password_sign_in(
    fixture_template: dict[str, Any],
) -> None:
    pool = derive_blueprint(fixture_template).user_pool
    assert pool.create_arguments["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert pool.password_policy["MinimumLength"] == 14
    assert pool.create_arguments["UsernameAttributes"] == ["email"]
    flows = pool.client_arguments["ExplicitAuthFlows"]
    assert flows[:2] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert set(LOCAL_AUTH_FLOWS) <= set(flows)
    assert pool.client_arguments["GenerateSecret"] is False


def mutated(template: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copied = copy.deepcopy(template)
    change(copied["Resources"])
    return copied


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("AssetsQueue"), "no resource AssetsQueue"),
        (
            lambda r: r["AssetsQueue"]["Properties"].update(VisibilityTimeout={"Ref": "Timeout"}),
            "AssetsQueue.VisibilityTimeout must be a literal value",
        ),
        (
            lambda r: r["AssetBucket"]["Properties"]["NotificationConfiguration"][
                "QueueConfigurations"
            ][0]["Filter"]["S3Key"]["Rules"][0].update(Value="uploads/"),
            "must filter on the prefix uploads/originals/",
        ),
        (
            lambda r: r["AssetsQueue"]["Properties"]["RedrivePolicy"].update(
                deadLetterTargetArn={"Fn::GetAtt": ["OtherQueue", "Arn"]}
            ),
            "deadLetterTargetArn",
        ),
        (
            lambda r: r["AssetsTable"]["Properties"]["GlobalSecondaryIndexes"][0].update(
                IndexName="byOwner"
            ),
            "byOwnerCreatedAt",
        ),
        (lambda r: r["WebClient"]["Properties"].update(GenerateSecret=True), "public client"),
        (
            lambda r: r["UserPool"]["Properties"].update(
                AdminCreateUserConfig={"AllowAdminCreateUserOnly": False}
            ),
            "no self sign-up",
        ),
        (
            lambda r: r["WorkerFunction"]["Properties"]["Events"]["AssetsQueueEvent"].update(
                Type="SNS"
            ),
            "Type SQS",
        ),
        (
            lambda r: r["ApiFunction"].update(Type="AWS::Lambda::Function"),
            "AWS::Serverless::Function",
        ),
    ],
)
def test_a_template_the_local_stack_cannot_mirror_is_refused_by_name(
    fixture_template: dict[str, Any], change: Callable[[dict[str, Any]], None], message: str
) -> None:
    with pytest.raises(TemplateError, match=message.replace(".", r"\.")):
        derive_blueprint(mutated(fixture_template, change))


PARAMETERS = {"MaxUploadBytes": 10485760, "Stage": "preview"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("literal", "literal"),
        (300, "300"),
        (True, "true"),
        ({"Ref": "MaxUploadBytes"}, "10485760"),
        ({"Ref": "AWS::Region"}, "eu-west-1"),
        ({"Fn::Sub": "${Stage}-${AWS::Region}"}, "preview-eu-west-1"),
        ({"Ref": "AssetsTable"}, None),
        ({"Fn::Sub": "https://${Distribution.DomainName}/assets"}, None),
        ({"Fn::GetAtt": ["AssetsQueue", "Arn"]}, None),
    ],
)
def test_environment_values_resolve_only_without_a_deploy(value: Any, expected: str | None) -> None:
    assert resolve_value(value, PARAMETERS, "eu-west-1") == expected
