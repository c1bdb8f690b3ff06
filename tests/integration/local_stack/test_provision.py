"""Provisioning in moto over HTTP: the template's shapes, sign-in, and uploads as S3 treats them."""

from __future__ import annotations

import json
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

from assets.model import OWNER_INDEX_NAME
from local_stack.aws import MotoClients
from local_stack.blueprint import Blueprint
from local_stack.provision import Provisioned, create_user, generate_password, provision
from local_stack.state import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY
from testbed.moto_server import MotoServer

ASSET_ID = "6f1c2b9e-4c3d-4b8a-9f1e-2d3c4b5a6f70"
SOURCE_KEY = f"uploads/originals/{ASSET_ID}.png"


@pytest.fixture
def provisioned(clients: MotoClients, fixture_blueprint: Blueprint) -> Provisioned:
    return provision(clients, fixture_blueprint, visibility_timeout=30)


def test_the_table_has_the_templates_keys_index_and_ttl(
    clients: MotoClients, provisioned: Provisioned
) -> None:
    table = clients.dynamodb.describe_table(TableName=provisioned.table_name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "assetId", "KeyType": "HASH"}]
    index = table["GlobalSecondaryIndexes"][0]
    assert index["IndexName"] == OWNER_INDEX_NAME
    assert index["KeySchema"] == [
        {"AttributeName": "ownerId", "KeyType": "HASH"},
        {"AttributeName": "createdAt", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    ttl = clients.dynamodb.describe_time_to_live(TableName=provisioned.table_name)[
        "TimeToLiveDescription"
    ]
    assert (ttl["AttributeName"], ttl["TimeToLiveStatus"]) == ("expiresAt", "ENABLED")


def test_the_bucket_is_versioned_private_and_notifies_the_queue_of_uploads(
    clients: MotoClients, provisioned: Provisioned
) -> None:
    bucket = provisioned.bucket_name
    assert clients.s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert clients.s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"][
        "BlockPublicAcls"
    ]
    (queue_configuration,) = clients.s3.get_bucket_notification_configuration(Bucket=bucket)[
        "QueueConfigurations"
    ]
    assert queue_configuration["QueueArn"] == provisioned.queue_arn
    assert queue_configuration["Events"] == ["s3:ObjectCreated:*"]
    assert queue_configuration["Filter"]["Key"]["FilterRules"] == [
        {"Name": "prefix", "Value": "uploads/originals/"}
    ]


def test_the_queue_redrives_to_the_dead_letter_queue(
    clients: MotoClients, provisioned: Provisioned
) -> None:
    attributes = clients.sqs.get_queue_attributes(
        QueueUrl=provisioned.queue_url, AttributeNames=["All"]
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "30"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": provisioned.dead_letter_queue_arn,
        "maxReceiveCount": 5,
    }
    dlq = clients.sqs.get_queue_attributes(
        QueueUrl=provisioned.dead_letter_queue_url, AttributeNames=["All"]
    )
    assert dlq["Attributes"]["MessageRetentionPeriod"] == "1209600"


def test_a_provisioned_user_signs_in_with_a_password_and_nobody_signs_up(
    clients: MotoClients, provisioned: Provisioned, fixture_blueprint: Blueprint
) -> None:
    password = generate_password(fixture_blueprint.user_pool.password_policy)
    create_user(clients.cognito, provisioned.user_pool_id, "ada@example.com", password)
    result = clients.cognito.initiate_auth(
        ClientId=provisioned.user_pool_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ada@example.com", "PASSWORD": password},
    )
    assert result["AuthenticationResult"]["IdToken"].count(".") == 2
    pool = clients.cognito.describe_user_pool(UserPoolId=provisioned.user_pool_id)["UserPool"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 14


def test_a_password_the_pool_refuses_leaves_no_user_behind(
    clients: MotoClients, provisioned: Provisioned
) -> None:
    with pytest.raises(clients.cognito.exceptions.InvalidPasswordException):
        create_user(clients.cognito, provisioned.user_pool_id, "weak@example.com", "short")
    users = clients.cognito.list_users(UserPoolId=provisioned.user_pool_id)["Users"]
    assert users == []


def signed_form(moto_server: MotoServer, bucket: str, *, max_bytes: int = 1000) -> dict[str, Any]:
    s3 = boto3.session.Session(
        aws_access_key_id=LOCAL_ACCESS_KEY_ID,
        aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
        region_name="us-east-1",
    ).client("s3", endpoint_url=moto_server.url, config=Config(signature_version="s3v4"))
    form: dict[str, Any] = s3.generate_presigned_post(
        Bucket=bucket,
        Key=SOURCE_KEY,
        Fields={"Content-Type": "image/png"},
        Conditions=[["eq", "$Content-Type", "image/png"], ["content-length-range", 1, max_bytes]],
        ExpiresIn=300,
    )
    return form


def test_a_browser_form_upload_is_stored_and_notified_with_its_version(
    clients: MotoClients, provisioned: Provisioned, moto_server: MotoServer, page_origin: str
) -> None:
    # GIVEN a signed form, targeting moto path-style as boto3 signs it for a local endpoint
    form = signed_form(moto_server, provisioned.bucket_name)
    assert form["url"] == f"{moto_server.url}/{provisioned.bucket_name}"
    # WHEN a page on the local origin posts the file, fields first and file last
    response = httpx.post(
        form["url"],
        data=form["fields"],
        files={"file": ("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 16, "image/png")},
        headers={"Origin": page_origin},
    )
    # THEN S3's answer is readable by the page, and the object is stored with its type
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == page_origin
    head = clients.s3.head_object(Bucket=provisioned.bucket_name, Key=SOURCE_KEY)
    assert head["ContentType"] == "image/png"
    # ... and the queue receives the notification, with the object's version as S3 sends it
    bodies = _drain(clients, provisioned.queue_url)
    records = [r for body in bodies for r in body.get("Records", [])]
    assert len(records) == 1
    obj = records[0]["s3"]["object"]
    assert records[0]["eventName"] == "ObjectCreated:Post"
    assert obj["key"] == SOURCE_KEY
    assert obj["versionId"] == head["VersionId"]
    assert obj["size"] == 24


def test_a_refused_upload_is_neither_stored_nor_notified(
    clients: MotoClients, provisioned: Provisioned, moto_server: MotoServer
) -> None:
    form = signed_form(moto_server, provisioned.bucket_name, max_bytes=10)
    response = httpx.post(
        form["url"], data=form["fields"], files={"file": ("a.png", b"x" * 11, "image/png")}
    )
    assert response.status_code == 400
    assert "<Code>EntityTooLarge</Code>" in response.text
    assert "Contents" not in clients.s3.list_objects_v2(Bucket=provisioned.bucket_name)
    assert all("Records" not in body for body in _drain(clients, provisioned.queue_url))


def test_objects_outside_the_upload_prefix_are_not_notified(
    clients: MotoClients, provisioned: Provisioned
) -> None:
    clients.s3.put_object(
        Bucket=provisioned.bucket_name, Key=f"processed/assets/{ASSET_ID}.png", Body=b"png"
    )
    assert all("Records" not in body for body in _drain(clients, provisioned.queue_url))


def test_the_page_may_sign_in_against_cognito_from_its_origin(
    moto_server: MotoServer, provisioned: Provisioned, page_origin: str
) -> None:
    preflight = httpx.options(
        moto_server.url + "/",
        headers={
            "Origin": page_origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-target",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == page_origin
    answer = httpx.post(
        moto_server.url + "/",
        headers={
            "Origin": page_origin,
            "content-type": "application/x-amz-json-1.1",
            "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth",
        },
        json={
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": provisioned.user_pool_client_id,
            "AuthParameters": {},
        },
    )
    # No such user, but the page can read why.
    assert answer.status_code == 400
    assert answer.headers["access-control-allow-origin"] == page_origin
    elsewhere = httpx.post(
        moto_server.url + "/",
        headers={
            "Origin": "https://elsewhere.example",
            "content-type": "application/x-amz-json-1.1",
            "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth",
        },
        json={
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": provisioned.user_pool_client_id,
            "AuthParameters": {},
        },
    )
    assert "access-control-allow-origin" not in elsewhere.headers


def _drain(clients: MotoClients, queue_url: str) -> list[dict[str, Any]]:
    """Every message in the queue now (S3's test event included), parsed."""
    bodies: list[dict[str, Any]] = []
    while True:
        messages = clients.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return bodies
        bodies.extend(json.loads(message["Body"]) for message in messages)
