"""The local stack's options, declared once: the CLI's flags, the stack's settings, and (through
the plan) what each child process is told."""

from __future__ import annotations

import argparse
import os
import types
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from local_stack.template import TEMPLATE_PATH

PROJECT_DIR = TEMPLATE_PATH.parent
PORTS = "ports (127.0.0.1 only, unless --for-sam)"
SAM = "SAM mode"


def _option(default: Any, help: str, **flag: Any) -> Any:
    """A field with its command-line help; `flag` may rename it, group it or hide it."""
    return Field(default, description=help, json_schema_extra=flag)


class StackOptions(BaseModel):
    """How to run the stack; the defaults are what `make dev` does."""

    model_config = ConfigDict(frozen=True)

    host: str = _option("127.0.0.1", "", cli=False)
    web_port: int = _option(8700, "page and CDN (default %(default)s)", group=PORTS)
    api_port: int = _option(8701, "API (default %(default)s)", group=PORTS)
    moto_port: int = _option(
        8702, "moto: S3, SQS, DynamoDB, Cognito (default %(default)s)", group=PORTS
    )
    free_ports: bool = _option(
        False, "let the system pick free ports (printed, and in stack.json)", group=PORTS
    )
    state_dir: Path = _option(
        PROJECT_DIR / ".local", "where stack.json is written (default %(default)s)"
    )
    site_dir: Path | None = _option(PROJECT_DIR / "site", "the page's files (default %(default)s)")
    template_path: Path = _option(
        TEMPLATE_PATH, "the SAM template to derive resources from", flag="--template"
    )
    region: str = _option("us-east-1", "")
    visibility_timeout: int = _option(
        30,
        "the queue's visibility timeout locally, in seconds (default %(default)s); the worker's"
        " timeout and lease scale with it",
        exclusive="timings",
    )
    template_timings: bool = _option(
        False,
        "use the template's visibility timeout, function timeout and lease unchanged",
        exclusive="timings",
    )
    worker_concurrency: int = _option(
        os.cpu_count() or 1,
        "batches the worker runs at once, each in its own process, like concurrent Lambda"
        " instances (default: this machine's cores, %(default)s)",
    )
    demo_email: str = _option("demo@example.com", "")
    demo_password: str | None = _option(
        None, "the demo user's password (default: a new random one, printed)"
    )
    for_sam: bool = _option(
        False,
        "start moto, the worker poller and the CDN only; run the API with `sam local start-api`",
        group=SAM,
    )
    moto_bind: str | None = _option(
        None,
        "address moto listens on (default 127.0.0.1; 0.0.0.0 with --for-sam so containers reach it)",
        group=SAM,
    )
    advertise_host: str = _option(
        "host.docker.internal",
        "the name containers use for this machine (default %(default)s)",
        group=SAM,
    )
    sam_api_url: str = _option(
        "http://127.0.0.1:3000",
        "where `sam local start-api` listens (default %(default)s)",
        group=SAM,
    )
    verbose: bool = _option(False, "log every moto request and debug output")

    @model_validator(mode="after")
    def _sound(self) -> Self:
        if not self.template_timings and self.visibility_timeout < 10:
            raise ValueError("--visibility-timeout must be at least 10 seconds")
        if self.worker_concurrency < 1:
            raise ValueError("--worker-concurrency must be at least 1")
        return self

    @property
    def visibility(self) -> int | None:
        """The local visibility timeout, or None to keep the template's."""
        return None if self.template_timings else self.visibility_timeout

    @property
    def moto_address(self) -> str:
        """Where moto listens: everywhere in SAM mode, so containers reach it, unless narrowed."""
        return self.moto_bind or ("0.0.0.0" if self.for_sam else self.host)  # noqa: S104 - SAM mode is the opt-in

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """One flag per field: `--web-port` for `web_port`, `store_true` for a boolean."""
        groups: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            extra: dict[str, Any] = field.json_schema_extra or {}  # type: ignore[assignment]
            if extra.get("cli", True) is False:
                continue
            where: Any = parser
            if "group" in extra:
                if extra["group"] not in groups:
                    groups[extra["group"]] = parser.add_argument_group(extra["group"])
                where = groups[extra["group"]]
            if "exclusive" in extra:
                if extra["exclusive"] not in groups:
                    groups[extra["exclusive"]] = where.add_mutually_exclusive_group()
                where = groups[extra["exclusive"]]
            flag = extra.get("flag", "--" + name.replace("_", "-"))
            kwargs: dict[str, Any] = {"dest": name, "default": field.default}
            if field.description:
                kwargs["help"] = field.description
            kind = next((t for t in (bool, int, Path) if t in _types(field.annotation)), None)
            if kind is bool:
                kwargs["action"] = "store_true"
            else:
                kwargs.update(type=kind or str, metavar=flag[2:].upper().replace("-", "_"))
            where.add_argument(flag, **kwargs)

    @classmethod
    def from_arguments(cls, arguments: argparse.Namespace) -> StackOptions:
        """The options a parsed command line gives (`ValidationError` when they make no sense)."""
        return cls(
            **{
                name: getattr(arguments, name)
                for name in vars(arguments)
                if name in cls.model_fields
            }
        )


def _types(annotation: Any) -> tuple[Any, ...]:
    if isinstance(annotation, types.UnionType):
        return annotation.__args__
    return (annotation,)
