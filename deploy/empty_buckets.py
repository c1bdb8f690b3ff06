#!/usr/bin/env python3
"""Empty a preview stack's buckets, every version and delete marker, so `sam delete` succeeds.

    python deploy/empty_buckets.py --stack-name asset-uploads-pr-12

CloudFormation cannot delete a bucket that holds anything, and a versioned bucket holds every
version ever written. This runs before `sam delete` (the preview workflow does both). It
refuses a stack whose `Environment` parameter is not `preview`: production data is never
touched, whatever the stack is called. A stack that does not exist is not an error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# The dev dependencies carry no stubs for this client.
CloudFormationClient = Any

PREVIEW = "preview"
_BATCH = 1000  # DeleteObjects' limit


class NotAPreview(RuntimeError):
    """The stack is not a preview; its buckets are not ours to empty."""


def preview_buckets(cloudformation: CloudFormationClient, stack_name: str) -> list[str] | None:
    """The names of a preview stack's buckets; None if there is no such stack."""
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    environment = parameters.get("Environment")
    if environment != PREVIEW:
        raise NotAPreview(
            f"stack {stack_name} has Environment={environment!r}; only {PREVIEW} stacks are emptied"
        )
    buckets = []
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            if (
                resource["ResourceType"] == "AWS::S3::Bucket"
                and resource.get("PhysicalResourceId")
                and resource["ResourceStatus"] != "DELETE_COMPLETE"
            ):
                buckets.append(resource["PhysicalResourceId"])
    return sorted(buckets)


def _versions(s3: S3Client, bucket: str) -> Iterator[dict[str, str]]:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            yield {"Key": item["Key"], "VersionId": item["VersionId"]}


def empty_bucket(s3: S3Client, bucket: str) -> int:
    """Delete every object version and delete marker; the number deleted (0 if no bucket)."""
    deleted = 0
    batch: list[dict[str, str]] = []
    try:
        for version in _versions(s3, bucket):
            batch.append(version)
            if len(batch) == _BATCH:
                deleted += _delete(s3, bucket, batch)
                batch = []
        if batch:
            deleted += _delete(s3, bucket, batch)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchBucket":
            return deleted
        raise
    return deleted


def _delete(s3: S3Client, bucket: str, versions: list[dict[str, str]]) -> int:
    response = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": versions, "Quiet": True},  # type: ignore[typeddict-item]
    )
    errors = response.get("Errors", [])
    if errors:
        first = errors[0]
        raise RuntimeError(
            f"{bucket}: {len(errors)} versions not deleted, e.g. {first.get('Key')}: "
            f"{first.get('Code')} {first.get('Message')}"
        )
    return len(versions)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: empty the buckets of `--stack-name`, a preview stack."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stack-name", required=True)
    parser.add_argument("--region", help="default: the AWS CLI/SDK's (AWS_REGION, profile)")
    parser.add_argument(
        "--github-output", type=Path, help="append stack-exists=true|false to this file"
    )
    args = parser.parse_args(argv)

    import boto3  # deferred: --help works without credentials or a region

    session = boto3.session.Session(region_name=args.region)
    if not session.region_name:
        parser.error("no region: pass --region or set AWS_REGION")
    try:
        buckets = preview_buckets(session.client("cloudformation"), args.stack_name)
    except NotAPreview as error:
        print(f"empty-buckets: refused: {error}", file=sys.stderr)
        return 1
    if args.github_output:
        with args.github_output.open("a", encoding="utf-8") as stream:
            stream.write(f"stack-exists={'true' if buckets is not None else 'false'}\n")
    if buckets is None:
        print(f"stack {args.stack_name} does not exist: nothing to empty")
        return 0
    s3 = session.client("s3")
    for bucket in buckets:
        print(f"emptied s3://{bucket}: {empty_bucket(s3, bucket)} versions and delete markers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
