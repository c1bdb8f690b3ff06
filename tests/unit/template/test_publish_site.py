"""Publishing the page to a deployed stack, against moto: config from outputs, sync, invalidation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from deploy import publish_site
from moto import mock_aws

from local_stack.template import TEMPLATE_PATH
from local_stack.web import config_script as local_config_script
from tests.unit.template.cfn import template

REGION = "eu-west-1"
STACK = "asset-uploads-pr-7"
STACK_OUTPUTS = {
    "AssetApiBaseUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com",
    "AssetBaseUrl": "https://d111.cloudfront.net/assets",
    "SiteUrl": "https://d111.cloudfront.net/",
    "UserPoolId": "eu-west-1_AbC123",
    "UserPoolClientId": "client123",
    "UserPoolIssuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
    "UserPoolHostedUiUrl": "https://asset-uploads-pr-7-1.auth.eu-west-1.amazoncognito.com",
    "Environment": "preview",
}


def template_root() -> Path:
    return TEMPLATE_PATH.parent


def _stack_template(distribution_id: str) -> str:
    """A stand-in for the deployed stack: the site bucket plus the outputs publishing reads."""
    outputs: dict[str, dict[str, Any]] = {
        name: {"Value": value} for name, value in STACK_OUTPUTS.items()
    }
    outputs["SiteBucketName"] = {"Value": {"Ref": "SiteBucket"}}
    outputs["DistributionId"] = {"Value": distribution_id}
    return json.dumps(
        {
            "Resources": {"SiteBucket": {"Type": "AWS::S3::Bucket"}},
            "Outputs": outputs,
        }
    )


@pytest.fixture
def stack() -> Iterator[dict[str, Any]]:
    """A deployed stack in moto: its outputs, and clients to look at what publishing did."""
    with mock_aws():
        cloudfront = boto3.client("cloudfront", region_name=REGION)
        distribution = cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": "test",
                "Comment": "",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "site",
                            "DomainName": "site.s3.eu-west-1.amazonaws.com",
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "site",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "MinTTL": 0,
                    "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                },
            }
        )["Distribution"]
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(
            StackName=STACK, TemplateBody=_stack_template(distribution["Id"])
        )
        outputs = {
            item["OutputKey"]: item["OutputValue"]
            for item in cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
        }
        yield {
            "outputs": outputs,
            "s3": boto3.client("s3", region_name=REGION),
            "cloudfront": cloudfront,
            "distribution_id": distribution["Id"],
        }


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A built page, with a checked-in config.js that must never be published."""
    root = tmp_path / "site"
    (root / "img").mkdir(parents=True)
    (root / "index.html").write_text('<script src="config.js"></script><script src="app.js">')
    (root / "app.js").write_text("console.log(window.__APP_CONFIG__.apiBaseUrl);\n")
    (root / "style.css").write_text("body { margin: 0 }\n")
    (root / "img" / "logo.svg").write_text("<svg/>")
    (root / "config.js").write_text('window.__APP_CONFIG__ = {apiBaseUrl: "https://evil"};\n')
    (root / ".DS_Store").write_bytes(b"\0")
    return root


def _config_of(script: str) -> dict[str, Any]:
    match = re.fullmatch(r"window\.__APP_CONFIG__ = Object\.freeze\((.*)\);\n", script, re.S)
    assert match, script
    config: dict[str, Any] = json.loads(match[1])
    return config


def test_publish_writes_config_from_the_stack_and_syncs_the_site(
    stack: dict[str, Any], site: Path, tmp_path: Path
) -> None:
    # GIVEN a site bucket still holding a file from an older version of the page
    s3 = stack["s3"]
    bucket = stack["outputs"]["SiteBucketName"]
    s3.put_object(Bucket=bucket, Key="old-bundle.js", Body=b"old")
    github_output = tmp_path / "github_output"
    # WHEN the page is published to the stack
    arguments = ["--stack-name", STACK, "--site-dir", str(site), "--region", REGION]
    code = publish_site.main([*arguments, "--github-output", str(github_output)])
    # THEN the bucket holds exactly the site, with config.js generated from the stack's outputs
    assert code == 0
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["app.js", "config.js", "img/logo.svg", "index.html", "style.css"]
    config_object = s3.get_object(Bucket=bucket, Key="config.js")
    config = _config_of(config_object["Body"].read().decode())
    assert config["apiBaseUrl"] == STACK_OUTPUTS["AssetApiBaseUrl"]
    assert config["userPoolId"] == STACK_OUTPUTS["UserPoolId"]
    assert config["userPoolClientId"] == STACK_OUTPUTS["UserPoolClientId"]
    assert config["userPoolIssuer"] == STACK_OUTPUTS["UserPoolIssuer"]
    assert config["hostedUiUrl"] == STACK_OUTPUTS["UserPoolHostedUiUrl"]
    assert config["environment"] == "preview"
    assert config["region"] == REGION
    assert config["authFlow"] == "HOSTED_UI"
    # AND every file has the type the browser needs under nosniff, and a cache policy
    assert config_object["ContentType"] == "text/javascript; charset=utf-8"
    assert config_object["CacheControl"] == "no-cache"
    index = s3.head_object(Bucket=bucket, Key="index.html")
    assert (index["ContentType"], index["CacheControl"]) == ("text/html; charset=utf-8", "no-cache")
    logo = s3.head_object(Bucket=bucket, Key="img/logo.svg")
    assert (logo["ContentType"], logo["CacheControl"]) == ("image/svg+xml", "no-cache")
    # AND CloudFront is told to drop its copies, and the workflow learns the URLs
    invalidations = stack["cloudfront"].list_invalidations(DistributionId=stack["distribution_id"])
    assert invalidations["InvalidationList"]["Quantity"] == 1
    assert github_output.read_text() == (
        f"site-url={STACK_OUTPUTS['SiteUrl']}\napi-url={STACK_OUTPUTS['AssetApiBaseUrl']}\n"
    )


