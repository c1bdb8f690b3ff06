"""The same AWS work with boto3 and httpx alone: fetch the JWKS, read the record, answer."""

import json
import os
import sys
import time

import bench.cold.bundle_only  # noqa: F401 - first: the packages Lambda lacks stay missing

started = time.perf_counter()
import boto3  # noqa: E402
import httpx  # noqa: E402

imported = time.perf_counter()


def handler(event: dict[str, object], context: object) -> dict[str, object]:
    jwks = httpx.get(os.environ["COGNITO_JWKS_URL"], timeout=3).json()
    dynamodb = boto3.client("dynamodb")
    item = dynamodb.get_item(
        TableName=os.environ["ASSETS_TABLE_NAME"],
        Key={"assetId": {"S": os.environ["BENCH_ASSET_ID"]}},
        ConsistentRead=True,
    )["Item"]
    body = {"asset": {"assetId": item["assetId"]["S"], "status": item["status"]["S"]}}
    return {"statusCode": 200, "body": json.dumps(body), "keys": len(jwks["keys"])}


response = handler({}, None)
served = time.perf_counter()
assert response["statusCode"] == 200, response
import resource  # noqa: E402

usage = resource.getrusage(resource.RUSAGE_SELF)  # imported after the response: not timed
json.dump(
    {
        # CPU seconds to the response: steadier than wall time on a shared, loaded machine.
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "import_s": imported - started,
        "first_request_s": served - imported,
        "body": response["body"],
    },
    sys.stdout,
)
sys.stdout.write("\n")
sys.stdout.flush()
