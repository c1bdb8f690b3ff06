"""How `api.main` starts without work no request needs.

`with lean_start():` around the imports and construction of the app:

- FastAPI's pydantic v1 probe, skipped. FastAPI asks of every route parameter and response model
  whether it is a pydantic v1 model, and answering the first time imports `pydantic.v1`, a second
  copy of pydantic, about 40 ms of a cold start: as the routes are declared, and again on the first
  request (FastAPI builds the included routes' fields then). This app defines no v1 model and
  nothing in its bundle imports one, so a process started from `api.main` runs without
  `pydantic.v1`, which FastAPI reads as "no v1 models" (its path for a pydantic without v1).
- FastAPI's own models built on first use. `import fastapi` defines the OpenAPI document's models
  (`fastapi.openapi.models`, about 30 of them, several recursive), and pydantic builds each one's
  validator as its class is made: about 100 ms, half of FastAPI's import, for a document only
  `/openapi.json` reads. The classes FastAPI defines while `lean_start` imports it are made with
  pydantic's `defer_build`, as the API's own models are (`schemas.ApiModel`), and the module's
  closing `Schema.model_rebuild()` (and two more, which would build most of the others with
  them) leaves them so: each is built the first time something validates with it, once, to the
  same validator. No request but `/openapi.json` does, on the event loop's one thread (the
  bearer scheme's model, made at import, is built then). Both changes to `BaseModel` last only
  while FastAPI is imported; if pydantic ever builds a deferred model differently, the import
  fails loudly rather than starting slow (tests/unit/api/test_cold_start.py pins the result).
- No garbage collection while starting. The start leaves about 75,000 objects (modules, classes,
  schemas) that live as long as the process, and the collector, seeing them all as new, walks
  them again and again: a full collection of them costs about 50 ms, one of them during an
  ordinary import. Collection is off until the app is built; then `gc.freeze()` moves what the
  start made out of the collector's sight, so no later collection, in the first request or in
  any warm one, walks it again (CPython's documented use of `gc.freeze`). The price: the few
  hundred cycles the start leaves as garbage (about 700 objects) are never freed.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def lean_start() -> Iterator[None]:
    """Start this process lean (see the module's text); on leaving, collection is as it was."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        if "pydantic.v1" not in sys.modules:
            # While the entry is None, importing the name raises ImportError: the import system's
            # documented way to hide a module. FastAPI's probe catches it.
            sys.modules["pydantic.v1"] = None  # type: ignore[assignment]
        if "fastapi" not in sys.modules:
            _import_fastapi_with_deferred_models()
        yield
        gc.freeze()
    finally:
        if collecting:
            gc.enable()


def _import_fastapi_with_deferred_models() -> None:
    from pydantic import BaseModel

    # A model's configuration is its bases' merged with its own, taken when its class is made:
    # the classes made during this import take `defer_build` and keep it; later ones do not.
    base_config = BaseModel.model_config
    rebuild = BaseModel.__dict__["model_rebuild"]

    def leave_deferred(
        cls: type[BaseModel], /, *, force: bool = False, raise_errors: bool = True, **more: Any
    ) -> bool | None:
        # `fastapi.openapi.models` ends by building three of its models (`Schema.model_rebuild()`
        # and two more), which would build most of the rest with them: a model made here is
        # left to be built at its first use instead. pydantic's own build-at-first-use calls
        # `model_rebuild(raise_errors=False, ...)`, and goes through.
        if raise_errors and not force and cls.model_config.get("defer_build"):
            return None
        depth = more.pop("_parent_namespace_depth", 2) + 1  # this frame, between
        return rebuild.__func__(  # type: ignore[no-any-return]
            cls, force=force, raise_errors=raise_errors, _parent_namespace_depth=depth, **more
        )

    BaseModel.model_config = {**base_config, "defer_build": True}
    BaseModel.model_rebuild = classmethod(leave_deferred)  # type: ignore[method-assign,assignment]
    try:
        import fastapi  # noqa: F401
    finally:
        BaseModel.model_config = base_config
        BaseModel.model_rebuild = rebuild  # type: ignore[method-assign]
