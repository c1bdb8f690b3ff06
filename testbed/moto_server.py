"""moto's server on 127.0.0.1 in this process: plain (`moto_server`), or as the local stack runs it
(`MotoServer`: behind the stack's gateway, with its patches)."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from moto.moto_server.werkzeug_app import MotoRequestHandler
from moto.server import ThreadedMotoServer
from werkzeug.serving import BaseWSGIServer, make_server

from local_stack.moto_app import QuietMotoRequestHandler, create_moto_app, patch_moto


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto on loopback, yield its endpoint URL, and always stop it."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per call otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


class MotoServer:
    """moto, behind its gateway, served from a thread of this process."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        allowed_origins: Sequence[str] = (),
        secrets: Mapping[str, str],
        quiet: bool = True,
    ) -> None:
        self._host = host
        self._port = port
        self._app = create_moto_app(allowed_origins=allowed_origins, secrets=secrets)
        self._quiet = quiet
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._unpatch: Callable[[], None] | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host if self._host not in ('0.0.0.0', '::') else '127.0.0.1'}:{self.port}"  # noqa: S104 - a comparison, not a bind

    def start(self) -> None:
        """Bind (raising OSError if the port is taken) and serve from a daemon thread."""
        handler = QuietMotoRequestHandler if self._quiet else MotoRequestHandler
        self._unpatch = patch_moto()
        self._server = make_server(
            self._host, self._port, self._app, threaded=True, request_handler=handler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._unpatch is not None:
            self._unpatch()
        self._server = None
        self._thread = None
        self._unpatch = None
