"""The stack's processes: sockets handed over, readiness, prefixed output, nothing left behind."""

from __future__ import annotations

import io
import os
import signal
import socket
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from local_stack.child import READY_MARKER
from local_stack.environment import base_environment
from local_stack.plan import Launch, WebConfig
from local_stack.supervisor import (
    ChildFailed,
    ChildSpec,
    Output,
    PortInUse,
    Supervisor,
    bind_listener,
)


def script(body: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(body)]


def gone(pid: int) -> bool:
    """True once the process no longer runs (a zombie awaiting its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, IndexError):
        return False  # no /proc (macOS): it exists, as kill said


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.05)
    return False


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
    return True


def test_a_taken_port_is_reported_by_role() -> None:
    taken = bind_listener("api", "127.0.0.1", 0)
    try:
        with pytest.raises(PortInUse) as caught:
            bind_listener("api", "127.0.0.1", taken.getsockname()[1])
        assert caught.value.role == "api"
        assert "already in use" in str(caught.value)
    finally:
        taken.close()


def test_children_are_prefixed_ready_and_stopped(tmp_path: Path) -> None:
    stream = io.StringIO()
    supervisor = Supervisor(Output(stream, colour=False))
    child = supervisor.start(
        ChildSpec(
            "calm",
            script(
                f"""
                import signal, sys, time
                signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
                print("hello", flush=True)
                print({READY_MARKER!r}, flush=True)
                while True:
                    time.sleep(0.1)
                """
            ),
            dict(os.environ),
        )
    )
    child.wait_ready(10, lambda: False)
    assert child.poll() is None
    supervisor.stop_all(grace_seconds=5)
    assert child.poll() == 0
    assert "  calm | hello" in stream.getvalue()
    assert READY_MARKER not in stream.getvalue()


def test_a_child_ignoring_sigterm_is_killed_with_what_it_started(tmp_path: Path) -> None:
    # GIVEN a child that ignores SIGTERM and has started a grandchild of its own
    pid_file = tmp_path / "grandchild.pid"
    supervisor = Supervisor(Output(io.StringIO(), colour=False))
    child = supervisor.start(
        ChildSpec(
            "stubborn",
            script(
                f"""
                import signal, subprocess, sys, time
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
                open({str(pid_file)!r}, "w").write(str(grandchild.pid))
                print({READY_MARKER!r}, flush=True)
                time.sleep(600)
                """
            ),
            dict(os.environ),
        )
    )
    child.wait_ready(10, lambda: False)
    grandchild = int(pid_file.read_text())
    # WHEN the stack stops with a short grace period
    started = time.monotonic()
    supervisor.stop_all(grace_seconds=0.5)
    # THEN both are gone, promptly
    assert time.monotonic() - started < 5
    assert child.poll() == -signal.SIGKILL
    assert wait_gone(grandchild)


def test_a_child_that_dies_while_starting_is_reported_with_its_output() -> None:
    supervisor = Supervisor(Output(io.StringIO(), colour=False))
    child = supervisor.start(
        ChildSpec(
            "broken",
            script("import sys; print('ASSETS_TABLE_NAME is required'); sys.exit(3)"),
            dict(os.environ),
        )
    )
    with pytest.raises(ChildFailed) as caught:
        child.wait_ready(10, lambda: False)
    assert "exited with code 3" in str(caught.value)
    assert "ASSETS_TABLE_NAME is required" in str(caught.value)
    supervisor.stop_all()


def test_the_web_process_serves_on_the_handed_socket_and_dies_with_its_supervisor(
    tmp_path: Path,
) -> None:
    # GIVEN the page/CDN process started on a socket the supervisor bound
    listener = bind_listener("web", "127.0.0.1", 0)
    port = listener.getsockname()[1]
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>page</p>")
    environment = base_environment(
        os.environ, region="us-east-1", endpoint_url="http://127.0.0.1:9"
    )
    supervisor = Supervisor(Output(io.StringIO(), colour=False))
    config = WebConfig(
        region="us-east-1", bucket="b", site_dir=site, config={"apiBaseUrl": "http://127.0.0.1:1"}
    )
    child = supervisor.start(Launch("web", config, environment, "web").spec({"web": listener}))
    try:
        child.wait_ready(30, lambda: False)
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "<p>page</p>"
        assert "apiBaseUrl" in httpx.get(f"http://127.0.0.1:{port}/config.js").text
        # WHEN its supervisor disappears without a word (its end of stdin closes)
        child.close_stdin()
        # THEN it stops by itself, and the port is free again
        assert child.wait(10)
        assert port_free(port)
    finally:
        supervisor.stop_all()
