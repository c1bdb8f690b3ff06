"""SnapStart: what an execution environment restored from the API's snapshot renews first.

With SnapStart (template.yaml, `ApiSnapStart`) Lambda runs `api.main`'s imports once, when a
version is published, and starts every new execution environment from a snapshot of that
memory. Whatever the snapshot holds is then shared by every environment restored from it, for as
long as the version serves. Before its first request each one renews:

* the `random` module's state, seeded once at import: restored as it is, every environment would
  draw the same numbers (botocore's retry jitter among them). `uuid4` and `secrets` read the
  kernel's generator, which Lambda reseeds on restore.
* the JWKS cache's age and the verifications it remembers: the snapshot may be days old, so the
  first request that needs a key refetches the pool's key set.
* open connections (the JWKS client's, boto3's pools): sockets from the snapshot would be shared
  by every restored environment, or dead. Nothing opens one before the snapshot today; renewing
  keeps it so if that changes.

`snapshot_restore_py` exists only in Lambda's Python runtimes, so outside them (tests, uvicorn,
`sam local`) there is nothing to register with and nothing is registered.
"""

from __future__ import annotations

import importlib
import random
from types import ModuleType

from fastapi import FastAPI

from api.logs import logger
from api.security import CognitoTokenVerifier
from assets.aws import AwsClients


def renew(app: FastAPI) -> None:
    """Make a restored environment's state its own: random state, JWKS age, connections."""
    random.seed()
    verifier: CognitoTokenVerifier = app.state.verifier
    verifier.renew()
    clients: AwsClients = app.state.clients
    clients.close_connections()
    logger.info("restored from snapshot: random state, JWKS age and connections renewed")


def register_restore_hook(app: FastAPI) -> bool:
    """Have Lambda run `renew(app)` after each restore; False where there is no SnapStart."""
    hooks = _runtime_hooks()
    if hooks is None:
        return False
    hooks.register_after_restore(renew, app)
    return True


def _runtime_hooks() -> ModuleType | None:
    try:
        # Provided by Lambda's Python runtime, not by the bundle (deploy/requirements-api.txt).
        return importlib.import_module("snapshot_restore_py")
    except ImportError:
        return None
