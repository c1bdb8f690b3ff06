"""What the benchmark scripts share: percentiles, JSON output and a local stack to run against.

A script runs alone (`python bench/<name>.py`); with `--json` it prints one JSON object on
stdout, and its progress and human-readable table on stderr, which is how `bench/report.py`
collects every figure without reading tables.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import httpx

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT), str(ROOT / "src")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

OFFLINE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
"""What an in-process benchmark runs AWS code with: fake keys, no profile, quiet Powertools."""

from local_stack.state import StackInfo, StateFileError, process_alive, read_state  # noqa: E402
from testbed.stack import running_stack, stop_stack  # noqa: E402


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank q-th percentile (0 <= q <= 100) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def human_stream(as_json: bool) -> TextIO:
    """Where a script writes its table: stdout, or stderr when stdout carries the JSON."""
    return sys.stderr if as_json else sys.stdout


def emit_json(result: dict[str, Any]) -> None:
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _answers(info: StackInfo) -> bool:
    try:
        return httpx.get(f"{info.apiUrl}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def local_stack(
    state_dir: Path | None,
    *,
    say: TextIO = sys.stderr,
    reuse: bool = True,
    hard_stop_after: float | None = None,
) -> Iterator[StackInfo]:
    """The stack running in `state_dir` if `reuse` and it answers; else a new one on free ports,
    stopped (with every process it started) when the block ends.

    `hard_stop_after` seconds from now, whatever the block is doing, the stack this started is
    stopped and this process exits with status 3: a benchmark never outlives its deadline.
    """
    if reuse and state_dir is not None:
        try:
            info = read_state(state_dir)
        except StateFileError:
            info = None
        if info is not None and _answers(info):
            print(f"using the running local stack ({state_dir / 'stack.json'})", file=say)
            with _hard_stop(None, hard_stop_after):
                yield info
            return
    with (
        tempfile.TemporaryDirectory(prefix="local-stack-bench-") as directory,
        new_local_stack(Path(directory), say=say, hard_stop_after=hard_stop_after) as info,
    ):
        yield info


@contextlib.contextmanager
def new_local_stack(
    state_dir: Path, *, say: TextIO = sys.stderr, hard_stop_after: float | None = None
) -> Iterator[StackInfo]:
    """A new local stack on free ports with its state in `state_dir`, stopped (with every process
    it started) when the block ends; see `local_stack` for `hard_stop_after`."""
    started = time.monotonic()
    with running_stack(state_dir) as stack:
        print(f"started a local stack on free ports in {time.monotonic() - started:.1f}s", file=say)
        children = {str(name): int(pid) for name, pid in stack.info.extra["processes"].items()}
        with _hard_stop(stack.process, hard_stop_after):
            yield stack.info
    # Killed rather than stopped, the stack's children still end: on their stdin's EOF.
    settle = time.monotonic() + 10
    while any(process_alive(pid) for pid in children.values()) and time.monotonic() < settle:
        time.sleep(0.1)
    left = [f"{name} ({pid})" for name, pid in children.items() if process_alive(pid)]
    if left:
        raise RuntimeError(f"the local stack left processes running: {', '.join(left)}")
    print("stopped the local stack: no process left", file=say)


@contextlib.contextmanager
def _hard_stop(process: subprocess.Popen[bytes] | None, seconds: float | None) -> Iterator[None]:
    def stop() -> None:
        print(f"the hard deadline ({seconds:.0f}s) passed: stopping", file=sys.stderr, flush=True)
        if process is not None:
            stop_stack(process)
        os._exit(3)

    timer = threading.Timer(seconds, stop) if seconds is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()
