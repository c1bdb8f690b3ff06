"""Peak memory of rejecting a pixel bomb, measured in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

_PROBE = """
import json
from assets.errors import UploadRejected
from assets.model import ImageType
from tests.unit.worker.corpus import png_claiming
from worker import imaging


def peak_rss_kib():
    # VmHWM, not ru_maxrss: Linux hands a child the parent's ru_maxrss across fork and exec.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


data = png_claiming(30000, 30000)
before = peak_rss_kib()
try:
    imaging.validate(data, ImageType.PNG, 40_000_000)
    reason = None
except UploadRejected as rejected:
    reason = rejected.reason.value
print(json.dumps({"reason": reason, "before_kib": before, "peak_kib": peak_rss_kib()}))
"""


def test_png_claiming_30000x30000_is_rejected_under_100_mb_peak() -> None:
    # GIVEN a tiny PNG whose header claims 900 megapixels (2.7 GB decoded)
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}

    # WHEN a fresh process validates it
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, check=True
    )
    measured = json.loads(result.stdout)

    # THEN it is rejected for its pixels, and the whole process never used 100 MB
    assert measured["reason"] == "too_many_pixels"
    assert measured["peak_kib"] < 100 * 1024
    assert measured["peak_kib"] - measured["before_kib"] < 8 * 1024
