"""What the local stack builds, read from `template.yaml` so that local and deployed cannot drift.

Every shape the product depends on (table keys, index and TTL; bucket versioning and the upload
notification; queue visibility, redrive and DLQ retention; the worker's handler, timeout, batch
size and partial-failure reporting; the user pool's sign-in rules; each function's environment)
comes from the template's literal properties. A property the local stack needs but cannot read
literally is a `TemplateError` naming it, never a silent local default.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from assets.model import OWNER_INDEX_NAME, SOURCE_PREFIX
from local_stack.template import SERVERLESS_FUNCTION, TemplateError, function_properties

TABLE = "AssetsTable"
BUCKET = "AssetBucket"
QUEUE = "AssetsQueue"
DEAD_LETTER_QUEUE = "AssetsDeadLetterQueue"
WORKER = "WorkerFunction"
WORKER_EVENT = "AssetsQueueEvent"
API = "ApiFunction"
USER_POOL = "UserPool"
USER_POOL_CLIENT = "WebClient"

LOCAL_ACCOUNT_ID = "123456789012"
"""moto's default account: ARNs the local stack builds must name it."""


@dataclass(frozen=True, slots=True)
class TableSpec:
    attribute_definitions: list[dict[str, str]]
    key_schema: list[dict[str, str]]
    global_secondary_indexes: list[dict[str, Any]]
    billing_mode: str
    ttl_attribute: str | None


@dataclass(frozen=True, slots=True)
class BucketSpec:
    versioned: bool
    notification_events: list[str]
    notification_prefix: str
    public_access_block: dict[str, bool] | None


@dataclass(frozen=True, slots=True)
class QueueSpec:
    visibility_timeout: int
    max_receive_count: int
    message_retention: int | None


@dataclass(frozen=True, slots=True)
class DeadLetterQueueSpec:
    message_retention: int


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    logical_id: str
    handler: str
    timeout: int
    memory_size: int
    environment: dict[str, Any]
    """Globals' variables and the function's, merged as SAM merges them; values as written."""


@dataclass(frozen=True, slots=True)
class SqsEventSpec:
    batch_size: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None


@dataclass(frozen=True, slots=True)
class UserPoolSpec:
    create_arguments: dict[str, Any]
    """CreateUserPool arguments copied from the template's literal properties."""
    client_arguments: dict[str, Any]
    """CreateUserPoolClient arguments, with password sign-in added for local use."""
    password_policy: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Blueprint:
    """The local stack's resources and functions, as the template declares them."""

    table: TableSpec
    bucket: BucketSpec
    queue: QueueSpec
    dead_letter_queue: DeadLetterQueueSpec
    worker: FunctionSpec
    worker_event: SqsEventSpec
    api: FunctionSpec
    user_pool: UserPoolSpec
    parameters: dict[str, Any] = field(default_factory=dict)
    """Parameter defaults, for resolving `!Ref Parameter` in environment values."""


def derive_blueprint(template: Mapping[str, Any]) -> Blueprint:
    """Read the local stack's shapes from a loaded template (see `template.load_template`)."""
    resources = template.get("Resources")
    if not isinstance(resources, Mapping):
        raise TemplateError("template.yaml has no Resources")
    parameters = {
        name: spec.get("Default")
        for name, spec in _mapping(template.get("Parameters", {}), "Parameters").items()
        if isinstance(spec, Mapping)
    }
    return Blueprint(
        table=_table(resources),
        bucket=_bucket(resources),
        queue=_queue(resources),
        dead_letter_queue=_dead_letter_queue(resources),
        worker=_function(template, WORKER),
        worker_event=_worker_event(resources),
        api=_function(template, API),
        user_pool=_user_pool(resources),
        parameters=parameters,
    )


# --- helpers ---------------------------------------------------------------------------------


