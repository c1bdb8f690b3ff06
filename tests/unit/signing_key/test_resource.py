"""The signing-key custom resource: Create makes a key once, Update keeps it, every answer is sent."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws

from signing_key import resource

RESPONSE_URL = (
    "https://cloudformation-custom-resource-response.s3.amazonaws.com/abc?X-Amz-Signature=s3cr3t"
)


class Answers:
    """What the handler PUT to CloudFormation's pre-signed URL."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []

    def urlopen(self, request: Any, timeout: float) -> Any:
        assert request.full_url == RESPONSE_URL
        assert request.get_method() == "PUT"
        assert timeout <= 30
        self.bodies.append(json.loads(request.data))
        self.headers.append(dict(request.header_items()))

        class Response:
            def __enter__(self) -> Response:
                return self

            def __exit__(self, *_: object) -> None:
                return None

            def read(self) -> bytes:
                return b""

        return Response()


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Answers]:
    with mock_aws():
        monkeypatch.setattr(resource, "_client", None)
        recorded = Answers()
        # The HTTP boundary to CloudFormation: everything else is the real handler on moto.
        monkeypatch.setattr("urllib.request.urlopen", recorded.urlopen)
        yield recorded


def _event(request_type: str, secret_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": RESPONSE_URL,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "req-1",
        "LogicalResourceId": "AssetsSigningKey",
        "ResourceType": "Custom::CloudFrontSigningKey",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:x", "SecretId": secret_id},
        **extra,
    }


def _placeholder_secret() -> str:
    # What GenerateSecretString leaves before the custom resource runs.
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    return secrets.create_secret(
        Name="signing-key", SecretString="Xq3placeholder0123456789abcdefAB"
    )["ARN"]


def _stored_key(secret_id: str) -> rsa.RSAPrivateKey:
    pem = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(
        SecretId=secret_id
    )["SecretString"]
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def test_create_makes_an_rsa_2048_key_into_the_secret_and_answers_its_public_half(
    answers: Answers, caplog: pytest.LogCaptureFixture
) -> None:
    secret = _placeholder_secret()
    with caplog.at_level(logging.INFO):
        resource.handler(_event("Create", secret), None)
    (body,) = answers.bodies
    assert body["Status"] == "SUCCESS", body
    assert (body["StackId"], body["RequestId"], body["LogicalResourceId"]) == (
        "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "req-1",
        "AssetsSigningKey",
    )
    key = _stored_key(secret)
    assert key.key_size == 2048
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert body["Data"]["PublicKeyPem"] == public.decode()
    assert body["PhysicalResourceId"] == f"signing-key-{body['Data']['Fingerprint'][:32]}"
    # Only the public half leaves, and nothing of the key or the response URL is logged.
    assert "PRIVATE" not in json.dumps(body)
    assert answers.headers[0].get("Content-type") == ""
    assert "s3cr3t" not in caplog.text
    assert "PRIVATE" not in caplog.text


def test_update_and_a_retried_create_keep_the_key_cloudfront_trusts(answers: Answers) -> None:
    secret = _placeholder_secret()
    resource.handler(_event("Create", secret), None)
    first = answers.bodies[-1]
    resource.handler(_event("Create", secret), None)
    resource.handler(_event("Update", secret, PhysicalResourceId=first["PhysicalResourceId"]), None)
    assert [body["Status"] for body in answers.bodies] == ["SUCCESS"] * 3
    assert {body["Data"]["PublicKeyPem"] for body in answers.bodies} == {
        first["Data"]["PublicKeyPem"]
    }
    assert {body["PhysicalResourceId"] for body in answers.bodies} == {first["PhysicalResourceId"]}


def test_delete_leaves_the_secret_to_cloudformation(answers: Answers) -> None:
    secret = _placeholder_secret()
    resource.handler(_event("Create", secret), None)
    created = answers.bodies[-1]
    resource.handler(
        _event("Delete", secret, PhysicalResourceId=created["PhysicalResourceId"]), None
    )
    deleted = answers.bodies[-1]
    assert deleted["Status"] == "SUCCESS"
    assert deleted["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert _stored_key(secret).key_size == 2048


def test_a_failure_is_answered_so_the_stack_does_not_wait(answers: Answers) -> None:
    resource.handler(
        _event("Create", "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone"), None
    )
    (body,) = answers.bodies
    assert body["Status"] == "FAILED"
    assert "ResourceNotFoundException" in body["Reason"]
    assert body["PhysicalResourceId"] == "AssetsSigningKey-not-created"
    # A failed Create is followed by a Delete of that id: it succeeds and touches nothing.
    resource.handler(_event("Delete", "gone", PhysicalResourceId=body["PhysicalResourceId"]), None)
    assert answers.bodies[-1]["Status"] == "SUCCESS"


def test_a_read_that_fails_never_replaces_the_key(
    answers: Answers, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = _placeholder_secret()
    resource.handler(_event("Create", secret), None)
    before = answers.bodies[-1]["Data"]["PublicKeyPem"]
    client = resource._secretsmanager()

    def throttled(**_: Any) -> Any:
        raise client.exceptions.InternalServiceError(
            {"Error": {"Code": "InternalServiceError", "Message": "try later"}}, "GetSecretValue"
        )

    monkeypatch.setattr(client, "get_secret_value", throttled)
    resource.handler(_event("Update", secret, PhysicalResourceId="x"), None)
    assert answers.bodies[-1]["Status"] == "FAILED"
    monkeypatch.undo()
    public = (
        _stored_key(secret)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert public.decode() == before


def test_only_https_response_urls_are_answered() -> None:
    with pytest.raises(ValueError, match="https"):
        resource.respond({"ResponseURL": "http://example.test/"}, "SUCCESS", "ok", "id", {})
