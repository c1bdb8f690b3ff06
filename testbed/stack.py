"""Starting the local stack as a user would (a subprocess on free ports), for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from local_stack.state import StackInfo, StateFileError, read_state

PROJECT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 90.0


@dataclass
class RunningStack:
    info: StackInfo
    process: subprocess.Popen[bytes]
    log: Path
    state_dir: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def stack_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "local_stack", *args]


def clean_environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(PROJECT / "src"), environment.get("PYTHONPATH", "")]
    )
    environment["NO_COLOR"] = "1"
    return environment


def start_stack(state_dir: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as stream:
        return subprocess.Popen(
            stack_command("--free-ports", "--state-dir", str(state_dir), *extra),
            cwd=PROJECT,
            env=clean_environment(),
            stdout=stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for_stack(process: subprocess.Popen[bytes], state_dir: Path, log: Path) -> StackInfo:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the stack exited with {process.returncode}:\n{log.read_text()}")
        try:
            return read_state(state_dir)
        except StateFileError:
            time.sleep(0.1)
    raise AssertionError(f"the stack did not start in {START_TIMEOUT}s:\n{log.read_text()}")


def stop_stack(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM the stack's process group, as a user's Ctrl-C would; SIGKILL what outlives it."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def running_stack(state_dir: Path, *extra: str) -> Iterator[RunningStack]:
    """A local stack on free ports for the length of the block, always stopped after it."""
    log = state_dir / "stack.log"
    process = start_stack(state_dir, log, *extra)
    try:
        yield RunningStack(wait_for_stack(process, state_dir, log), process, log, state_dir)
    finally:
        stop_stack(process)


def add_user(stack: RunningStack, email: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        stack_command("users", "add", email, "--state-dir", str(stack.state_dir)),
        input=password + "\n",
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=clean_environment(),
        timeout=60,
        check=False,
    )
