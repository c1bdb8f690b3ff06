"""S3's POST upload checks, as the local stack applies them in front of moto."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config

from local_stack.post_policy import PostForm, PostPolicyError, verify_post

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ACCESS_KEY = "local-access-key"
SECRET_KEY = "local-secret-key"
SECRETS = {ACCESS_KEY: SECRET_KEY}
BUCKET = "local-asset-bucket"
KEY = "uploads/originals/6f1c2b9e-4c3d-4b8a-9f1e-2d3c4b5a6f70.png"


def signed_fields(
    *,
    signature_version: str = "s3v4",
    key: str = KEY,
    conditions: list[Any] | None = None,
    fields: dict[str, str] | None = None,
    expires_in: int = 300,
) -> dict[str, str]:
    """A form signed by botocore exactly as the API signs it (no network involved)."""
    form = _signer(signature_version).generate_presigned_post(
        Bucket=BUCKET,
        Key=key,
        Fields=fields if fields is not None else {"Content-Type": "image/png"},
        Conditions=conditions
        if conditions is not None
        else [["eq", "$Content-Type", "image/png"], ["content-length-range", 1, 1000]],
        ExpiresIn=expires_in,
    )
    return {name: str(value) for name, value in form["fields"].items()}


@functools.cache
def _signer(signature_version: str) -> S3Client:
    session = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name="us-east-1"
    )
    return session.client(
        "s3", endpoint_url="http://127.0.0.1:9", config=Config(signature_version=signature_version)
    )


def form_of(fields: dict[str, str], size: int | None = 10, name: str = "photo.png") -> PostForm:
    return PostForm(fields=list(fields.items()), file_name=name, file_size=size)


def verify(form: PostForm, *, now: datetime | None = None, bucket: str = BUCKET) -> str:
    return verify_post(form, bucket=bucket, secrets=SECRETS, now=now or datetime.now(UTC)).key


def refusal(form: PostForm, **kwargs: Any) -> PostPolicyError:
    with pytest.raises(PostPolicyError) as caught:
        verify(form, **kwargs)
    return caught.value


def test_a_form_signed_like_the_apis_is_accepted() -> None:
    # GIVEN a SigV4 form for one key, one type and 1..1000 bytes
    form = form_of(signed_fields(), size=1000)
    # WHEN S3's checks run THEN the key it names is accepted
    assert verify(form) == KEY


def test_a_sigv2_form_is_accepted_too() -> None:
    assert verify(form_of(signed_fields(signature_version="s3"))) == KEY


@pytest.mark.parametrize(("size", "code"), [(1001, "EntityTooLarge"), (0, "EntityTooSmall")])
def test_a_file_outside_the_size_range_is_refused(size: int, code: str) -> None:
    error = refusal(form_of(signed_fields(), size=size))
    assert (error.status, error.code) == (400, code)


def test_changing_the_content_type_breaks_the_condition() -> None:
    fields = signed_fields()
    fields["Content-Type"] = "image/gif"
    error = refusal(form_of(fields))
    assert (error.status, error.code) == (403, "AccessDenied")
    assert "Content-Type" in error.message


def test_changing_the_key_breaks_the_condition() -> None:
    fields = signed_fields()
    fields["key"] = "processed/assets/6f1c2b9e-4c3d-4b8a-9f1e-2d3c4b5a6f70.png"
    assert refusal(form_of(fields)).code == "AccessDenied"


def test_the_form_only_works_on_the_bucket_it_was_signed_for() -> None:
    error = refusal(form_of(signed_fields()), bucket="another-bucket")
    assert error.code == "AccessDenied"
    assert "bucket" in error.message


def test_an_expired_form_is_refused() -> None:
    form = form_of(signed_fields(expires_in=300))
    error = refusal(form, now=datetime.now(UTC) + timedelta(seconds=301))
    assert (error.status, error.message) == (403, "Invalid according to Policy: Policy expired.")


def test_a_field_no_condition_covers_is_refused() -> None:
    fields = signed_fields()
    fields["x-amz-meta-owner"] = "someone-else"
    error = refusal(form_of(fields))
    assert error.message.endswith("Extra input fields: x-amz-meta-owner")


def test_a_type_in_fields_without_a_condition_is_an_extra_field() -> None:
    # GIVEN an API bug: the type is in the form but not in the signed conditions
    fields = signed_fields(conditions=[["content-length-range", 1, 1000]])
    # THEN S3 (and so the local stack) refuses the upload rather than trusting the field
    assert "Extra input fields: Content-Type" in refusal(form_of(fields)).message


def test_x_ignore_fields_need_no_condition() -> None:
    fields = signed_fields()
    fields["x-ignore-tracking"] = "anything"
    assert verify(form_of(fields)) == KEY


def test_a_policy_edited_after_signing_fails_the_signature() -> None:
    # GIVEN a browser that raises its own size limit in the policy document
    fields = signed_fields()
    document = json.loads(base64.b64decode(fields["policy"]))
    document["conditions"] = [
        ["content-length-range", 1, 10**9]
        if isinstance(c, list) and c[0] == "content-length-range"
        else c
        for c in document["conditions"]
    ]
    fields["policy"] = base64.b64encode(json.dumps(document).encode()).decode()
    # THEN the signature no longer matches
    error = refusal(form_of(fields, size=5000))
    assert (error.status, error.code) == (403, "SignatureDoesNotMatch")


def test_a_form_signed_with_another_secret_is_refused() -> None:
    fields = signed_fields()
    with pytest.raises(PostPolicyError) as caught:
        verify_post(
            form_of(fields), bucket=BUCKET, secrets={ACCESS_KEY: "other"}, now=datetime.now(UTC)
        )
    assert caught.value.code == "SignatureDoesNotMatch"


def test_an_unknown_access_key_is_refused() -> None:
    with pytest.raises(PostPolicyError) as caught:
        verify_post(form_of(signed_fields()), bucket=BUCKET, secrets={}, now=datetime.now(UTC))
    assert (caught.value.status, caught.value.code) == (403, "InvalidAccessKeyId")


def test_an_unsigned_form_is_anonymous_and_the_bucket_is_private() -> None:
    form = form_of({"key": KEY, "Content-Type": "image/png"})
    assert (refusal(form).status, refusal(form).code) == (403, "AccessDenied")


def test_a_form_without_a_file_is_refused() -> None:
    assert refusal(form_of(signed_fields(), size=None)).code == "InvalidArgument"


def test_a_form_without_a_key_is_refused() -> None:
    fields = signed_fields()
    del fields["key"]
    assert "'key'" in refusal(form_of(fields)).message


def test_field_names_match_case_insensitively() -> None:
    fields = {("content-type" if k == "Content-Type" else k): v for k, v in signed_fields().items()}
    assert verify(form_of(fields)) == KEY


def test_starts_with_and_the_filename_placeholder() -> None:
    # GIVEN a form whose key ends in ${filename}, allowed under a prefix
    fields = signed_fields(
        key="uploads/originals/${filename}",
        fields={},
        conditions=[["starts-with", "$key", "uploads/originals/"]],
    )
    # THEN the stored key is the prefix plus the uploaded file's name
    assert verify(form_of(fields, name="cat.png")) == "uploads/originals/cat.png"


def test_a_correctly_signed_policy_that_is_not_json_is_malformed() -> None:
    # GIVEN a SigV2 form whose (validly signed) policy decodes to something that is not JSON
    fields = signed_fields(signature_version="s3")
    fields["policy"] = base64.b64encode(b"not json").decode()
    digest = hmac.new(SECRET_KEY.encode(), fields["policy"].encode(), hashlib.sha1).digest()
    fields["signature"] = base64.b64encode(digest).decode()
    # THEN the document itself is refused
    error = refusal(form_of(fields))
    assert (error.status, error.code) == (400, "InvalidPolicyDocument")
