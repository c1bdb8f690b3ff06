"""How `api.main` starts without work no request needs: FastAPI's pydantic v1 probe, skipped.

FastAPI asks of every route parameter and response model whether it is a pydantic v1 model, and
answering the first time imports `pydantic.v1`, a second copy of pydantic, about 40 ms of a cold
start: as the routes are declared, and again on the first request (FastAPI builds the included
routes' fields then). This app defines no v1 model and nothing in its bundle imports one, so a
process started from `api.main` runs without `pydantic.v1`, which FastAPI reads as "no v1 models"
(its path for a pydantic without v1).
"""

from __future__ import annotations

import sys


def lean_start() -> None:
    """From now on in this process, `import pydantic.v1` fails (unless it was imported already)."""
    if "pydantic.v1" not in sys.modules:
        # While the entry is None, importing the name raises ImportError: the import system's
        # documented way to hide a module. FastAPI's probe catches it.
        sys.modules["pydantic.v1"] = None  # type: ignore[assignment]
