"""The local stack's processes: `python -m local_stack.child '<ChildConfig JSON>'`.

The supervisor binds every listening socket itself (so ports are known, and a taken port is
reported, before anything starts) and hands each child its socket by file descriptor, with its
configuration (`local_stack.plan.ChildConfig`) as one JSON argument. A child prints
`READY_MARKER` once it serves, stops on SIGTERM or SIGINT, and also stops when its standard
input reaches end-of-file: the supervisor holds the other end, so a supervisor that dies without
cleaning up (kill -9) still takes its children with it.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import TypeAdapter

from local_stack.plan import ApiConfig, ChildConfig, MotoConfig, WebConfig, WorkerConfig
from local_stack.supervisor import READY_MARKER as READY_MARKER

_COMMAND = [sys.executable, "-m", "local_stack.child"]


def _announce_ready() -> None:
    print(READY_MARKER, flush=True)


def _stop_on_eof_or_signal(stop: Callable[[], None]) -> None:
    """Call `stop` once, on SIGTERM, SIGINT, or end-of-file on stdin (the supervisor is gone)."""
    called = threading.Event()

    def once(*_: object) -> None:
        if not called.is_set():
            called.set()
            stop()

    signal.signal(signal.SIGTERM, once)
    signal.signal(signal.SIGINT, once)

    def watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read(1024):
                pass
        except (OSError, ValueError):
            pass
        once()

    threading.Thread(target=watch_stdin, name="supervisor-watch", daemon=True).start()


def _configure_logging(verbose: bool, instance: int | None = None) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s"
        + ("" if instance is None else f"[{instance}]")
        + ": %(message)s",
        stream=sys.stdout,
    )
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# --- roles -----------------------------------------------------------------------------------


def run_moto(config: MotoConfig) -> int:
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from local_stack.moto_app import QuietMotoRequestHandler, create_moto_app, patch_moto

    assert config.fd is not None
    patch_moto()
    app = create_moto_app(allowed_origins=config.allowed_origins, secrets=config.secrets)
    handler = MotoRequestHandler if config.verbose else QuietMotoRequestHandler
    probe = socket.socket(fileno=config.fd)
    host, port = probe.getsockname()[:2]
    probe.detach()  # keep the descriptor open for the server
    server = make_server(host, port, app, threaded=True, request_handler=handler, fd=config.fd)
    _stop_on_eof_or_signal(lambda: threading.Thread(target=server.shutdown, daemon=True).start())
    _announce_ready()
    server.serve_forever(poll_interval=0.2)
    return 0


def _run_uvicorn(app: Any, config: ApiConfig | WebConfig) -> int:
    import uvicorn

    assert config.fd is not None
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="debug" if config.verbose else "info",
            access_log=config.role == "api",
            timeout_graceful_shutdown=3,
            lifespan="auto",
            proxy_headers=False,
            server_header=False,
        )
    )

    def stop() -> None:
        server.should_exit = True

    def announce_when_started() -> None:
        while not server.started and not server.should_exit:
            threading.Event().wait(0.02)
        if server.started:
            _announce_ready()

    # uvicorn installs its own SIGTERM/SIGINT handlers once it runs; stdin EOF is ours.
    _stop_on_eof_or_signal(stop)
    threading.Thread(target=announce_when_started, daemon=True).start()
    sock = socket.socket(fileno=config.fd)
    sock.setblocking(False)
    server.run(sockets=[sock])
    return 0


def run_api(config: ApiConfig) -> int:
    from local_stack.guard import LocalOnly

    module, _, attribute = config.app.partition(":")
    app = getattr(importlib.import_module(module), attribute)
    # The product's own CORS runs inside; the local guard (Host, Origin) in front of it.
    return _run_uvicorn(LocalOnly(app, config.allowed_origins), config)


def run_web(config: WebConfig) -> int:
    from assets.aws import AwsClients
    from local_stack.web import create_web_app

    app = create_web_app(
        s3=AwsClients(config.region).s3,
        bucket=config.bucket,
        site_dir=config.site_dir,
        config=config.config,
        allowed_origins=config.allowed_origins,
    )
    return _run_uvicorn(app, config)


def run_worker(config: WorkerConfig) -> int:
    """One poller; the first also starts the others beside it, as Lambda runs several at once.

    Each is a process of its own (a batch never shares an interpreter with another), in the
    supervisor's process group, and holds a pipe from the first as its stdin: a first one that
    dies, however, takes the others with it.
    """
    from local_stack.aws import LocalAwsClients
    from local_stack.poller import SqsPoller

    module_name, _, attribute = config.handler.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    clients = LocalAwsClients(config.function.region)
    poller = SqsPoller(clients.sqs, handler, config.source, config.function)
    stop = threading.Event()
    _stop_on_eof_or_signal(stop.set)
    clients.sqs.get_queue_attributes(QueueUrl=config.source.queue_url, AttributeNames=["QueueArn"])
    others = []
    if config.instance == 0:
        # Each of the others writes a byte here once it can poll: ready means all of them are.
        ready, ready_write = os.pipe()
        for instance in range(1, config.concurrency):
            sibling = config.model_copy(update={"instance": instance, "ready_fd": ready_write})
            command = [*_COMMAND, sibling.model_dump_json()]
            others.append(
                subprocess.Popen(command, stdin=subprocess.PIPE, pass_fds=[ready_write])  # noqa: S603 - this very command
            )
        os.close(ready_write)
        with os.fdopen(ready, "rb") as started:
            if len(started.read(config.concurrency - 1)) < config.concurrency - 1:
                raise RuntimeError("a worker poller exited before it could poll")
        _announce_ready()
    elif config.ready_fd is not None:
        os.write(config.ready_fd, b"r")
        os.close(config.ready_fd)
    poller.run(stop)
    for other in others:
        other.terminate()
    for other in others:
        try:
            other.wait(timeout=config.function.timeout_seconds + 2)
        except subprocess.TimeoutExpired:
            other.kill()
            other.wait()
    return 0


_ROLES: dict[str, Callable[[Any], int]] = {
    "moto": run_moto,
    "api": run_api,
    "web": run_web,
    "worker": run_worker,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one role, configured by its JSON argument, until told to stop."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if len(arguments) != 1:
        print("usage: python -m local_stack.child '<ChildConfig JSON>'", file=sys.stderr)
        return 2
    config: MotoConfig | ApiConfig | WebConfig | WorkerConfig = TypeAdapter(
        ChildConfig
    ).validate_json(arguments[0])
    # The command that started this process (`python -m local_stack.child`, or a test's wrapper).
    global _COMMAND
    if sys.orig_argv[-1] == arguments[0]:
        _COMMAND = [sys.executable, *sys.orig_argv[1:-1]]
    instance = getattr(config, "instance", 0) if getattr(config, "concurrency", 1) > 1 else None
    _configure_logging(config.verbose, instance)
    return _ROLES[config.role](config)


if __name__ == "__main__":
    sys.exit(main())
