"""Emptying a preview stack's versioned buckets before `sam delete`, against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from deploy import empty_buckets
from moto import mock_aws
from mypy_boto3_s3 import S3Client

REGION = "eu-west-1"
_STACK_TEMPLATE = json.dumps(
    {
        "Parameters": {"Environment": {"Type": "String"}},
        "Resources": {
            "AssetBucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"VersioningConfiguration": {"Status": "Enabled"}},
            },
            "SiteBucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"VersioningConfiguration": {"Status": "Enabled"}},
            },
            "Queue": {"Type": "AWS::SQS::Queue"},
        },
    }
)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _create_stack(name: str, environment: str) -> list[str]:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=_STACK_TEMPLATE,
        Parameters=[{"ParameterKey": "Environment", "ParameterValue": environment}],
    )
    resources = cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    buckets = sorted(
        r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::S3::Bucket"
    )
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in buckets:  # moto's CloudFormation does not apply VersioningConfiguration
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return buckets


def _fill(s3: S3Client, bucket: str, objects: int) -> None:
    """Objects with two versions each and a delete marker on one: what an old bucket holds."""
    for index in range(objects):
        s3.put_object(Bucket=bucket, Key=f"uploads/originals/{index}.png", Body=b"v1")
        s3.put_object(Bucket=bucket, Key=f"uploads/originals/{index}.png", Body=b"v2")
    s3.delete_object(Bucket=bucket, Key="uploads/originals/0.png")


def _versions(s3: S3Client, bucket: str) -> int:
    return sum(
        len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
    )


@pytest.mark.usefixtures("aws")
def test_a_preview_stacks_buckets_are_emptied_of_every_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a preview stack whose versioned buckets hold versions and delete markers
    buckets = _create_stack("asset-uploads-pr-9", "preview")
    s3 = boto3.client("s3", region_name=REGION)
    _fill(s3, buckets[0], 10)
    _fill(s3, buckets[1], 3)
    assert _versions(s3, buckets[0]) == 21
    # (and batches smaller than S3's 1000, so that several DeleteObjects calls are needed)
    monkeypatch.setattr(empty_buckets, "_BATCH", 4)
    github_output = tmp_path / "out"
    # WHEN its buckets are emptied
    code = empty_buckets.main(
        [
            "--stack-name",
            "asset-uploads-pr-9",
            "--region",
            REGION,
            "--github-output",
            str(github_output),
        ]
    )
    # THEN nothing is left that would stop CloudFormation deleting them
    assert code == 0
    assert [_versions(s3, bucket) for bucket in buckets] == [0, 0]
    assert github_output.read_text() == "stack-exists=true\n"


@pytest.mark.usefixtures("aws")
def test_a_production_stack_is_never_emptied(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a production stack, even one named like a preview
    buckets = _create_stack("asset-uploads-pr-10", "production")
    s3 = boto3.client("s3", region_name=REGION)
    _fill(s3, buckets[0], 2)
    # WHEN someone asks to empty it
    code = empty_buckets.main(["--stack-name", "asset-uploads-pr-10", "--region", REGION])
    # THEN it refuses and every version is still there
    assert code == 1
    assert "refused" in capsys.readouterr().err
    assert _versions(s3, buckets[0]) == 5


@pytest.mark.usefixtures("aws")
def test_a_stack_that_is_already_gone_is_not_an_error(tmp_path: Path) -> None:
    github_output = tmp_path / "out"
    code = empty_buckets.main(
        [
            "--stack-name",
            "asset-uploads-pr-11",
            "--region",
            REGION,
            "--github-output",
            str(github_output),
        ]
    )
    assert code == 0
    assert github_output.read_text() == "stack-exists=false\n"


@pytest.mark.usefixtures("aws")
def test_a_bucket_deleted_by_hand_counts_as_empty() -> None:
    s3 = boto3.client("s3", region_name=REGION)
    assert empty_buckets.empty_bucket(s3, "no-such-bucket-here") == 0
