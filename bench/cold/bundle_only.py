"""Make a cold-start child import what the Lambda bundle holds, not what the development venv adds.

The development venv holds packages the API's bundle does not (deploy/requirements-api.txt): httpx,
for one, imports `rich` and `click` for its command line when they are installed, about 0.15 s of
every interpreter that imports it, which Lambda never pays. The parent names those packages in
BENCH_HIDDEN_MODULES; importing this module first makes them missing, as they are in Lambda.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

HIDDEN = frozenset(filter(None, os.environ.get("BENCH_HIDDEN_MODULES", "").split(",")))


class _NotInTheBundle:
    """A meta path finder that answers "no such module" for the hidden top-level names."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: Any = None) -> None:
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the bundle)", name=name)


if HIDDEN:
    sys.meta_path.insert(0, _NotInTheBundle())
