"""Warm per-request overhead of the app: requests through the Lambda handler minus the same AWS calls.

Each iteration sends `POST /assets`, `GET /assets/{id}` and a `GET /assets/{id}` for an id with no
record (the 404 path) as API Gateway v2 events through the Lambda handler (`api.main.handler`'s
class), then makes the AWS calls those requests make (the form's slot UpdateItem, presign,
PutItem; GetItem; GetItem) directly with the same boto3 clients and the same parameters (a record
of the same shape, the form's same conditions); the overhead is the paired difference. Logging is
on, at INFO, to /dev/null. AWS is `--aws stub` (default: botocore answers
every call at once with a fixed response, so AWS costs the same near-nothing on both paths and the
difference is the app alone) or `--aws moto` (moto in-process: real semantics, but its own latency
and jitter swamp a sub-millisecond figure).
JWT verification is measured twice: a token seen before (the verifier remembers tokens that passed,
so a polling page pays once) and distinct tokens never seen (the RSA signature check every new
token costs).
Usage: python bench/api_warm_overhead.py [--iterations N] [--aws stub|moto] [--tokens N] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench.support import OFFLINE_AWS_ENV, emit_json, human_stream, percentile  # noqa: E402

os.environ.update(OFFLINE_AWS_ENV)

import boto3  # noqa: E402
import httpx  # noqa: E402
from jose import jwk  # noqa: E402
from moto import mock_aws  # noqa: E402

from api.app import create_app  # noqa: E402
from api.lambda_adapter import LambdaAdapter  # noqa: E402
from api.security import CognitoTokenVerifier, JwksCache  # noqa: E402
from assets.aws import AwsClients  # noqa: E402
from assets.model import ImageType, new_upload, to_item  # noqa: E402
from assets.pending import PendingUploads  # noqa: E402
from assets.settings import ApiSettings  # noqa: E402
from testbed.aws import create_asset_bucket, create_assets_table  # noqa: E402
from testbed.events import http_api_event, lambda_context  # noqa: E402
from testbed.tokens import TokenForge, moto_private_jwk, moto_public_jwks  # noqa: E402

REGION = "us-east-1"


STUB_ASSET_ID = "307d0b55-05d1-4c0f-a0fb-4c3e1083e3df"
MISSING_ASSET_ID = "9b2e4c1a-7d3f-4e8a-b5c6-0f1e2d3c4b5a"


class _Answer:
    status_code = 200
    headers: dict[str, str] = {}  # noqa: RUF012
    content = b""


def _stub_aws(dynamodb: Any, owner: str) -> None:
    """Answer the API's DynamoDB calls at once with fixed responses (presigning is local)."""
    item = {
        "assetId": {"S": STUB_ASSET_ID},
        "ownerId": {"S": owner},
        "status": {"S": "uploading"},
        "contentType": {"S": "image/png"},
        "sourceKey": {"S": f"uploads/originals/{STUB_ASSET_ID}.png"},
        "createdAt": {"S": "2026-06-21T10:15:00.000Z"},
        "updatedAt": {"S": "2026-06-21T10:15:00.000Z"},
        "expiresAt": {"N": "99999999999"},
    }
    answers: dict[str, dict[str, Any]] = {"PutItem": {}, "UpdateItem": {}}
    for operation, answer in answers.items():
        dynamodb.meta.events.register(
            f"before-call.dynamodb.{operation}", lambda answer=answer, **_: (_Answer(), answer)
        )

    def get_item(params: dict[str, Any], **_: Any) -> tuple[_Answer, dict[str, Any]]:
        # `params` is the serialized request: the key is in its JSON body.
        found = STUB_ASSET_ID.encode() in params["body"]
        return _Answer(), {"Item": item} if found else {}

    dynamodb.meta.events.register("before-call.dynamodb.GetItem", get_item)


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--aws", choices=("stub", "moto"), default="stub")
    parser.add_argument("--tokens", type=int, default=500, help="distinct tokens to verify")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    args = parser.parse_args()
    from api.logs import logger

    logger.setLevel(logging.INFO)
    for log_handler in logger.handlers:
        if isinstance(log_handler, logging.StreamHandler):
            log_handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives for the process
    with mock_aws():
        create_assets_table(boto3.client("dynamodb", region_name=REGION), "assets")
        create_asset_bucket(boto3.client("s3", region_name=REGION), "asset-bucket")
        settings = ApiSettings(
            AWS_REGION=REGION,
            ASSETS_TABLE_NAME="assets",
            ASSET_BUCKET_NAME="asset-bucket",
            ASSET_BASE_URL="https://cdn.example.test/assets",
            COGNITO_USER_POOL_ID="us-east-1_bench",
            COGNITO_CLIENT_ID=("bench-client",),
            COGNITO_JWKS_URL="https://jwks.example.test/jwks.json",
            MAX_PENDING_UPLOADS=1000,
            # These requests carry no image URL; signing has its own bench (signed_urls.py).
            ASSET_DELIVERY="public",
        )
        forge = TokenForge(REGION, "us-east-1_bench", "bench-client")
        fetches = []

        def serve_jwks(request: httpx.Request) -> httpx.Response:
            fetches.append(request.url)
            return httpx.Response(200, json=moto_public_jwks())

        verifier = CognitoTokenVerifier(
            issuer=settings.cognito_issuer,
            client_ids=settings.COGNITO_CLIENT_ID,
            jwks=JwksCache(
                settings.jwks_url, http=httpx.Client(transport=httpx.MockTransport(serve_jwks))
            ),
        )
        clients = AwsClients(REGION)
        app = create_app(settings, clients=clients, verifier=verifier)
        handler = LambdaAdapter(app, lifespan="off")  # api.main.handler, over this app
        claims = forge.claims()
        token = forge.sign(claims)
        owner = claims["sub"]
        dynamodb, s3 = clients.dynamodb, clients.s3
        if args.aws == "stub":
            _stub_aws(dynamodb, owner)

        slots = PendingUploads(dynamodb, "assets")
        # The direct path's own slot item, so that its map is as big as the app's.
        dynamodb.put_item(
            TableName="assets",
            Item={"assetId": {"S": "owner#direct#uploads"}, "pendingUploads": {"M": {}}},
        )

        def record_item() -> dict[str, Any]:
            """A record as the API writes it: the same PutItem costs botocore the same."""
            record = new_upload(str(uuid.uuid4()), owner, ImageType.PNG, datetime.now(UTC), 300)
            return to_item(record)

        def direct_post(item: dict[str, Any]) -> None:
            dynamodb.update_item(
                TableName="assets",
                Key={"assetId": {"S": "owner#direct#uploads"}},
                UpdateExpression="SET pendingUploads.#asset = :until",
                ConditionExpression="attribute_exists(pendingUploads)"
                " AND size(pendingUploads) < :limit",
                ExpressionAttributeNames={"#asset": item["assetId"]["S"]},
                ExpressionAttributeValues={":until": {"N": "99999999999"}, ":limit": {"N": "1000"}},
            )
            s3.generate_presigned_post(
                Bucket="asset-bucket",
                Key=f"uploads/originals/{item['assetId']['S']}.png",
                Fields={"Content-Type": "image/png"},
                Conditions=[
                    ["eq", "$Content-Type", "image/png"],
                    ["content-length-range", 1, settings.MAX_UPLOAD_BYTES],
                ],
                ExpiresIn=300,
            )
            dynamodb.put_item(
                TableName="assets", Item=item, ConditionExpression="attribute_not_exists(assetId)"
            )

        def direct_get(asset_id: str) -> None:
            dynamodb.get_item(
                TableName="assets", Key={"assetId": {"S": asset_id}}, ConsistentRead=True
            )

        post_event = http_api_event(
            "POST", "/assets", token=token, body={"contentType": "image/png"}
        )
        missing_event = http_api_event("GET", f"/assets/{MISSING_ASSET_ID}", token=token)
        for _ in range(50):  # warm: first JWKS fetch, clients, code paths
            handler(post_event, lambda_context())
            handler(missing_event, lambda_context())
            direct_post(record_item())
        keys = ("post", "post_direct", "get", "get_direct", "missing", "missing_direct")
        rows: dict[str, list[float]] = {k: [] for k in keys}
        for _ in range(args.iterations):
            post_ms, response = timed(lambda: handler(post_event, lambda_context()))
            assert response["statusCode"] == 201, response
            asset_id = (
                STUB_ASSET_ID
                if args.aws == "stub"
                else json.loads(response["body"])["asset"]["assetId"]
            )
            if args.aws == "moto":
                # The worker's claim gives a form's slot back; here nothing claims, so untimed:
                slots.release(owner, asset_id)
                dynamodb.update_item(
                    TableName="assets",
                    Key={"assetId": {"S": "owner#direct#uploads"}},
                    UpdateExpression="SET pendingUploads = :none",
                    ExpressionAttributeValues={":none": {"M": {}}},
                )
            get_event = http_api_event("GET", f"/assets/{asset_id}", token=token)
            post_direct_ms, _ = timed(partial(direct_post, record_item()))
            get_ms, got = timed(partial(handler, get_event, lambda_context()))
            assert got["statusCode"] == 200, got
            get_direct_ms, _ = timed(partial(direct_get, asset_id))
            missing_ms, missed = timed(partial(handler, missing_event, lambda_context()))
            assert missed["statusCode"] == 404, missed
            missing_direct_ms, _ = timed(partial(direct_get, MISSING_ASSET_ID))
            timings = (
                post_ms,
                post_direct_ms,
                get_ms,
                get_direct_ms,
                missing_ms,
                missing_direct_ms,
            )
            for key, value in zip(rows, timings, strict=True):
                rows[key].append(value)
        verify_ms = [timed(lambda: verifier.verify(token))[0] for _ in range(2000)]
        # Signed before timing (RSA signing is the issuer's cost, not ours); each one new to the
        # verifier, so each is a full check: header, key lookup, signature, claims.
        signing_key = jwk.construct(moto_private_jwk(), "RS256")  # built once: it costs ~0.2 s
        fresh = [
            forge.sign(forge.claims(jti=f"bench-{n}"), key=signing_key) for n in range(args.tokens)
        ]
        uncached_ms = [timed(partial(verifier.verify, fresh_token))[0] for fresh_token in fresh]

    def spread(values: list[float]) -> dict[str, float]:
        return {"p50": percentile(values, 50), "p99": percentile(values, 99)}

    table: dict[str, list[float]] = {}
    for name, through, direct in (
        ("POST /assets", rows["post"], rows["post_direct"]),
        ("GET /assets/{id}", rows["get"], rows["get_direct"]),
        ("GET /assets/{id} 404", rows["missing"], rows["missing_direct"]),
    ):
        table[f"{name} handler"] = through
        table[f"{name} AWS only"] = direct
        table[f"{name} overhead"] = [a - b for a, b in zip(through, direct, strict=True)]
    table["JWT verify, remembered"] = verify_ms
    table[f"JWT verify, {len(fresh)} new tokens"] = uncached_ms
    result = {
        "iterations": args.iterations,
        "aws": args.aws,
        "post": {
            "handler_ms": spread(rows["post"]),
            "aws_only_ms": spread(rows["post_direct"]),
            "overhead_ms": spread(table["POST /assets overhead"]),
        },
        "get": {
            "handler_ms": spread(rows["get"]),
            "aws_only_ms": spread(rows["get_direct"]),
            "overhead_ms": spread(table["GET /assets/{id} overhead"]),
        },
        "get_missing": {
            "handler_ms": spread(rows["missing"]),
            "aws_only_ms": spread(rows["missing_direct"]),
            "overhead_ms": spread(table["GET /assets/{id} 404 overhead"]),
        },
        "jwt_verify_remembered_ms": spread(verify_ms),
        "jwt_verify_uncached_ms": spread(uncached_ms),
        "jwt_tokens": len(fresh),
        "jwks_fetches": len(fetches),
    }
    out = human_stream(args.json)
    print(f"API warm overhead, {args.iterations} iterations, AWS: {args.aws} (ms)", file=out)
    print(f"{'':30}{'p50':>9}{'p99':>9}", file=out)
    for label, values in table.items():
        print(f"{label:30}{percentile(values, 50):>9.3f}{percentile(values, 99):>9.3f}", file=out)
    print(f"JWKS fetches in this process: {len(fetches)}  (aim: exactly 1)", file=out)
    if args.json:
        emit_json(result)


if __name__ == "__main__":
    main()
