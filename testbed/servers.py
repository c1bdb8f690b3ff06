"""An ASGI app served over real HTTP on 127.0.0.1 for the length of a block, then stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from testbed.moto_server import free_port


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app under uvicorn, with the local stack's settings; yields its base URL."""
    port = free_port()
    # The local stack's uvicorn settings (local_stack.child): no proxy headers, no server header.
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            log_level="critical",
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        assert not thread.is_alive(), "uvicorn did not stop"