def is_intrinsic(value: Any) -> bool:
    """True for `{"Ref": ...}` / `{"Fn::...": ...}` (CloudFormation computes these at deploy)."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    (name,) = value.keys()
    return name in ("Ref", "Condition") or str(name).startswith("Fn::")


_PSEUDO_PARAMETERS = {
    "AWS::AccountId": LOCAL_ACCOUNT_ID,
    "AWS::Partition": "aws",
    "AWS::StackName": "local",
    "AWS::URLSuffix": "amazonaws.com",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


def resolve_value(value: Any, parameters: Mapping[str, Any], region: str) -> str | None:
    """An environment value as Lambda would see it, or None if only a deploy can compute it.

    Literals, `!Ref` to a parameter with a default or to a pseudo parameter, and `!Sub` over
    those resolve; anything naming a resource does not.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    pseudo = {**_PSEUDO_PARAMETERS, "AWS::Region": region}
    if isinstance(value, Mapping) and set(value) == {"Ref"}:
        name = str(value["Ref"])
        if name in pseudo:
            return pseudo[name]
        default = parameters.get(name)
        return None if default is None else resolve_value(default, parameters, region)
    if (
        isinstance(value, Mapping)
        and set(value) == {"Fn::Sub"}
        and isinstance(value["Fn::Sub"], str)
    ):
        unresolved = False

        def substitute(match: re.Match[str]) -> str:
            nonlocal unresolved
            resolved = resolve_value({"Ref": match[1]}, parameters, region)
            if resolved is None:
                unresolved = True
                return ""
            return resolved

        text = _SUB_VARIABLE.sub(substitute, value["Fn::Sub"])
        return None if unresolved else text
    return None


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or is_intrinsic(value):
        raise TemplateError(f"{where} must be a literal mapping")
    return value


def _resource(resources: Mapping[str, Any], logical_id: str, type_: str) -> Mapping[str, Any]:
    resource = resources.get(logical_id)
    if not isinstance(resource, Mapping):
        raise TemplateError(f"template.yaml has no resource {logical_id} ({type_})")
    if resource.get("Type") != type_:
        raise TemplateError(f"{logical_id} must be {type_}, not {resource.get('Type')}")
    return _mapping(resource.get("Properties", {}), f"{logical_id}.Properties")


def _literal(properties: Mapping[str, Any], path: str, where: str, *, default: Any = ...) -> Any:
    """The value at a dotted path, refusing intrinsics anywhere inside it."""
    value: Any = properties
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            if default is not ...:
                return default
            raise TemplateError(f"{where}.{path} is required by the local stack")
        value = value[part]
    if _contains_intrinsic(value):
        raise TemplateError(
            f"{where}.{path} must be a literal value (the local stack copies it), not {value!r}"
        )
    return value


def _contains_intrinsic(value: Any) -> bool:
    items = (
        value.values() if isinstance(value, Mapping) else value if isinstance(value, list) else []
    )
    return is_intrinsic(value) or any(_contains_intrinsic(item) for item in items)


