"""The local stack's processes: `python -m local_stack.child <moto|api|worker|web> ...`.

The supervisor binds every listening socket itself (so ports are known, and a taken port is
reported, before anything starts) and hands each child its socket by file descriptor. A child
prints `READY_MARKER` once it serves, stops on SIGTERM or SIGINT, and also stops when its
standard input reaches end-of-file: the supervisor holds the other end, so a supervisor that
dies without cleaning up (kill -9) still takes its children with it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

READY_MARKER = "@@local-stack-ready"


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


def _listening_socket(fd: int) -> socket.socket:
    sock = socket.socket(fileno=fd)
    sock.setblocking(False)
    return sock


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
    )
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# --- roles -----------------------------------------------------------------------------------


def run_moto(args: argparse.Namespace) -> int:
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from local_stack.moto_app import QuietMotoRequestHandler, create_moto_app, patch_moto

    patch_moto()
    app = create_moto_app(
        allowed_origins=args.allow_origin, secrets={args.access_key_id: args.secret_access_key}
    )
    handler = MotoRequestHandler if args.verbose else QuietMotoRequestHandler
    probe = socket.socket(fileno=args.fd)
    host, port = probe.getsockname()[:2]
    probe.detach()  # keep the descriptor open for the server
    server = make_server(host, port, app, threaded=True, request_handler=handler, fd=args.fd)
    _stop_on_eof_or_signal(lambda: threading.Thread(target=server.shutdown, daemon=True).start())
    _announce_ready()
    server.serve_forever(poll_interval=0.2)
    return 0


def _run_uvicorn(app: Any, args: argparse.Namespace) -> int:
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level="debug" if args.verbose else "info",
        access_log=args.access_log,
        timeout_graceful_shutdown=3,
        lifespan="auto",
        proxy_headers=False,
        server_header=False,
    )
    server = uvicorn.Server(config)

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
    server.run(sockets=[_listening_socket(args.fd)])
    return 0


def run_api(args: argparse.Namespace) -> int:
    module = importlib.import_module(args.app_module)
    return _run_uvicorn(getattr(module, args.app_attribute), args)


def run_web(args: argparse.Namespace) -> int:
    from assets.aws import AwsClients
    from local_stack.cloudfront import SignedUrlVerifier
    from local_stack.web import create_web_app

    config = json.loads(args.config_json)
    signed_urls = None
    if args.asset_delivery == "signed":
        if not (args.trusted_key_pair_id and args.trusted_public_key):
            raise SystemExit("--asset-delivery signed needs --trusted-key-pair-id and its key")
        signed_urls = SignedUrlVerifier.from_pem(args.trusted_key_pair_id, args.trusted_public_key)
    app = create_web_app(
        s3=AwsClients(args.region).s3,
        bucket=args.bucket,
        site_dir=Path(args.site_dir) if args.site_dir else None,
        config=config,
        signed_urls=signed_urls,
    )
    return _run_uvicorn(app, args)


def run_worker(args: argparse.Namespace) -> int:
    from local_stack.aws import LocalAwsClients
    from local_stack.poller import EventSourceConfig, FunctionConfig, SqsPoller

    module_name, _, attribute = args.handler.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    clients = LocalAwsClients(args.region)
    source = EventSourceConfig(
        queue_url=args.queue_url,
        queue_arn=args.queue_arn,
        batch_size=args.batch_size,
        report_batch_item_failures=args.report_batch_item_failures,
        wait_seconds=args.wait_seconds,
    )
    function = FunctionConfig(
        name=args.function_name,
        timeout_seconds=args.timeout,
        memory_mb=args.memory,
        region=args.region,
        account_id=args.account_id,
    )
    poller = SqsPoller(clients.sqs, handler, source, function)
    stop = threading.Event()
    _stop_on_eof_or_signal(stop.set)
    clients.sqs.get_queue_attributes(QueueUrl=args.queue_url, AttributeNames=["QueueArn"])
    _announce_ready()
    poller.run(stop)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local_stack.child")
    roles = parser.add_subparsers(dest="role", required=True)

    def role(name: str) -> argparse.ArgumentParser:
        sub = roles.add_parser(name)
        sub.add_argument("--verbose", action="store_true")
        return sub

    moto = role("moto")
    moto.add_argument("--fd", type=int, required=True)
    moto.add_argument("--allow-origin", action="append", default=[])
    moto.add_argument("--access-key-id", required=True)
    moto.add_argument("--secret-access-key", required=True)

    for name in ("api", "web"):
        sub = role(name)
        sub.add_argument("--fd", type=int, required=True)
        sub.add_argument("--access-log", action="store_true")
    api = roles.choices["api"]
    api.add_argument("--app-module", default="api.main")
    api.add_argument("--app-attribute", default="app")
    web = roles.choices["web"]
    web.add_argument("--region", required=True)
    web.add_argument("--bucket", required=True)
    web.add_argument("--site-dir")
    web.add_argument("--config-json", required=True)
    # Signed delivery: /assets/* needs a valid signature from this key pair (local_stack.cloudfront).
    # The stack always says which; alone, the CDN serves plain URLs as it always did.
    web.add_argument("--asset-delivery", choices=["signed", "public"], default="public")
    web.add_argument("--trusted-key-pair-id")
    web.add_argument("--trusted-public-key")

    worker = role("worker")
    worker.add_argument("--handler", required=True)
    worker.add_argument("--region", required=True)
    worker.add_argument("--account-id", required=True)
    worker.add_argument("--queue-url", required=True)
    worker.add_argument("--queue-arn", required=True)
    worker.add_argument("--batch-size", type=int, required=True)
    worker.add_argument("--report-batch-item-failures", action="store_true")
    worker.add_argument("--wait-seconds", type=int, default=1)
    worker.add_argument("--function-name", required=True)
    worker.add_argument("--timeout", type=int, required=True)
    worker.add_argument("--memory", type=int, required=True)
    return parser


_ROLES: dict[str, Callable[[argparse.Namespace], int]] = {
    "moto": run_moto,
    "api": run_api,
    "web": run_web,
    "worker": run_worker,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one role until told to stop."""
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose)
    return _ROLES[args.role](args)


if __name__ == "__main__":
    sys.exit(main())
