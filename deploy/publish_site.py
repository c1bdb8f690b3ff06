#!/usr/bin/env python3
"""Publish the page to a deployed stack: `config.js` from the stack's outputs, `site/` to its bucket.

    python deploy/publish_site.py --stack-name asset-uploads-pr-12 [--site-dir site]

The page's configuration always comes from the stack it is served by, never from a checked-in
file: a `site/config.js` in the repository is ignored. Files go up before `index.html`, so a
visitor never gets a page that names files not there yet; files the site no longer has are
removed (the bucket keeps their old versions for 30 days); CloudFront is then invalidated.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# The dev dependencies carry no stubs for these two clients.
CloudFormationClient = Any
CloudFrontClient = Any

CONFIG_NAME = "config.js"
HOSTED_UI_FLOW = "HOSTED_UI"
"""site/js/config.js `HOSTED_UI_FLOW`: sign-in through the Cognito hosted UI."""
ENTRY_PAGE = "index.html"
# File names carry no content hash, so a browser must revalidate each (a cheap 304) or it could
# mix a new index.html with an old module; CloudFront is invalidated on each publish.
REVALIDATE = "no-cache"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
"""Sent with `nosniff`, so a wrong type is a broken page: unknown kinds are refused, not guessed."""

CONFIG_FROM_OUTPUTS = {
    "apiBaseUrl": "AssetApiBaseUrl",
    "assetBaseUrl": "AssetBaseUrl",
    "userPoolId": "UserPoolId",
    "userPoolClientId": "UserPoolClientId",
    "userPoolIssuer": "UserPoolIssuer",
    "hostedUiUrl": "UserPoolHostedUiUrl",
    "environment": "Environment",
}
"""`window.__APP_CONFIG__` keys and the outputs they come from (the page's contract: docs/frontend.md)."""


class PublishError(RuntimeError):
    """The stack or the site directory cannot be published as asked."""


@dataclass(frozen=True, slots=True)
class SiteFile:
    key: str
    path: Path | None
    """None for the generated config.js."""
    content_type: str
    cache_control: str


@dataclass(frozen=True, slots=True)
class Published:
    site_url: str
    api_url: str
    uploaded: list[str]
    removed: list[str]
    invalidation_id: str


def stack_outputs(cloudformation: CloudFormationClient, stack_name: str) -> dict[str, str]:
    """The stack's outputs by key; PublishError if the stack does not exist or is mid-change."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except cloudformation.exceptions.ClientError as error:
        raise PublishError(f"stack {stack_name}: {error}") from error
    stack = stacks[0]
    status = stack["StackStatus"]
    if not status.endswith("_COMPLETE") or "ROLLBACK" in status or "DELETE" in status:
        raise PublishError(f"stack {stack_name} is {status}, not deployed")
    return {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}


def page_config(outputs: Mapping[str, str], region: str) -> dict[str, str]:
    """What the page needs to sign in and call the API, from the deployed stack only."""
    missing = sorted(output for output in CONFIG_FROM_OUTPUTS.values() if not outputs.get(output))
    if missing:
        raise PublishError(f"the stack has no output {', '.join(missing)}")
    config = {key: outputs[output] for key, output in CONFIG_FROM_OUTPUTS.items()}
    # The deployed app client allows only the hosted UI's authorization code + PKCE.
    config.update(region=region, authFlow=HOSTED_UI_FLOW)
    return config


def config_script(config: Mapping[str, Any]) -> str:
    """The page's `config.js`: the stack's endpoints, frozen on `window.__APP_CONFIG__`."""
    # JSON is valid JavaScript and escapes every value: an output cannot inject code.
    return f"window.__APP_CONFIG__ = Object.freeze({json.dumps(dict(config), indent=2, sort_keys=True)});\n"


def site_files(site_dir: Path) -> list[SiteFile]:
    """The files to upload, in upload order: everything, then config.js, then index.html."""
    if not (site_dir / ENTRY_PAGE).is_file():
        raise PublishError(f"{site_dir} has no {ENTRY_PAGE}: nothing to publish")
    files = []
    for path in sorted(site_dir.rglob("*")):
        relative = path.relative_to(site_dir)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        key = relative.as_posix()
        if key in (CONFIG_NAME, ENTRY_PAGE):
            continue
        content_type = CONTENT_TYPES.get(path.suffix.lower())
        if content_type is None:
            raise PublishError(f"{key}: no known Content-Type for {path.suffix or 'no suffix'}")
        files.append(SiteFile(key, path, content_type, REVALIDATE))
    files.append(SiteFile(CONFIG_NAME, None, CONTENT_TYPES[".js"], REVALIDATE))
    files.append(SiteFile(ENTRY_PAGE, site_dir / ENTRY_PAGE, CONTENT_TYPES[".html"], REVALIDATE))
    return files


def publish(
    s3: S3Client,
    cloudfront: CloudFrontClient,
    outputs: Mapping[str, str],
    region: str,
    site_dir: Path,
) -> Published:
    """Upload the site and its config.js, remove stale files, invalidate the distribution."""
    for output in ("SiteBucketName", "DistributionId"):
        if not outputs.get(output):
            raise PublishError(f"the stack has no output {output}")
    bucket = outputs["SiteBucketName"]
    script = config_script(page_config(outputs, region)).encode()
    files = site_files(site_dir)
    for file in files:
        body = script if file.path is None else file.path.read_bytes()
        s3.put_object(
            Bucket=bucket,
            Key=file.key,
            Body=body,
            ContentType=file.content_type,
            CacheControl=file.cache_control,
        )
    wanted = {file.key for file in files}
    stale = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
        if item["Key"] not in wanted
    ]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": key} for key in stale[start : start + 1000]]},
        )
    invalidation = cloudfront.create_invalidation(
        DistributionId=outputs["DistributionId"],
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": f"publish-site-{time.time_ns()}",
        },
    )
    return Published(
        site_url=outputs["SiteUrl"],
        api_url=outputs["AssetApiBaseUrl"],
        uploaded=[file.key for file in files],
        removed=stale,
        invalidation_id=invalidation["Invalidation"]["Id"],
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: publish `--site-dir` to the stack `--stack-name`."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stack-name", required=True)
    parser.add_argument("--site-dir", type=Path, default=Path("site"))
    parser.add_argument("--region", help="default: the AWS CLI/SDK's (AWS_REGION, profile)")
    parser.add_argument(
        "--github-output", type=Path, help="append site-url= and api-url= to this file"
    )
    args = parser.parse_args(argv)

    import boto3  # deferred: --help works without the AWS SDK

    session = boto3.session.Session(region_name=args.region)
    if not session.region_name:
        parser.error("no region: pass --region or set AWS_REGION")
    try:
        outputs = stack_outputs(session.client("cloudformation"), args.stack_name)
        result = publish(
            session.client("s3"),
            session.client("cloudfront"),
            outputs,
            session.region_name,
            args.site_dir,
        )
    except PublishError as error:
        print(f"publish-site: {error}", file=sys.stderr)
        return 1
    print(f"uploaded {len(result.uploaded)} files to s3://{outputs['SiteBucketName']}/")
    for key in result.removed:
        print(f"removed stale {key}")
    print(f"invalidation {result.invalidation_id}; the page: {result.site_url}")
    if args.github_output:
        with args.github_output.open("a", encoding="utf-8") as stream:
            stream.write(f"site-url={result.site_url}\napi-url={result.api_url}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