def _integer(props: Mapping[str, Any], path: str, where: str, *, default: Any = ...) -> Any:
    """`_literal` as an integer (None stays None when it is the default)."""
    value = _literal(props, path, where, default=default)
    return None if value is None else _int(value, f"{where}.{path}")


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise TemplateError(f"{where} must be an integer, not {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise TemplateError(f"{where} must be an integer, not {value!r}") from error


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _get_att(value: Any) -> tuple[str, str] | None:
    if isinstance(value, Mapping) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        if isinstance(target, list) and len(target) == 2:
            return str(target[0]), str(target[1])
    return None


# --- resources -------------------------------------------------------------------------------


def _table(resources: Mapping[str, Any]) -> TableSpec:
    where = TABLE
    props = _resource(resources, TABLE, "AWS::DynamoDB::Table")
    key_schema = _literal(props, "KeySchema", where)
    indexes = _literal(props, "GlobalSecondaryIndexes", where, default=[])
    if not any(index.get("IndexName") == OWNER_INDEX_NAME for index in indexes):
        raise TemplateError(f"{where} must declare the GSI {OWNER_INDEX_NAME} (assets.model)")
    if {"AttributeName": "assetId", "KeyType": "HASH"} not in key_schema:
        raise TemplateError(f"{where}.KeySchema must have assetId as its HASH key")
    ttl = _literal(props, "TimeToLiveSpecification", where, default=None)
    ttl_attribute = None
    if ttl is not None and _bool(ttl.get("Enabled", False)):
        ttl_attribute = str(ttl["AttributeName"])
    return TableSpec(
        attribute_definitions=[
            dict(item) for item in _literal(props, "AttributeDefinitions", where)
        ],
        key_schema=[dict(item) for item in key_schema],
        global_secondary_indexes=[copy.deepcopy(index) for index in indexes],
        billing_mode=str(_literal(props, "BillingMode", where, default="PROVISIONED")),
        ttl_attribute=ttl_attribute,
    )


def _bucket(resources: Mapping[str, Any]) -> BucketSpec:
    where = BUCKET
    props = _resource(resources, BUCKET, "AWS::S3::Bucket")
    status = _literal(props, "VersioningConfiguration.Status", where, default="Suspended")
    notification = props.get("NotificationConfiguration", {})
    configurations = (
        notification.get("QueueConfigurations", []) if isinstance(notification, Mapping) else []
    )
    for configuration in configurations if isinstance(configurations, list) else []:
        if _get_att(configuration.get("Queue")) != (QUEUE, "Arn"):
            continue
        event = _literal(configuration, "Event", f"{where}.NotificationConfiguration")
        rules = _literal(
            configuration, "Filter.S3Key.Rules", f"{where}.NotificationConfiguration", default=[]
        )
        prefixes = [
            rule["Value"] for rule in rules if str(rule.get("Name", "")).lower() == "prefix"
        ]
        prefix = prefixes[0] if prefixes else ""
        if prefix != SOURCE_PREFIX:
            raise TemplateError(
                f"{where}'s notification to {QUEUE} must filter on the prefix {SOURCE_PREFIX}"
                f" (assets.model.SOURCE_PREFIX), not {prefix!r}"
            )
        block = _literal(props, "PublicAccessBlockConfiguration", where, default=None)
        return BucketSpec(
            versioned=status == "Enabled",
            notification_events=[str(event)],
            notification_prefix=prefix,
            public_access_block={name: _bool(value) for name, value in block.items()}
            if block
            else None,
        )
    raise TemplateError(
        f"{where}.NotificationConfiguration.QueueConfigurations must send to !GetAtt {QUEUE}.Arn"
    )


def _queue(resources: Mapping[str, Any]) -> QueueSpec:
    where = QUEUE
    props = _resource(resources, QUEUE, "AWS::SQS::Queue")
    redrive = props.get("RedrivePolicy")
    if not isinstance(redrive, Mapping) or _get_att(redrive.get("deadLetterTargetArn")) != (
        DEAD_LETTER_QUEUE,
        "Arn",
    ):
        raise TemplateError(
            f"{where}.RedrivePolicy must name !GetAtt {DEAD_LETTER_QUEUE}.Arn as deadLetterTargetArn"
        )
    return QueueSpec(
        visibility_timeout=_integer(props, "VisibilityTimeout", where),
        max_receive_count=_integer(redrive, "maxReceiveCount", f"{where}.RedrivePolicy"),
        message_retention=_integer(props, "MessageRetentionPeriod", where, default=None),
    )


def _dead_letter_queue(resources: Mapping[str, Any]) -> DeadLetterQueueSpec:
    props = _resource(resources, DEAD_LETTER_QUEUE, "AWS::SQS::Queue")
    return DeadLetterQueueSpec(_integer(props, "MessageRetentionPeriod", DEAD_LETTER_QUEUE))


def _function(template: Mapping[str, Any], logical_id: str) -> FunctionSpec:
    _resource(template["Resources"], logical_id, SERVERLESS_FUNCTION)
    merged = function_properties(dict(template), logical_id)
    variables = _mapping(merged.get("Environment", {}), f"{logical_id}.Environment")
    return FunctionSpec(
        logical_id=logical_id,
        handler=str(_literal(merged, "Handler", logical_id)),
        timeout=_integer(merged, "Timeout", logical_id, default=3),
        memory_size=_integer(merged, "MemorySize", logical_id, default=128),
        environment=dict(_mapping(variables.get("Variables", {}), f"{logical_id}.Variables")),
    )


def _worker_event(resources: Mapping[str, Any]) -> SqsEventSpec:
    props = _resource(resources, WORKER, SERVERLESS_FUNCTION)
    where = f"{WORKER}.Events.{WORKER_EVENT}"
    event = _mapping(props.get("Events", {}), f"{WORKER}.Events").get(WORKER_EVENT)
    if not isinstance(event, Mapping) or event.get("Type") != "SQS":
        raise TemplateError(f"{where} must be an event of Type SQS")
    event_props = _mapping(event.get("Properties", {}), f"{where}.Properties")
    if _get_att(event_props.get("Queue")) != (QUEUE, "Arn"):
        raise TemplateError(f"{where}.Properties.Queue must be !GetAtt {QUEUE}.Arn")
    response_types = _literal(event_props, "FunctionResponseTypes", where, default=[])
    return SqsEventSpec(
        batch_size=_integer(event_props, "BatchSize", where, default=10),
        report_batch_item_failures="ReportBatchItemFailures" in response_types,
        maximum_concurrency=_integer(
            event_props, "ScalingConfig.MaximumConcurrency", where, default=None
        ),
    )


_POOL_PROPERTIES = (
    "Policies",
    "UsernameAttributes",
    "AliasAttributes",
    "AutoVerifiedAttributes",
    "AdminCreateUserConfig",
    "Schema",
    "UsernameConfiguration",
    "AccountRecoverySetting",
)
_CLIENT_PROPERTIES = (
    "ExplicitAuthFlows",
    "PreventUserExistenceErrors",
    "AccessTokenValidity",
    "IdTokenValidity",
    "RefreshTokenValidity",
    "TokenValidityUnits",
    "EnableTokenRevocation",
)
LOCAL_AUTH_FLOWS = ("ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")
"""Added to the client locally: moto has no hosted UI, so the page signs in with a password."""


def _user_pool(resources: Mapping[str, Any]) -> UserPoolSpec:
    pool = _resource(resources, USER_POOL, "AWS::Cognito::UserPool")
    client = _resource(resources, USER_POOL_CLIENT, "AWS::Cognito::UserPoolClient")
    if client.get("UserPoolId") != {"Ref": USER_POOL}:
        raise TemplateError(f"{USER_POOL_CLIENT}.UserPoolId must be !Ref {USER_POOL}")
    if _bool(client.get("GenerateSecret", False)):
        raise TemplateError(f"{USER_POOL_CLIENT} must be a public client (GenerateSecret false)")
    create = {
        name: _coerce(copy.deepcopy(pool[name]))
        for name in _POOL_PROPERTIES
        if name in pool and not _contains_intrinsic(pool[name])
    }
    admin = create.get("AdminCreateUserConfig", {})
    if not admin.get("AllowAdminCreateUserOnly", False):
        raise TemplateError(
            f"{USER_POOL}.AdminCreateUserConfig.AllowAdminCreateUserOnly must be true (no self sign-up)"
        )
    client_args = {
        name: _coerce(copy.deepcopy(client[name]))
        for name in _CLIENT_PROPERTIES
        if name in client and not _contains_intrinsic(client[name])
    }
    flows = list(client_args.get("ExplicitAuthFlows", []))
    client_args["ExplicitAuthFlows"] = flows + [
        flow for flow in LOCAL_AUTH_FLOWS if flow not in flows
    ]
    client_args["GenerateSecret"] = False
    return UserPoolSpec(
        create_arguments=create,
        client_arguments=client_args,
        password_policy=dict(create.get("Policies", {}).get("PasswordPolicy", {})),
    )


_INT_KEYS = frozenset(
    {
        "MinimumLength",
        "TemporaryPasswordValidityDays",
        "PasswordHistorySize",
        "UnusedAccountValidityDays",
        "Priority",
        "AccessTokenValidity",
        "IdTokenValidity",
        "RefreshTokenValidity",
    }
)


def _coerce(value: Any, key: str = "") -> Any:
    """CloudFormation accepts "true" and "14" where the Cognito API needs true and 14."""
    if isinstance(value, dict):
        return {name: _coerce(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_coerce(item, key) for item in value]
    if (
        isinstance(value, str)
        and value.lower() in ("true", "false")
        and key not in ("Value", "Name")
    ):
        return value.lower() == "true"
    if key in _INT_KEYS and isinstance(value, str) and value.isdigit():
        return int(value)
    return value
