"""A worker stand-in for the concurrency test: each batch takes a second and says which process ran it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

LOG_VARIABLE = "SLOW_HANDLER_LOG"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.time()
    time.sleep(1.0)
    line = {
        "pid": os.getpid(),
        "start": started,
        "end": time.time(),
        "records": len(event["Records"]),
    }
    with Path(os.environ[LOG_VARIABLE]).open("a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")
    return {"batchItemFailures": []}
