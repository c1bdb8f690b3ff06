"""`python -m tests.faults.paused_worker worker ...`: the local stack's worker process, except that
it stops dead just before it publishes an asset's image and stays there until it is killed.

It writes the key it was about to publish to `$PAUSED_WORKER_MARKER`, so the test knows the asset
is claimed and its image is not published yet, then waits forever: the test's SIGKILL is its end, as a
Lambda runtime is ended by a timeout or a crash (no `finally`, no lease released).
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import worker.main
from assets.model import PROCESSED_PREFIX
from local_stack import child

MARKER_VARIABLE = "PAUSED_WORKER_MARKER"


def _stop_before_publishing(params: dict[str, Any], **_: Any) -> None:
    key = str(params.get("Key", ""))
    # The image itself (variants, written before it, have a path of their own under the id).
    if key.startswith(PROCESSED_PREFIX) and "/" not in key.removeprefix(PROCESSED_PREFIX):
        Path(os.environ[MARKER_VARIABLE]).write_text(key, encoding="utf-8")
        threading.Event().wait()


def main() -> int:
    s3 = worker.main.current_worker().bucket.client
    for operation in ("PutObject", "CopyObject"):
        s3.meta.events.register(f"before-parameter-build.s3.{operation}", _stop_before_publishing)
    return child.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
