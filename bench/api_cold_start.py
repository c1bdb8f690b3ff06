"""Cold start: the API's first request in a fresh interpreter against a bare boto3+httpx handler.

Both run against moto's server on 127.0.0.1 and do the same AWS work (a JWKS fetch over HTTP and one
DynamoDB GetItem); each run is a new process, timed from spawn to its response, alternating the two.
Both import only what the API's Lambda bundle holds (deploy/requirements-api.txt): packages the
development venv adds are hidden from them (bench/cold/bundle_only.py), unless `--dev-venv`.
Usage: python bench/api_cold_start.py [--runs N] [--dev-venv] [--json]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import boto3  # noqa: E402

from assets.model import ImageType, new_upload, to_item  # noqa: E402
from bench.support import emit_json, human_stream  # noqa: E402
from testbed.aws import create_assets_table  # noqa: E402
from testbed.moto_server import moto_server  # noqa: E402

REGION = "us-east-1"
PASSWORD = "Correct-Horse-Battery-9"
API_LOCK = ROOT / "deploy" / "requirements-api.txt"
ALWAYS_IMPORTABLE = frozenset({"private-asset-uploads", "pip", "setuptools"})
"""This repository (its src/ is on the path as the bundle's is), and what the interpreter uses."""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def not_in_the_bundle() -> list[str]:
    """Top-level modules of installed distributions the API's Lambda bundle does not hold."""
    locked = {
        _canonical(line.split("==", 1)[0])
        for line in API_LOCK.read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }
    allowed = locked | ALWAYS_IMPORTABLE
    return sorted(
        top
        for top, distributions in importlib.metadata.packages_distributions().items()
        if not any(_canonical(name) in allowed for name in distributions)
    )


def _provision(endpoint: str) -> dict[str, str]:
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
    )
    create_assets_table(boto3.client("dynamodb"), "assets")
    cognito = boto3.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="bench", UsernameAttributes=["email"])["UserPool"][
        "Id"
    ]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(
        UserPoolId=pool, Username="bench@example.test", MessageAction="SUPPRESS"
    )
    cognito.admin_set_user_password(
        UserPoolId=pool, Username="bench@example.test", Password=PASSWORD, Permanent=True
    )
    tokens = cognito.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "bench@example.test", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    sub = next(
        a["Value"]
        for a in cognito.admin_get_user(UserPoolId=pool, Username="bench@example.test")[
            "UserAttributes"
        ]
        if a["Name"] == "sub"
    )
    asset_id = "307d0b55-05d1-4c0f-a0fb-4c3e1083e3df"
    record = new_upload(
        asset_id,
        sub,
        ImageType.PNG,
        __import__("datetime").datetime.now(__import__("datetime").UTC),
        300,
    )
    boto3.client("dynamodb").put_item(TableName="assets", Item=to_item(record))
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "ASSETS_TABLE_NAME": "assets",
        "ASSET_BUCKET_NAME": "asset-bucket",
        "ASSET_BASE_URL": "https://cdn.example.test/assets",
        "COGNITO_USER_POOL_ID": pool,
        "COGNITO_CLIENT_ID": client,
        "COGNITO_JWKS_URL": f"{endpoint}/{pool}/.well-known/jwks.json",
        # The asset read is still uploading, so no URL is signed either way.
        "ASSET_DELIVERY": "public",
        "BENCH_TOKEN": tokens["IdToken"],
        "BENCH_ASSET_ID": asset_id,
    }


def _run(script: str, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Seconds from spawning the interpreter to its response (exit is not part of a cold start)."""
    started = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "cold" / script)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as child:
        assert child.stdout is not None
        line = child.stdout.readline()
        answered = time.perf_counter() - started
        child.wait(timeout=60)
    if child.returncode != 0 or not line:
        raise RuntimeError(f"{script} failed with exit code {child.returncode}")
    return answered, json.loads(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument(
        "--dev-venv",
        action="store_true",
        help="let the children import everything the development venv holds (rich, click, ...)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    args = parser.parse_args()
    with moto_server() as endpoint:
        extra = _provision(endpoint)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
            **extra,
            "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "BENCH_HIDDEN_MODULES": "" if args.dev_venv else ",".join(not_in_the_bundle()),
        }
        _run("app_first_request.py", env)  # warm the OS page cache and .pyc files once
        _run("bare_first_request.py", env)
        app: list[tuple[float, dict[str, Any]]] = []
        bare: list[tuple[float, dict[str, Any]]] = []
        for _ in range(args.runs):
            app.append(_run("app_first_request.py", env))
            bare.append(_run("bare_first_request.py", env))

    def med(runs: list[tuple[float, dict[str, Any]]], key: str | None = None) -> float:
        return statistics.median(r[0] if key is None else r[1][key] for r in runs)

    def figures(runs: list[tuple[float, dict[str, Any]]]) -> dict[str, float]:
        return {
            "total_ms": med(runs) * 1000,
            "import_ms": med(runs, "import_s") * 1000,
            "first_request_ms": med(runs, "first_request_s") * 1000,
            "cpu_ms": med(runs, "cpu_s") * 1000,
        }

    app_figures, bare_figures = figures(app), figures(bare)
    result = {
        "runs": args.runs,
        "app": app_figures,
        "bare": bare_figures,
        "cold_ratio": med(app) / med(bare),
        "cpu_ratio": med(app, "cpu_s") / med(bare, "cpu_s"),
        # Each app run against the bare run right after it: how much the machine moved the ratio.
        "pair_ratio_quartiles": statistics.quantiles(
            [a[0] / b[0] for a, b in zip(app, bare, strict=True)], n=4, method="inclusive"
        ),
        "aim_ratio": 1.8,
        "packages": "development venv" if args.dev_venv else "Lambda bundle's",
    }
    out = human_stream(args.json)
    print(
        f"API cold start, median of {args.runs} fresh interpreters (spawn to response), moto server on loopback,"
        f" {result['packages']} packages",
        file=out,
    )
    print(f"{'':28}{'total':>10}{'imports':>10}{'1st request':>13}{'CPU':>9}", file=out)
    for name, row in (("app (FastAPI+Mangum)", app_figures), ("bare (boto3+httpx)", bare_figures)):
        print(
            f"{name:28}{row['total_ms']:>8.0f}ms{row['import_ms']:>8.0f}ms"
            f"{row['first_request_ms']:>11.0f}ms{row['cpu_ms']:>7.0f}ms",
            file=out,
        )
    low, middle, high = result["pair_ratio_quartiles"]
    print(
        f"cold ratio app/bare: {result['cold_ratio']:.2f}  (aim <= 1.8); run by run, quartiles"
        f" {low:.2f} / {middle:.2f} / {high:.2f}; CPU to the response {result['cpu_ratio']:.2f}",
        file=out,
    )
    if args.json:
        emit_json(result)


if __name__ == "__main__":
    main()
