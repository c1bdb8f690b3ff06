"""The environment each local process gets: the template's variables with local values.

A variable the template gives literally (or through a parameter default) is passed as written;
one CloudFormation computes from a resource (the table name, the pool id) gets the local
resource's value. The developer's own AWS variables never reach a child: a profile or an
`AWS_ENDPOINT_URL_S3` in the shell must not send the local stack to a real account.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from assets.settings import ApiSettings, WorkerSettings
from local_stack.blueprint import Blueprint, FunctionSpec, resolve_value
from local_stack.provision import Provisioned
from local_stack.state import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY

SRC_DIR = Path(__file__).resolve().parents[1]

_SETTINGS_NAMES = frozenset(ApiSettings.model_fields) | frozenset(WorkerSettings.model_fields)


@dataclass(frozen=True, slots=True)
class Timings:
    """The worker's time limits locally, and the template's they were scaled from."""

    visibility_timeout: int
    worker_timeout: int
    lease_seconds: int
    template_visibility_timeout: int
    template_worker_timeout: int
    template_lease_seconds: int

    @property
    def scaled(self) -> bool:
        return self.visibility_timeout != self.template_visibility_timeout

    def describe(self) -> str:
        text = (
            f"visibility {self.visibility_timeout}s, function timeout {self.worker_timeout}s, "
            f"lease {self.lease_seconds}s"
        )
        if self.scaled:
            text += (
                f" (template: {self.template_visibility_timeout}s / {self.template_worker_timeout}s"
                f" / {self.template_lease_seconds}s, scaled together so retries show within a minute)"
            )
        return text


def local_timings(blueprint: Blueprint, region: str, visibility_timeout: int | None) -> Timings:
    """Visibility timeout, function timeout and lease, scaled together from the template's.

    The lease must outlast an invocation and expire before the message comes back, so the three
    shrink by one factor: a shorter visibility timeout alone would return failed messages while
    their lease still blocks the retry, and send them to the DLQ for no fault of their own.
    """
    template_visibility = blueprint.queue.visibility_timeout
    template_timeout = blueprint.worker.timeout
    lease_value = blueprint.worker.environment.get("LEASE_SECONDS")
    resolved = (
        None if lease_value is None else resolve_value(lease_value, blueprint.parameters, region)
    )
    template_lease = (
        int(resolved)
        if resolved is not None
        else int(WorkerSettings.model_fields["LEASE_SECONDS"].default)
    )
    visibility = visibility_timeout or template_visibility
    if visibility == template_visibility:
        timeout, lease = template_timeout, template_lease
    else:
        factor = visibility / template_visibility
        timeout = max(1, math.floor(template_timeout * factor))
        lease = min(visibility, max(timeout + 1, 5, round(template_lease * factor)))
    return Timings(
        visibility_timeout=visibility,
        worker_timeout=timeout,
        lease_seconds=lease,
        template_visibility_timeout=template_visibility,
        template_worker_timeout=template_timeout,
        template_lease_seconds=template_lease,
    )


def base_environment(
    parent: Mapping[str, str], *, region: str, endpoint_url: str
) -> dict[str, str]:
    """The parent's environment minus anything AWS or product-configuring, plus moto's endpoint."""
    environment = {
        name: value
        for name, value in parent.items()
        if not name.startswith(("AWS_", "POWERTOOLS_", "BOTO_")) and name not in _SETTINGS_NAMES
    }
    python_path = [str(SRC_DIR)] + [
        part for part in parent.get("PYTHONPATH", "").split(os.pathsep) if part
    ]
    environment.update(
        {
            "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_ACCESS_KEY,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(python_path),
        }
    )
    return environment


def function_environment(
    function: FunctionSpec,
    blueprint: Blueprint,
    *,
    region: str,
    overrides: Mapping[str, str],
) -> tuple[dict[str, str], list[str]]:
    """A function's template variables resolved locally, then `overrides`; and what was left out."""
    environment: dict[str, str] = {}
    skipped: list[str] = []
    for name, value in function.environment.items():
        # AWS_* are the stack's (endpoint, region, credentials): a template value would undo them.
        if name in overrides or name.startswith("AWS_"):
            continue
        resolved = resolve_value(value, blueprint.parameters, region)
        if resolved is None:
            skipped.append(
                f"{function.logical_id}: {name} is computed at deploy time ({value!r}); not set locally"
            )
        else:
            environment[name] = resolved
    environment.update(overrides)
    return environment, skipped


def worker_overrides(provisioned: Provisioned, timings: Timings) -> dict[str, str]:
    """Worker variables whose values are the local resources'."""
    return {
        "ASSETS_TABLE_NAME": provisioned.table_name,
        "ASSET_BUCKET_NAME": provisioned.bucket_name,
        "LEASE_SECONDS": str(timings.lease_seconds),
    }


def api_overrides(
    provisioned: Provisioned,
    *,
    asset_base_url: str,
    jwks_url: str,
    cors_origins: list[str],
) -> dict[str, str]:
    """API variables whose values are the local resources' and endpoints."""
    return {
        "ASSETS_TABLE_NAME": provisioned.table_name,
        "ASSET_BUCKET_NAME": provisioned.bucket_name,
        "ASSET_BASE_URL": asset_base_url,
        "COGNITO_USER_POOL_ID": provisioned.user_pool_id,
        "COGNITO_CLIENT_ID": provisioned.user_pool_client_id,
        "COGNITO_JWKS_URL": jwks_url,
        "CORS_ALLOW_ORIGINS": ",".join(cors_origins),
    }


def python_command(module: str, *args: str) -> list[str]:
    """`python -m module args...` with this interpreter (the venv the stack runs in)."""
    return [sys.executable, "-m", module, *args]
