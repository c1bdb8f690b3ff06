"""What signed delivery adds to a request: RSA-SHA1 signatures for a 100-asset page of URLs.

Figures, each measured in this run against its own baseline:
- `GET /assets?limit=100` of 100 ready assets through the Lambda handler (`api.main.handler`'s
  class; the DynamoDB query answered at once with the page moto returned, so its cost and jitter
  are the same near-nothing in both modes; the key's secret in moto), signed minus public
  delivery, paired request by request: a page read again within its URLs' window (the page polling), and the first
  page of a fresh process (every URL signed, and the key read from its secret).
- The signing alone, 100 URLs: a first page (nothing cached: 100 RSA signatures), the same page
  again in its window (cached), and a page polled every 5 s for two hours of clock, where each
  URL is re-signed when its own window turns (windows are offset per key, so a few at a time).
The aim (issue 12): signing adds at most 20 ms to a request of a 100-asset page.
Usage: python bench/signed_urls.py [--requests N] [--fresh N] [--json]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench.support import OFFLINE_AWS_ENV, emit_json, human_stream, percentile  # noqa: E402

os.environ.update(OFFLINE_AWS_ENV)

import boto3  # noqa: E402
import httpx  # noqa: E402
from moto import mock_aws  # noqa: E402

from api.app import create_app  # noqa: E402
from api.lambda_adapter import LambdaAdapter  # noqa: E402
from api.security import CognitoTokenVerifier, JwksCache  # noqa: E402
from api.signing import RsaSha1Signer  # noqa: E402
from assets.aws import AwsClients  # noqa: E402
from assets.cdn import UrlSigner  # noqa: E402
from assets.model import (  # noqa: E402
    OWNER_INDEX_NAME,
    AssetStatus,
    ImageType,
    new_upload,
    processed_key,
)
from assets.repository import AssetRepository  # noqa: E402
from assets.settings import ApiSettings  # noqa: E402
from assets.storage import AssetUrls  # noqa: E402
from testbed.aws import create_asset_bucket, create_assets_table  # noqa: E402
from testbed.events import http_api_event, lambda_context  # noqa: E402
from testbed.signing import private_pem, signing_key, store_signing_key  # noqa: E402
from testbed.tokens import TokenForge, moto_public_jwks  # noqa: E402

REGION = "us-east-1"
PAGE = 100
AIM_MS = 20.0
BASE_URL = "https://d111111abcdef8.cloudfront.net/assets"
POOL = "us-east-1_bench"
CLIENT = "bench-client"


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values),
    }


def _ms(seconds: float) -> float:
    return seconds * 1000


def signing_alone(repeat: int) -> dict[str, Any]:
    """The signing itself, with the key in memory: first page, same page again, a polled page."""
    keys = [
        processed_key(f"{i:08x}-0000-4000-8000-000000000000", ImageType.PNG) for i in range(PAGE)
    ]
    sign = RsaSha1Signer(lambda: private_pem(signing_key()))
    sign.key()
    now = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)
    first, again, plain = [], [], []
    for _ in range(repeat):
        urls = AssetUrls(BASE_URL, UrlSigner("KBENCH", sign))
        started = time.perf_counter()
        for key in keys:
            urls.url_for(key, now)
        first.append(_ms(time.perf_counter() - started))
        started = time.perf_counter()
        for key in keys:
            urls.url_for(key, now + timedelta(seconds=5))
        again.append(_ms(time.perf_counter() - started))
        public = AssetUrls(BASE_URL)
        started = time.perf_counter()
        for key in keys:
            public.url_for(key, now)
        plain.append(_ms(time.perf_counter() - started))
    # A page polled every 5 s for two hours: each URL is re-signed when its own window turns.
    urls = AssetUrls(BASE_URL, UrlSigner("KBENCH", sign))
    for key in keys:
        urls.url_for(key, now)
    polled = []
    for step in range(1, 2 * 3600 // 5):
        moment = now + timedelta(seconds=5 * step)
        started = time.perf_counter()
        for key in keys:
            urls.url_for(key, moment)
        polled.append(_ms(time.perf_counter() - started))
    return {
        "first_page_ms": _spread(first),
        "same_page_again_ms": _spread(again),
        "public_page_ms": _spread(plain),
        "polled_page_ms": _spread(polled),
        "polled_pages": len(polled),
        "per_signature_ms": percentile(first, 50) / PAGE,
    }


class _Answer:
    status_code = 200
    headers: dict[str, str] = {}  # noqa: RUF012
    content = b""


class Api:
    """The API as Lambda runs it, over moto, in one delivery mode, with a page of ready assets."""

    def __init__(self, delivery: str, table: str, secret_arn: str, page: dict[str, Any]) -> None:
        settings = ApiSettings(
            AWS_REGION=REGION,
            ASSETS_TABLE_NAME=table,
            ASSET_BUCKET_NAME="asset-bucket",
            ASSET_BASE_URL=BASE_URL,
            COGNITO_USER_POOL_ID=POOL,
            COGNITO_CLIENT_ID=(CLIENT,),
            COGNITO_JWKS_URL="https://jwks.example.test/jwks.json",
            ASSET_DELIVERY=delivery,  # type: ignore[arg-type]
            CLOUDFRONT_KEY_SECRET_ARN=secret_arn,
            CLOUDFRONT_KEY_PAIR_ID="KBENCH",
        )
        jwks = httpx.Client(
            transport=httpx.MockTransport(lambda _: httpx.Response(200, json=moto_public_jwks()))
        )
        verifier = CognitoTokenVerifier(
            issuer=settings.cognito_issuer,
            client_ids=settings.COGNITO_CLIENT_ID,
            jwks=JwksCache(settings.jwks_url, http=jwks),
        )
        clients = AwsClients(REGION)
        events: Any = clients.dynamodb.meta.events
        events.register("before-call.dynamodb.Query", lambda **_: (_Answer(), page))
        self.handler = LambdaAdapter(
            create_app(settings, clients=clients, verifier=verifier), lifespan="off"
        )

    def list_page(self, token: str) -> float:
        event = http_api_event("GET", "/assets", token=token, query=f"limit={PAGE}")
        started = time.perf_counter()
        response = self.handler(event, lambda_context())
        elapsed = _ms(time.perf_counter() - started)
        assert response["statusCode"] == 200, response
        return elapsed


def through_the_handler(requests: int, fresh: int) -> dict[str, Any]:
    with mock_aws():
        create_assets_table(boto3.client("dynamodb", region_name=REGION), "assets")
        create_asset_bucket(boto3.client("s3", region_name=REGION), "asset-bucket")
        secret = store_signing_key(boto3.client("secretsmanager", region_name=REGION), "key")
        forge = TokenForge(REGION, POOL, CLIENT)
        claims = forge.claims()
        token = forge.sign(claims)
        repository = AssetRepository(boto3.client("dynamodb", region_name=REGION), "assets")
        now = datetime.now(UTC)
        for i in range(PAGE):
            upload = new_upload(
                f"{i:08x}-0000-4000-8000-000000000000", claims["sub"], ImageType.PNG, now, 300
            )
            repository.create(
                upload.with_changes(
                    status=AssetStatus.READY,
                    output_key=upload.processed_key,
                    width=1,
                    height=1,
                    bytes=1,
                    expires_at=None,
                )
            )
        page = boto3.client("dynamodb", region_name=REGION).query(
            TableName="assets",
            IndexName=OWNER_INDEX_NAME,
            KeyConditionExpression="ownerId = :owner",
            ExpressionAttributeValues={":owner": {"S": claims["sub"]}},
            ScanIndexForward=False,
            Limit=PAGE + 1,
        )
        assert len(page["Items"]) == PAGE
        answer: dict[str, Any] = {"Items": page["Items"], "Count": PAGE}  # the last page
        signed, public = (Api(mode, "assets", secret, answer) for mode in ("signed", "public"))
        for api in (signed, public):
            api.list_page(token)  # warm: the key read, the JWKS fetched, the URLs of the window
        pairs = [(signed.list_page(token), public.list_page(token)) for _ in range(requests)]
        # Fresh processes (a new app each): the first page signs every URL and reads the key.
        first = []
        for _ in range(fresh):
            fresh_signed, fresh_public = (
                Api(mode, "assets", secret, answer) for mode in ("signed", "public")
            )
            first.append((fresh_signed.list_page(token), fresh_public.list_page(token)))
    warm_delta = [s - p for s, p in pairs]
    first_delta = [s - p for s, p in first]
    return {
        "warm_signed_ms": _spread([s for s, _ in pairs]),
        "warm_public_ms": _spread([p for _, p in pairs]),
        "warm_added_ms": _spread(warm_delta),
        "first_signed_ms": _spread([s for s, _ in first]),
        "first_public_ms": _spread([p for _, p in first]),
        "first_added_ms": _spread(first_delta),
        "requests": requests,
        "fresh": fresh,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--fresh", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    out = human_stream(args.json)

    alone = signing_alone(args.repeat)
    handler = through_the_handler(args.requests, args.fresh)
    warm = handler["warm_added_ms"]["p50"]
    first = handler["first_added_ms"]["p50"]
    result: dict[str, Any] = {
        "ok": True,
        "page": PAGE,
        "aim_ms": AIM_MS,
        "signing": alone,
        "handler": handler,
        "aim": {
            "polled_met": warm <= AIM_MS and alone["polled_page_ms"]["p99"] <= AIM_MS,
            "first_page_met": first <= AIM_MS,
        },
    }
    rows = [
        (
            "handler, page read again: signed / public p50 (ms)",
            f"{handler['warm_signed_ms']['p50']:.1f} / {handler['warm_public_ms']['p50']:.1f}",
            f"added p50 {warm:.2f}, p99 {handler['warm_added_ms']['p99']:.2f}; {args.requests} pairs",
        ),
        (
            "handler, first page of a process: signed / public p50 (ms)",
            f"{handler['first_signed_ms']['p50']:.0f} / {handler['first_public_ms']['p50']:.0f}",
            f"added p50 {first:.0f} (100 signatures and the key's read); {args.fresh} fresh apps",
        ),
        (
            "signing alone, first page / same page / public (ms)",
            f"{alone['first_page_ms']['p50']:.1f} / {alone['same_page_again_ms']['p50']:.2f} / {alone['public_page_ms']['p50']:.2f}",
            f"{alone['per_signature_ms']:.2f} ms per RSA-SHA1 signature",
        ),
        (
            "signing alone, page polled every 5 s for 2 h: p50 / p99 / max (ms)",
            f"{alone['polled_page_ms']['p50']:.2f} / {alone['polled_page_ms']['p99']:.2f} / {alone['polled_page_ms']['max']:.1f}",
            f"{alone['polled_pages']} pages; URLs re-signed as their own windows turn",
        ),
    ]
    width = max(len(row[0]) for row in rows)
    for name, value, detail in rows:
        print(f"{name:<{width}}  {value:>22}  {detail}", file=out)
    print(
        f"aim: at most {AIM_MS:.0f} ms added to a 100-asset page: polled page"
        f" {'met' if result['aim']['polled_met'] else 'MISSED'}, first page of a process"
        f" {'met' if result['aim']['first_page_met'] else 'MISSED'}",
        file=out,
    )
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
