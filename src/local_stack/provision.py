"""Create the template's resources in moto: table, bucket, queues, user pool, client and users."""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from local_stack.blueprint import Blueprint
from local_stack.cloudfront import LocalSigningKey, provision_signing_key

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

    from local_stack.aws import MotoClients

COGNITO_SYMBOLS = "!@%+-=_"
"""Symbols Cognito accepts that also survive a shell, a URL and JSON without quoting."""


@dataclass(frozen=True, slots=True)
class ResourceNames:
    """Local physical names; the deployed ones are CloudFormation's, so only the shapes match."""

    table: str = "local-assets"
    bucket: str = "local-asset-bucket"
    queue: str = "local-assets-queue"
    dead_letter_queue: str = "local-assets-dlq"
    user_pool: str = "local-users"
    client: str = "local-web-client"


@dataclass(frozen=True, slots=True)
class Provisioned:
    """What provisioning created, by the identifiers the processes are configured with."""

    table_name: str
    bucket_name: str
    queue_url: str
    queue_arn: str
    dead_letter_queue_url: str
    dead_letter_queue_arn: str
    user_pool_id: str
    user_pool_client_id: str
    signing_key: LocalSigningKey
    """The template's AssetsSigningKeySecret and AssetsPublicKey (local_stack.cloudfront)."""


def provision(
    clients: MotoClients,
    blueprint: Blueprint,
    *,
    visibility_timeout: int,
    names: ResourceNames | None = None,
) -> Provisioned:
    """Create every resource the product uses, shaped as the template shapes it."""
    names = names or ResourceNames()
    _create_table(clients, blueprint, names.table)
    dlq_url, dlq_arn = _create_queue(
        clients,
        names.dead_letter_queue,
        {"MessageRetentionPeriod": str(blueprint.dead_letter_queue.message_retention)},
    )
    queue_attributes = {
        "VisibilityTimeout": str(visibility_timeout),
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": blueprint.queue.max_receive_count}
        ),
    }
    if blueprint.queue.message_retention is not None:
        queue_attributes["MessageRetentionPeriod"] = str(blueprint.queue.message_retention)
    queue_url, queue_arn = _create_queue(clients, names.queue, queue_attributes)
    _create_bucket(clients, blueprint, names.bucket, queue_arn)
    pool_id, client_id = _create_user_pool(clients, blueprint, names)
    signing_key = provision_signing_key(clients.secretsmanager)
    return Provisioned(
        table_name=names.table,
        bucket_name=names.bucket,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dead_letter_queue_url=dlq_url,
        dead_letter_queue_arn=dlq_arn,
        user_pool_id=pool_id,
        user_pool_client_id=client_id,
        signing_key=signing_key,
    )


def _create_table(clients: MotoClients, blueprint: Blueprint, name: str) -> None:
    table = blueprint.table
    arguments: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": table.attribute_definitions,
        "KeySchema": table.key_schema,
        "BillingMode": table.billing_mode,
    }
    if table.global_secondary_indexes:
        arguments["GlobalSecondaryIndexes"] = table.global_secondary_indexes
    if table.billing_mode == "PROVISIONED":
        arguments["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    clients.dynamodb.create_table(**arguments)
    if table.ttl_attribute:
        clients.dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": table.ttl_attribute, "Enabled": True},
        )


def _create_queue(clients: MotoClients, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    url = clients.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
    arn = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def _create_bucket(clients: MotoClients, blueprint: Blueprint, name: str, queue_arn: str) -> None:
    bucket = blueprint.bucket
    s3 = clients.s3
    if clients.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": clients.region},  # type: ignore[typeddict-item]
        )
    if bucket.public_access_block:
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration=bucket.public_access_block,  # type: ignore[arg-type]
        )
    if bucket.versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    queue_configuration: Any = {
        "Id": "uploads-to-queue",
        "QueueArn": queue_arn,
        "Events": bucket.notification_events,
        "Filter": {
            "Key": {"FilterRules": [{"Name": "prefix", "Value": bucket.notification_prefix}]}
        },
    }
    s3.put_bucket_notification_configuration(
        Bucket=name, NotificationConfiguration={"QueueConfigurations": [queue_configuration]}
    )


def _create_user_pool(
    clients: MotoClients, blueprint: Blueprint, names: ResourceNames
) -> tuple[str, str]:
    spec = blueprint.user_pool
    pool = clients.cognito.create_user_pool(PoolName=names.user_pool, **spec.create_arguments)
    pool_id = pool["UserPool"]["Id"]
    client = clients.cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName=names.client, **spec.client_arguments
    )
    return pool_id, client["UserPoolClient"]["ClientId"]


def create_user(
    cognito: CognitoIdentityProviderClient, user_pool_id: str, email: str, password: str
) -> None:
    """An operator-provisioned user, as production does it: no invitation, verified e-mail."""
    cognito.admin_create_user(
        UserPoolId=user_pool_id,
        Username=email,
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
        ],
        MessageAction="SUPPRESS",
    )
    try:
        cognito.admin_set_user_password(
            UserPoolId=user_pool_id, Username=email, Password=password, Permanent=True
        )
    except Exception:
        # A password the pool refuses must not leave a user who can never sign in.
        cognito.admin_delete_user(UserPoolId=user_pool_id, Username=email)
        raise


def generate_password(policy: dict[str, Any]) -> str:
    """A random password the pool's policy accepts, with every character class present."""
    length = max(int(policy.get("MinimumLength", 8)), 16) + 4
    classes = [string.ascii_uppercase, string.ascii_lowercase, string.digits, COGNITO_SYMBOLS]
    alphabet = "".join(classes)
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(any(char in group for char in password) for group in classes):
            return password


def describe_password_policy(policy: dict[str, Any]) -> str:
    """The pool's rules in words, for a refused password."""
    rules = [f"at least {policy.get('MinimumLength', 8)} characters"]
    for key, words in (
        ("RequireUppercase", "an uppercase letter"),
        ("RequireLowercase", "a lowercase letter"),
        ("RequireNumbers", "a digit"),
        ("RequireSymbols", "a symbol"),
    ):
        if policy.get(key, True):
            rules.append(words)
    return ", ".join(rules)
