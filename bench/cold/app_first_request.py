"""A fresh interpreter serving its first `GET /assets/{id}` through the Lambda handler."""

import json
import os
import sys
import time

import bench.cold.bundle_only  # noqa: F401 - first: the packages Lambda lacks stay missing

started = time.perf_counter()
from api.main import handler  # noqa: E402
from testbed.events import http_api_event, lambda_context  # noqa: E402

imported = time.perf_counter()
event = http_api_event(
    "GET", f"/assets/{os.environ['BENCH_ASSET_ID']}", token=os.environ["BENCH_TOKEN"]
)
response = handler(event, lambda_context())
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
