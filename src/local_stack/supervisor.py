"""Child processes, each in its own process group, with prefixed output and a clean stop.

Children run in new sessions so that Ctrl-C reaches only the supervisor, which then stops them
in order: SIGTERM to each group, a grace period, SIGKILL for what remains, and a wait for every
one of them, so that no process or port outlives the stack.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

READY_MARKER = "@@local-stack-ready"
"""What a child prints, alone on a line, once it serves."""
_COLOURS = ("36", "35", "33", "32", "34", "31")


class PortInUse(RuntimeError):
    """A port the stack needs is taken (by another program, or another local stack)."""

    def __init__(self, role: str, host: str, port: int) -> None:
        super().__init__(f"port {port} on {host} ({role}) is already in use")
        self.role = role
        self.host = host
        self.port = port


class ChildFailed(RuntimeError):
    """A child exited, or did not become ready in time; carries its last lines of output."""

    def __init__(self, name: str, reason: str, tail: Sequence[str]) -> None:
        detail = "\n".join(f"    {line}" for line in tail)
        super().__init__(f"{name} {reason}" + (f"; its last output:\n{detail}" if detail else ""))
        self.name = name
        self.reason = reason
        self.tail = list(tail)


def bind_listener(role: str, host: str, port: int) -> socket.socket:
    """A listening TCP socket a child can inherit; `PortInUse` if the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name == "posix":
            # Lets a restart bind while the last run's connections sit in TIME_WAIT; two
            # listeners on one port are still refused.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        if error.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortInUse(role, host, port) from error
        raise
    sock.set_inheritable(True)
    return sock


class Output:
    """Children's lines, each prefixed with its process's name, written whole."""

    def __init__(self, stream: IO[str] | None = None, *, colour: bool | None = None) -> None:
        self._stream = stream or sys.stdout
        if colour is None:
            colour = self._stream.isatty() and "NO_COLOR" not in os.environ
        self._colour = colour
        self._lock = threading.Lock()
        self._width = 6

    def prefix(self, name: str, index: int) -> str:
        label = f"{name:>{self._width}} |"
        if self._colour:
            return f"\033[{_COLOURS[index % len(_COLOURS)]}m{label}\033[0m "
        return f"{label} "

    def write(self, text: str) -> None:
        with self._lock:
            try:
                self._stream.write(text if text.endswith("\n") else text + "\n")
                self._stream.flush()
            except (OSError, ValueError):
                # The terminal went away; the stack must still shut down cleanly.
                pass


@dataclass
class ChildSpec:
    name: str
    argv: list[str]
    env: Mapping[str, str]
    listeners: list[socket.socket] = field(default_factory=list)


class Child:
    """One child process in its own process group."""

    def __init__(self, spec: ChildSpec, output: Output, index: int) -> None:
        self.name = spec.name
        self._spec = spec
        self._output = output
        self._prefix = output.prefix(spec.name, index)
        self._tail: deque[str] = deque(maxlen=40)
        self._ready = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - argv built by the stack, no shell
            self._spec.argv,
            env=dict(self._spec.env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno() for listener in self._spec.listeners],
            start_new_session=True,
        )
        # The child holds its own copy of each socket now.
        for listener in self._spec.listeners:
            listener.close()
        self._reader = threading.Thread(target=self._read, name=f"{self.name}-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        for raw in iter(self._process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if line == READY_MARKER:
                self._ready.set()
                continue
            self._tail.append(line)
            self._output.write(self._prefix + line)

    def poll(self) -> int | None:
        """The exit code if the child has exited, else None."""
        return None if self._process is None else self._process.poll()

    def wait_ready(self, timeout: float, interrupted: Callable[[], bool]) -> None:
        """Block until the child says it serves; `ChildFailed` if it exits or times out."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            code = self.poll()
            if code is not None:
                self._drain()
                raise ChildFailed(self.name, f"exited with code {code} while starting", self._tail)
            if interrupted():
                raise KeyboardInterrupt
            if time.monotonic() > deadline:
                raise ChildFailed(self.name, f"was not ready after {timeout:.0f}s", self._tail)

    def tail(self) -> list[str]:
        self._drain()
        return list(self._tail)

    def _drain(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=2)

    def signal_group(self, signum: int) -> None:
        """Send a signal to the child's whole process group (it and anything it started)."""
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signum)

    def close_stdin(self) -> None:
        if self._process is not None and self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()

    def wait(self, timeout: float) -> bool:
        """Wait for the child to exit; True if it did."""
        if self._process is None:
            return True
        try:
            self._process.wait(timeout=max(timeout, 0))
        except subprocess.TimeoutExpired:
            return False
        return True

    def reap(self) -> None:
        """Kill whatever is left of the group and collect the exit status."""
        self.signal_group(signal.SIGKILL)
        if self._process is not None:
            self._process.wait()
            if self._process.stdout is not None:
                self._drain()
                self._process.stdout.close()


class Supervisor:
    """Starts children and stops them all, in reverse order of their start."""

    def __init__(self, output: Output) -> None:
        self._output = output
        self._children: list[Child] = []
        self._force = threading.Event()

    @property
    def children(self) -> list[Child]:
        return list(self._children)

    def start(self, spec: ChildSpec) -> Child:
        child = Child(spec, self._output, len(self._children))
        self._children.append(child)
        child.start()
        return child

    def first_exited(self) -> tuple[Child, int] | None:
        """A child that has exited, with its code, or None while all run."""
        for child in self._children:
            code = child.poll()
            if code is not None:
                return child, code
        return None

    def force(self) -> None:
        """Make a stop in progress kill at once instead of waiting out the grace period."""
        self._force.set()

    def stop_all(self, grace_seconds: float = 6.0) -> None:
        """Stop every child: dependants first, the first-started (moto) last; nothing survives."""
        waves = [self._children[1:][::-1], self._children[:1]]
        for wave in waves:
            for child in wave:
                child.signal_group(signal.SIGTERM)
                child.close_stdin()
            deadline = time.monotonic() + grace_seconds
            for child in wave:
                while not child.wait(min(0.1, deadline - time.monotonic())):
                    if self._force.is_set() or time.monotonic() >= deadline:
                        break
                child.reap()
