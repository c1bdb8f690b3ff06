"""Owner-only delivery in template.yaml: the key group on /assets/*, the key, its grants, no cycle."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from assets.settings import ApiSettings
from assets.storage import CACHE_CONTROL
from tests.unit.template.cfn import (
    PREVIEW,
    PRODUCTION,
    Grant,
    Stack,
    arn_name,
    as_list,
    role_grants,
    template,
)

SIGNED = PREVIEW
PUBLIC = Stack.for_environment("preview", AssetDelivery="public")
SIGNED_PRODUCTION = PRODUCTION
DISTRIBUTION_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"
}
KEY_RESOURCES = {
    "AssetsSigningKeySecret",
    "SigningKeyFunction",
    "SigningKeyFunctionRole",
    "SigningKeyLogGroup",
    "AssetsSigningKey",
    "AssetsPublicKey",
    "AssetsKeyGroup",
}


def _behaviours(stack: Stack) -> dict[str, dict[str, Any]]:
    config = stack.resources()["Distribution"]["Properties"]["DistributionConfig"]
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    behaviours["default"] = config["DefaultCacheBehavior"]
    return behaviours


def test_the_parameters_match_the_settings() -> None:
    parameters = template()["Parameters"]
    assert parameters["AssetDelivery"]["AllowedValues"] == ["signed", "public"]
    assert (
        parameters["AssetDelivery"]["Default"] == ApiSettings.model_fields["ASSET_DELIVERY"].default
    )
    ttl = parameters["SignedUrlTtlSeconds"]
    assert (ttl["MinValue"], ttl["MaxValue"]) == (60, 86400)
    assert ttl["Default"] == ApiSettings.model_fields["SIGNED_URL_TTL_SECONDS"].default
    api = SIGNED.resources()["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert api["ASSET_DELIVERY"] == {"Ref": "AssetDelivery"}
    assert api["SIGNED_URL_TTL_SECONDS"] == {"Ref": "SignedUrlTtlSeconds"}


@pytest.mark.parametrize("stack", [SIGNED, SIGNED_PRODUCTION], ids=["preview", "production"])
def test_signed_mode_puts_the_stacks_key_group_on_assets_only(stack: Stack) -> None:
    behaviours = _behaviours(stack)
    assert behaviours["/assets/*"]["TrustedKeyGroups"] == [{"Ref": "AssetsKeyGroup"}]
    assert "TrustedKeyGroups" not in behaviours["default"], "the page itself is public"
    assert "TrustedSigners" not in behaviours["/assets/*"], "key groups, not account key pairs"
    resources = stack.resources()
    group = resources["AssetsKeyGroup"]["Properties"]["KeyGroupConfig"]
    assert group["Items"] == [{"Ref": "AssetsPublicKey"}]
    public_key = resources["AssetsPublicKey"]["Properties"]["PublicKeyConfig"]
    # The public half comes from the custom resource, which made the pair into the secret.
    assert public_key["EncodedKey"] == {"Fn::GetAtt": ["AssetsSigningKey", "PublicKeyPem"]}
    assert public_key["CallerReference"] == {"Fn::GetAtt": ["AssetsSigningKey", "Fingerprint"]}
    custom = resources["AssetsSigningKey"]["Properties"]
    assert custom["ServiceToken"] == {"Fn::GetAtt": ["SigningKeyFunction", "Arn"]}
    assert custom["SecretId"] == {"Ref": "AssetsSigningKeySecret"}
    api = resources["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert api["CLOUDFRONT_KEY_SECRET_ARN"] == {"Ref": "AssetsSigningKeySecret"}
    assert api["CLOUDFRONT_KEY_PAIR_ID"] == {"Ref": "AssetsPublicKey"}


def test_public_mode_has_no_key_group_and_no_key() -> None:
    behaviours = _behaviours(PUBLIC)
    assert "TrustedKeyGroups" not in behaviours["/assets/*"]
    resources = PUBLIC.resources()
    assert not KEY_RESOURCES & set(resources)
    api = resources["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert api["CLOUDFRONT_KEY_SECRET_ARN"] == ""
    assert api["CLOUDFRONT_KEY_PAIR_ID"] == ""
    assert KEY_RESOURCES <= set(SIGNED.resources())


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_no_key_material_in_the_template_its_parameters_or_an_environment() -> None:
    for text in _strings(template()):
        assert "PRIVATE KEY" not in text
        assert "BEGIN" not in text
    secret = template()["Resources"]["AssetsSigningKeySecret"]["Properties"]
    assert "SecretString" not in secret, "the key is generated at deploy, not written here"
    # A placeholder the custom resource replaces; a value that is not a key is never trusted.
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32


def _policy_grants(stack: Stack, role: str) -> set[tuple[str, str]]:
    """What a role may do: its inline policies and every RolePolicy attached to it."""
    grants = {(g.action, g.resource) for g in role_grants(role)}
    for policy in stack.resources("AWS::IAM::RolePolicy").values():
        props = policy["Properties"]
        if props["RoleName"] != {"Ref": role}:
            continue
        for statement in props["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in as_list(statement["Action"]):
                for resource in as_list(statement["Resource"]):
                    grants.add((action, _resource_name(resource)))
    return grants


def _resource_name(resource: Any) -> str:
    return "Distribution" if resource == DISTRIBUTION_ARN else arn_name(resource)


def test_the_api_may_read_exactly_the_key_and_invalidate_exactly_its_distribution() -> None:
    own = {(g.action, g.resource) for g in role_grants("ApiFunctionRole")}
    signed = _policy_grants(SIGNED, "ApiFunctionRole") - own
    assert signed == {
        ("secretsmanager:GetSecretValue", "AssetsSigningKeySecret"),
        ("cloudfront:CreateInvalidation", "Distribution"),
    }
    # Public images need no key, but a deletion still empties the edge caches.
    assert _policy_grants(PUBLIC, "ApiFunctionRole") - own == {
        ("cloudfront:CreateInvalidation", "Distribution")
    }
    # The worker gets neither.
    worker = _policy_grants(SIGNED, "WorkerFunctionRole")
    assert not {action for action, _ in worker} & {
        "secretsmanager:GetSecretValue",
        "cloudfront:CreateInvalidation",
    }
    # And the function that uses them waits for them.
    assert template()["Resources"]["ApiFunction"]["DependsOn"] == "ApiDeliveryPolicy"


def test_the_key_function_may_only_keep_or_store_its_one_secret_and_log() -> None:
    grants = set(role_grants("SigningKeyFunctionRole"))
    assert {(g.action, g.resource) for g in grants} == {
        ("logs:CreateLogStream", "SigningKeyLogGroup"),
        ("logs:PutLogEvents", "SigningKeyLogGroup"),
        ("secretsmanager:GetSecretValue", "AssetsSigningKeySecret"),
        ("secretsmanager:PutSecretValue", "AssetsSigningKeySecret"),
    }
    assert all(isinstance(g, Grant) and "*" not in g.action for g in grants)
    function = SIGNED.resources()["SigningKeyFunction"]["Properties"]
    assert function["Role"] == {"Fn::GetAtt": ["SigningKeyFunctionRole", "Arn"]}
    assert function["Handler"] == "signing_key.resource.handler"
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": "SigningKeyLogGroup"}}
    assert "Policies" not in function


def test_delete_invalidates_the_distribution_the_api_serves_from() -> None:
    api = SIGNED.resources()["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert api["CDN_DISTRIBUTION_ID"] == {"Ref": "Distribution"}
    assert api["ASSET_BASE_URL"] == {"Fn::Sub": "https://${Distribution.DomainName}/assets"}


def _references(value: Any) -> Iterator[str]:
    """Every logical id a value names: Ref, GetAtt, Sub variables, and Fn::If's condition aside."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                yield item
            elif key == "Fn::GetAtt":
                target = item if isinstance(item, list) else str(item).split(".")
                yield str(target[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                for name in re.findall(r"\$\{([^}!]+)\}", text):
                    yield name.split(".")[0]
                if isinstance(item, list):
                    yield from _references(item[1])
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


@pytest.mark.parametrize("stack", [SIGNED, PUBLIC, PRODUCTION], ids=["signed", "public", "prod"])
def test_the_template_has_no_dependency_cycle(stack: Stack) -> None:
    resources = stack.resources()
    edges = {
        name: {
            ref
            for ref in [*_references(resource), *as_list(resource.get("DependsOn", []))]
            if ref in resources and ref != name
        }
        for name, resource in resources.items()
    }
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        assert state.get(name) != "open", f"cycle: {' -> '.join([*path, name])}"
        state[name] = "open"
        for target in sorted(edges[name]):
            visit(target, [*path, name])
        state[name] = "done"

    for name in sorted(edges):
        visit(name, [])
    # The case that matters: the API names the distribution, so the distribution must not need
    # anything of the API's.
    assert "Distribution" in edges["ApiFunction"]


def test_a_deleted_image_stops_being_cached_within_a_day_anywhere() -> None:
    parts = [part.strip().partition("=") for part in CACHE_CONTROL.split(",")]
    directives = {name: value for name, _, value in parts}
    ttl = template()["Parameters"]["SignedUrlTtlSeconds"]["Default"]
    # Browsers cannot be invalidated: no longer than a signed URL lives by default.
    assert int(directives["max-age"]) <= ttl
    # The edge is invalidated on DELETE; this bounds a failed invalidation.
    assert int(directives["s-maxage"]) <= 86400
