"""The security and reliability boundaries template.yaml promises, read from the template itself."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.middleware.cors import CORSMiddleware

from api.app import create_app
from assets.model import OWNER_INDEX_NAME, PROCESSED_PREFIX, SOURCE_PREFIX
from assets.settings import ApiSettings, load_settings
from local_stack.blueprint import derive_blueprint
from tests.unit.template.cfn import (
    PREVIEW,
    PRODUCTION,
    Stack,
    arn_name,
    as_list,
    function,
    properties,
    resources,
    role_grants,
    template,
)

ALL_BLOCKED = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}
RETAINED_IN_PRODUCTION = ("AssetsTable", "AssetBucket", "SiteBucket", "UserPool")


def _globals_function() -> dict[str, Any]:
    function: dict[str, Any] = template()["Globals"]["Function"]
    return function


def _function(logical_id: str) -> dict[str, Any]:
    return function(logical_id)


# --- storage ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", [PREVIEW, PRODUCTION], ids=["preview", "production"])
def test_every_bucket_blocks_public_access_and_refuses_plain_http(stack: Stack) -> None:
    # GIVEN every bucket the stack creates in this environment
    buckets = stack.resources("AWS::S3::Bucket")
    policies = {
        arn_name(policy["Properties"]["Bucket"]): policy["Properties"]["PolicyDocument"]
        for policy in stack.resources("AWS::S3::BucketPolicy").values()
    }
    assert {"AssetBucket", "SiteBucket"} <= set(buckets)
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        # THEN none can be made public, none accepts ACLs, all are encrypted at rest ...
        assert props["PublicAccessBlockConfiguration"] == ALL_BLOCKED, name
        assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
        sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert sse[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, name
        # ... and each bucket's policy denies every request not made over TLS
        denies = [
            statement
            for statement in policies[name]["Statement"]
            if statement["Effect"] == "Deny"
            and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert denies, f"{name} has no TLS-only statement"
        assert denies[0]["Action"] == "s3:*"
        assert denies[0]["Principal"] == "*"


def test_asset_bucket_lifecycle_aborts_uploads_and_expires_old_versions() -> None:
    rules = {
        rule["Id"]: rule for rule in properties("AssetBucket")["LifecycleConfiguration"]["Rules"]
    }
    assert all(rule["Status"] == "Enabled" for rule in rules.values())
    abort = [r for r in rules.values() if "AbortIncompleteMultipartUpload" in r]
    assert abort[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    noncurrent = [r for r in rules.values() if "NoncurrentVersionExpiration" in r]
    assert noncurrent[0]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    # Expiring current objects is allowed only for originals, never for published assets.
    expiring = [r for r in rules.values() if "ExpirationInDays" in r]
    assert [r.get("Prefix") for r in expiring] == [SOURCE_PREFIX]
    dlq_retention_days = properties("AssetsDeadLetterQueue")["MessageRetentionPeriod"] / 86400
    assert expiring[0]["ExpirationInDays"] > dlq_retention_days


def test_replaced_and_deleted_originals_are_gone_within_a_day() -> None:
    # Issue 15.3: a form POSTed again leaves versions; none of them may be kept for weeks.
    rules = properties("AssetBucket")["LifecycleConfiguration"]["Rules"]
    uploads = [r for r in rules if r.get("Prefix") == "uploads/"]
    assert [r["NoncurrentVersionExpiration"] for r in uploads] == [{"NoncurrentDays": 1}]
    assert SOURCE_PREFIX.startswith("uploads/")


def test_asset_bucket_cors_allows_only_browser_form_posts() -> None:
    for stack in (
        PREVIEW,
        Stack.for_environment("preview", AdditionalAllowedOrigins="http://localhost:5173"),
    ):
        (rule,) = stack.resolve(properties("AssetBucket")["CorsConfiguration"]["CorsRules"])
        assert rule["AllowedMethods"] == ["POST"]
        origins = rule["AllowedOrigins"]
        assert "*" not in str(origins).replace("https://*.cloudfront.net", "")
    extra = Stack.for_environment("preview", AdditionalAllowedOrigins="http://localhost:5173")
    (rule,) = extra.resolve(properties("AssetBucket")["CorsConfiguration"]["CorsRules"])
    assert rule["AllowedOrigins"] == {
        "Fn::Split": [",", {"Fn::Sub": "https://*.cloudfront.net,${AdditionalAllowedOrigins}"}]
    }


def test_assets_table_matches_the_repository() -> None:
    props = properties("AssetsTable")
    assert props["KeySchema"] == [{"AttributeName": "assetId", "KeyType": "HASH"}]
    (index,) = props["GlobalSecondaryIndexes"]
    assert index["IndexName"] == OWNER_INDEX_NAME
    assert index["KeySchema"] == [
        {"AttributeName": "ownerId", "KeyType": "HASH"},
        {"AttributeName": "createdAt", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"]["SSEEnabled"] is True
    defined = {item["AttributeName"] for item in props["AttributeDefinitions"]}
    keys = {k["AttributeName"] for k in props["KeySchema"] + index["KeySchema"]}
    assert defined == keys, "every key attribute is defined and nothing else"


# --- retention -------------------------------------------------------------------------------


@pytest.mark.parametrize("logical_id", RETAINED_IN_PRODUCTION)
def test_production_retains_data_and_a_preview_deletes_it(logical_id: str) -> None:
    resource = resources()[logical_id]
    for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
        assert PRODUCTION.resolve(resource[policy]) == "Retain", f"{logical_id}.{policy}"
        assert PREVIEW.resolve(resource[policy]) == "Delete", f"{logical_id}.{policy}"


def test_language_extensions_resolve_the_retention_conditions() -> None:
    # Fn::If in DeletionPolicy is only legal under AWS::LanguageExtensions, applied first.
    assert template()["Transform"] == ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]
    assert template()["Conditions"]["IsProduction"] == {
        "Fn::Equals": [{"Ref": "Environment"}, "production"]
    }
    assert template()["Parameters"]["Environment"]["AllowedValues"] == ["preview", "production"]


def test_production_has_point_in_time_recovery_and_deletion_protection() -> None:
    table = "AssetsTable"
    assert PRODUCTION.resolve(properties(table)["PointInTimeRecoverySpecification"]) == {
        "PointInTimeRecoveryEnabled": True
    }
    assert PRODUCTION.resolve(properties(table)["DeletionProtectionEnabled"]) is True
    assert PRODUCTION.resolve(properties("UserPool")["DeletionProtection"]) == "ACTIVE"
    # A preview must be deletable by `sam delete`.
    assert PREVIEW.resolve(properties(table)["DeletionProtectionEnabled"]) is False
    assert PREVIEW.resolve(properties("UserPool")["DeletionProtection"]) == "INACTIVE"


def test_production_keeps_access_logs_of_both_buckets() -> None:
    assert "AccessLogsBucket" in PRODUCTION.resources()
    assert "AccessLogsBucket" not in PREVIEW.resources()
    for bucket in ("AssetBucket", "SiteBucket"):
        logging = PRODUCTION.resolve(properties(bucket))["LoggingConfiguration"]
        assert logging["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
        assert "LoggingConfiguration" not in PREVIEW.resolve(properties(bucket))


# --- queue -----------------------------------------------------------------------------------


def test_uploads_notify_the_queue_only_for_originals() -> None:
    (notification,) = properties("AssetBucket")["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": SOURCE_PREFIX}]
    assert arn_name(notification["Queue"]) == "AssetsQueue"
    assert "AssetsQueuePolicy" in as_list(resources()["AssetBucket"]["DependsOn"])


def test_visibility_timeout_covers_six_worker_timeouts_and_the_lease() -> None:
    worker = _function("WorkerFunction")
    visibility = properties("AssetsQueue")["VisibilityTimeout"]
    assert isinstance(visibility, int)
    assert visibility >= 6 * worker["Timeout"]
    # The lease must outlive an invocation, and a redelivery must find it expired.
    lease = int(worker["Environment"]["Variables"]["LEASE_SECONDS"])
    assert worker["Timeout"] < lease < visibility


def test_failed_messages_go_to_the_dead_letter_queue_after_five_receives() -> None:
    redrive = properties("AssetsQueue")["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == 5
    assert arn_name(redrive["deadLetterTargetArn"]) == "AssetsDeadLetterQueue"
    assert properties("AssetsDeadLetterQueue")["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert properties("AssetsQueue")["MessageRetentionPeriod"] < 14 * 24 * 3600
    for queue in ("AssetsQueue", "AssetsDeadLetterQueue"):
        assert properties(queue)["SqsManagedSseEnabled"] is True


def test_only_this_bucket_in_this_account_may_send_to_the_queue() -> None:
    policy = properties("AssetsQueuePolicy")
    assert policy["Queues"] == [{"Ref": "AssetsQueue"}]
    allows = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    (allow,) = allows
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    bucket_name = properties("AssetBucket")["BucketName"]["Fn::Sub"]
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == {
        "Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket_name}"
    }
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_worker_consumes_the_queue_in_small_batches_reporting_partial_failures() -> None:
    worker = _function("WorkerFunction")
    assert worker["Handler"] == "worker.main.handler"
    event = worker["Events"]["AssetsQueueEvent"]
    assert event["Type"] == "SQS"
    assert arn_name(event["Properties"]["Queue"]) == "AssetsQueue"
    assert event["Properties"]["BatchSize"] == 5
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 2 <= event["Properties"]["ScalingConfig"]["MaximumConcurrency"] <= 10


# --- API -------------------------------------------------------------------------------------


def test_every_route_but_health_requires_a_cognito_jwt() -> None:
    api = properties("HttpApi")
    assert api["Auth"]["DefaultAuthorizer"] == "CognitoAuthorizer"
    jwt = api["Auth"]["Authorizers"]["CognitoAuthorizer"]["JwtConfiguration"]
    assert jwt["issuer"] == {
        "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"
    }
    assert jwt["audience"] == [{"Ref": "WebClient"}]
    routes = {}
    for logical_id, resource in resources("AWS::Serverless::Function").items():
        for name, event in resource["Properties"].get("Events", {}).items():
            if event["Type"] != "HttpApi":
                continue
            props = event["Properties"]
            assert props["ApiId"] == {"Ref": "HttpApi"}, f"{logical_id}.{name} is on another API"
            authorizer = props.get("Auth", {}).get("Authorizer", "CognitoAuthorizer")
            routes[f"{props['Method']} {props['Path']}"] = authorizer
    assert routes == {
        "POST /assets": "CognitoAuthorizer",
        "GET /assets": "CognitoAuthorizer",
        "GET /assets/{assetId}": "CognitoAuthorizer",
        "DELETE /assets/{assetId}": "CognitoAuthorizer",
        "GET /health": "NONE",
    }


def test_api_cors_names_the_distribution_and_throttles() -> None:
    api = properties("HttpApi")
    origins = PREVIEW.resolve(api["CorsConfiguration"]["AllowOrigins"])
    assert origins == [{"Fn::Sub": "https://${Distribution.DomainName}"}]
    assert api["CorsConfiguration"]["AllowCredentials"] is False
    assert set(api["CorsConfiguration"]["AllowMethods"]) == {"GET", "POST", "DELETE"}
    assert api["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert (
        api["RouteSettings"]["POST /assets"]["ThrottlingRateLimit"]
        <= api["DefaultRouteSettings"]["ThrottlingRateLimit"]
    )
    assert arn_name(api["AccessLogSettings"]["DestinationArn"]) == "ApiAccessLogGroup"


# --- Cognito ---------------------------------------------------------------------------------


def test_user_pool_has_no_self_sign_up_and_a_strong_password_policy() -> None:
    pool = properties("UserPool")
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["UsernameAttributes"] == ["email"]
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 14
    for required in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"):
        assert policy[required] is True
    assert pool["AccountRecoverySetting"]["RecoveryMechanisms"] == [
        {"Name": "verified_email", "Priority": 1}
    ]


def test_web_client_is_a_public_pkce_client_returning_to_the_distribution() -> None:
    client = properties("WebClient")
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthScopes"] == ["openid", "email"]
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    page = {"Fn::Sub": "https://${Distribution.DomainName}/"}
    assert PREVIEW.resolve(client["CallbackURLs"]) == [page]
    assert PREVIEW.resolve(client["LogoutURLs"]) == [page]
    assert not any("IMPLICIT" in flow or "PASSWORD" in flow for flow in client["ExplicitAuthFlows"])
    assert properties("UserPoolDomain")["UserPoolId"] == {"Ref": "UserPool"}


# --- CloudFront ------------------------------------------------------------------------------


def _distribution() -> dict[str, Any]:
    config: dict[str, Any] = properties("Distribution")["DistributionConfig"]
    return config


def test_the_only_cloudfront_path_to_the_asset_bucket_is_processed_assets() -> None:
    config = _distribution()
    to_assets = [
        origin
        for origin in config["Origins"]
        if arn_name(origin["DomainName"]) == "AssetBucket.RegionalDomainName"
    ]
    (origin,) = to_assets
    assert origin["OriginPath"] == "/processed"
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["OriginAccessControl", "Id"]}
    behaviours = [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]
    serving_assets = [b for b in behaviours if b["TargetOriginId"] == origin["Id"]]
    assert [b.get("PathPattern") for b in serving_assets] == ["/assets/*"]
    # /assets/<name> + origin path /processed is exactly the worker's output prefix.
    assert origin["OriginPath"].strip("/") + "/assets/" == PROCESSED_PREFIX
    assert config["DefaultCacheBehavior"]["TargetOriginId"] != origin["Id"]


def test_the_distribution_may_read_only_published_assets() -> None:
    statements = properties("AssetBucketPolicy")["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert arn_name(allow["Resource"]) == f"AssetBucket/{PROCESSED_PREFIX}*"
    assert allow["Condition"]["StringEquals"]["AWS:SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"
    }


def test_every_origin_is_signed_and_every_behaviour_is_https_with_security_headers() -> None:
    config = _distribution()
    oac = properties("OriginAccessControl")["OriginAccessControlConfig"]
    assert oac["SigningBehavior"] == "always"
    assert oac["OriginAccessControlOriginType"] == "s3"
    for origin in config["Origins"]:
        assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["OriginAccessControl", "Id"]}
        assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    for behaviour in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert behaviour["ViewerProtocolPolicy"] in ("https-only", "redirect-to-https")
        assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD"}
        policy_id = arn_name(behaviour["ResponseHeadersPolicyId"])
        headers = properties(policy_id)["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        assert headers["ContentTypeOptions"] == {"Override": True}
        assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
        assert headers["ReferrerPolicy"]["ReferrerPolicy"] in (
            "no-referrer",
            "same-origin",
            "strict-origin",
            "strict-origin-when-cross-origin",
        )
    assert config["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True}


# --- IAM -------------------------------------------------------------------------------------

_ORIGINALS = f"AssetBucket/{SOURCE_PREFIX}*"
_PROCESSED = f"AssetBucket/{PROCESSED_PREFIX}*"
_RUNTIME: set[tuple[str, str]] = set()
"""Grants both roles need besides their own (none since tracing went: X-Ray wanted "*")."""


def test_api_role_is_exactly_the_shared_contract() -> None:
    grants = {(g.action, g.resource) for g in role_grants("ApiFunctionRole")}
    assert grants == _RUNTIME | {
        ("logs:CreateLogStream", "ApiLogGroup"),
        ("logs:PutLogEvents", "ApiLogGroup"),
        ("dynamodb:PutItem", "AssetsTable"),
        ("dynamodb:GetItem", "AssetsTable"),
        ("dynamodb:DeleteItem", "AssetsTable"),
        ("dynamodb:Query", f"AssetsTable/index/{OWNER_INDEX_NAME}"),
        ("s3:PutObject", _ORIGINALS),
        ("s3:DeleteObject", _ORIGINALS),
        ("s3:DeleteObject", _PROCESSED),
    }


def test_worker_role_is_exactly_the_shared_contract() -> None:
    grants = {(g.action, g.resource) for g in role_grants("WorkerFunctionRole")}
    assert grants == _RUNTIME | {
        ("logs:CreateLogStream", "WorkerLogGroup"),
        ("logs:PutLogEvents", "WorkerLogGroup"),
        ("sqs:ReceiveMessage", "AssetsQueue"),
        ("sqs:DeleteMessage", "AssetsQueue"),
        ("sqs:GetQueueAttributes", "AssetsQueue"),
        ("dynamodb:GetItem", "AssetsTable"),
        ("dynamodb:UpdateItem", "AssetsTable"),
        ("s3:GetObject", _ORIGINALS),
        ("s3:GetObjectVersion", _ORIGINALS),
        ("s3:ListBucket", "AssetBucket"),
        ("s3:PutObject", _PROCESSED),
        ("s3:DeleteObject", _ORIGINALS),
        ("s3:DeleteObject", _PROCESSED),
        # A form POSTed again after the decision: that version goes for good (issue 15.3).
        ("s3:DeleteObjectVersion", _ORIGINALS),
    }
    # Listing is the bucket-level grant S3 needs to answer a missing original with 404, not 403.
    (listing,) = [g for g in role_grants("WorkerFunctionRole") if g.action == "s3:ListBucket"]
    assert listing.resource == "AssetBucket"


@pytest.mark.parametrize("role", ["ApiFunctionRole", "WorkerFunctionRole"])
def test_no_wildcard_action_and_no_wildcard_resource_for_data(role: str) -> None:
    for grant in role_grants(role):
        assert "*" not in grant.action, grant
        assert grant.resource != "*", grant
    assert properties(role)["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]


@pytest.mark.parametrize("name", ["ApiFunction", "WorkerFunction"])
def test_each_function_has_its_own_role_and_log_group(name: str) -> None:
    props = _function(name)
    assert props["Role"] == {"Fn::GetAtt": [f"{name}Role", "Arn"]}
    assert "Policies" not in props, "the role is explicit; SAM must not add managed policies"
    assert props["LoggingConfig"] == {
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "LogGroup": {"Ref": name.replace("Function", "LogGroup")},
    }
    log_group = properties(name.replace("Function", "LogGroup"))
    assert PREVIEW.resolve(log_group["RetentionInDays"]) <= PRODUCTION.resolve(
        log_group["RetentionInDays"]
    )


# --- runtime ---------------------------------------------------------------------------------


def test_functions_run_python_313_on_arm64_with_json_logs_and_no_tracing() -> None:
    function = _globals_function()
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    # Tracing off (no X-Ray SDK at cold start), and nothing half-configured for it.
    assert function["Tracing"] == "PassThrough"
    assert "POWERTOOLS_TRACE_DISABLED" not in function["Environment"]["Variables"]
    assert function["LoggingConfig"]["LogFormat"] == "JSON"
    api, worker = _function("ApiFunction"), _function("WorkerFunction")
    assert api["Handler"] == "api.main.handler"
    assert api["Timeout"] <= 29, "API Gateway gives up at 30 s"
    assert 512 <= api["MemorySize"] <= 1024
    assert worker["Timeout"] <= 900


def test_alarms_watch_the_dlq_queue_age_api_errors_and_worker_errors() -> None:
    watched = {
        (alarm["Properties"]["Namespace"], alarm["Properties"]["MetricName"], arn_name(d["Value"]))
        for alarm in resources("AWS::CloudWatch::Alarm").values()
        for d in alarm["Properties"]["Dimensions"][:1]
    }
    assert watched == {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "AssetsDeadLetterQueue.QueueName"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", "AssetsQueue.QueueName"),
        ("AWS/ApiGateway", "5xx", "HttpApi"),
        ("AWS/Lambda", "Errors", "WorkerFunction"),
    }
    email = Stack.for_environment("preview", AlarmEmail="ops@example.com")
    for alarm in email.resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    for alarm in PREVIEW.resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == []


def test_every_checkov_skip_says_why() -> None:
    skips = [
        (name, skip)
        for name, resource in resources().items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "the template documents its checkov decisions"
    for name, skip in skips:
        assert skip["id"].startswith(("CKV_AWS_", "CKV2_AWS_")), (name, skip)
        assert len(skip.get("comment", "")) >= 40, f"{name}: {skip['id']} needs a real reason"


def test_the_local_stack_can_derive_its_resources_from_the_template() -> None:
    # The local stack copies these shapes; any intrinsic where it needs a literal fails here.
    blueprint = derive_blueprint(template())
    assert blueprint.bucket.notification_prefix == SOURCE_PREFIX
    assert blueprint.bucket.public_access_block == ALL_BLOCKED
    assert blueprint.queue.max_receive_count == 5
    assert blueprint.worker_event.report_batch_item_failures is True
    assert blueprint.user_pool.create_arguments["AdminCreateUserConfig"] == {
        "AllowAdminCreateUserOnly": True
    }


def test_api_gateway_cors_matches_the_apps_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the CORS the app applies when nothing sits in front of it (the local stack)
    for name, value in {
        "ASSETS_TABLE_NAME": "t",
        "ASSET_BUCKET_NAME": "b",
        "ASSET_BASE_URL": "http://127.0.0.1:8700/assets",
        "COGNITO_USER_POOL_ID": "us-east-1_AbC123",
        "COGNITO_CLIENT_ID": "client",
        "CORS_ALLOW_ORIGINS": "http://127.0.0.1:8700",
    }.items():
        monkeypatch.setenv(name, value)
    app = create_app(load_settings(ApiSettings))
    middleware: list[Any] = list(app.user_middleware)
    (cors,) = [m for m in middleware if m.cls is CORSMiddleware]
    local: dict[str, Any] = dict(cors.kwargs)
    # THEN API Gateway, which answers CORS in AWS, allows the same and exposes at least as much
    deployed = properties("HttpApi")["CorsConfiguration"]
    assert set(deployed["AllowMethods"]) == set(local["allow_methods"])
    assert set(deployed["AllowHeaders"]) == set(local["allow_headers"])
    assert set(deployed["ExposeHeaders"]) >= set(local["expose_headers"])
    assert "retry-after" in deployed["ExposeHeaders"], "the page reads Retry-After"
    assert deployed["MaxAge"] == local["max_age"]