def test_files_go_up_before_the_config_and_the_page_that_loads_them(site: Path) -> None:
    order = [file.key for file in publish_site.site_files(site)]
    assert order[-2:] == ["config.js", "index.html"]
    assert ".DS_Store" not in order
    assert order.count("config.js") == 1, "the checked-in config.js is never uploaded"


def test_config_values_cannot_break_out_of_the_script() -> None:
    hostile = dict(STACK_OUTPUTS, UserPoolClientId='x"});alert(1);({"')
    script = publish_site.config_script(publish_site.page_config(hostile, REGION))
    assert _config_of(script)["userPoolClientId"] == hostile["UserPoolClientId"]


def test_the_deployed_config_script_has_the_local_stacks_shape() -> None:
    # The page reads one global, whichever CDN served it.
    config = publish_site.page_config(STACK_OUTPUTS, REGION)
    assert publish_site.config_script(config) == local_config_script(config)


def test_the_outputs_publishing_reads_are_declared_by_the_template() -> None:
    declared = set(template()["Outputs"])
    needed = set(publish_site.CONFIG_FROM_OUTPUTS.values()) | {"SiteBucketName", "DistributionId"}
    needed |= {"SiteUrl", "AssetApiBaseUrl"}
    assert needed <= declared, f"template.yaml lacks outputs {needed - declared}"


def test_publishing_refuses_what_it_cannot_publish_correctly(
    stack: dict[str, Any], site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A missing stack
    assert (
        publish_site.main(["--stack-name", "nope", "--site-dir", str(site), "--region", REGION])
        == 1
    )
    assert "stack nope" in capsys.readouterr().err
    # A file the browser would get with the wrong type
    (site / "data.bin").write_bytes(b"\0")
    with pytest.raises(publish_site.PublishError, match=r"data\.bin: no known Content-Type"):
        publish_site.site_files(site)
    # A site without its page
    (site / "index.html").unlink()
    with pytest.raises(publish_site.PublishError, match=r"has no index\.html"):
        publish_site.site_files(site)
    # Outputs lacking what the page needs
    with pytest.raises(publish_site.PublishError, match="no output UserPoolId"):
        publish_site.page_config(
            {k: v for k, v in STACK_OUTPUTS.items() if k != "UserPoolId"}, REGION
        )


def test_the_config_speaks_the_pages_contract() -> None:
    # The page (site/js/config.js) names the keys it reads and the flow constants it accepts.
    page = (template_root() / "site" / "js" / "config.js").read_text(encoding="utf-8")
    flow = re.search(r'export const HOSTED_UI_FLOW = "([^"]+)"', page)
    assert flow
    assert publish_site.HOSTED_UI_FLOW == flow[1]
    keys = set(re.findall(r"@property \{[^}]+\} (\w+)", page))
    config = publish_site.page_config(STACK_OUTPUTS, REGION)
    assert set(config) <= keys, f"config.js keys the page does not read: {set(config) - keys}"
    for key, value in config.items():
        if key.endswith("Url"):
            assert value.startswith("https://"), f"{key}: the page accepts only https in AWS"
            assert not value.endswith("/"), f"{key}: the page expects no trailing slash"


def test_the_site_csp_header_allows_what_the_page_loads() -> None:
    headers = template()["Resources"]["SiteHeadersPolicy"]["Properties"]
    csp = headers["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in csp["ContentSecurityPolicy"]["Fn::Sub"].split(";")
        if " " in directive.strip()
    )
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    connect = policy["connect-src"].split()
    assert "https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com" in connect
    assert "https://${AssetBucket}.s3.${AWS::Region}.${AWS::URLSuffix}" in connect
    assert "https:" not in connect, "the header names this stack's hosts, not any https origin"
