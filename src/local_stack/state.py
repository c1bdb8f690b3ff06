"""`.local/stack.json`: where a running local stack says what it is, for people, scripts and tests."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE_NAME = "stack.json"

LOCAL_ACCESS_KEY_ID = "local-access-key"
LOCAL_SECRET_ACCESS_KEY = "local-secret-key"  # noqa: S105 - moto's stand-in, not a credential
"""The fake credentials every local process signs with; the S3 POST checks verify against them."""


class StateFileError(RuntimeError):
    """No usable stack.json: the stack is not running, or the file is not one it wrote."""


@dataclass(frozen=True, slots=True)
class DemoUser:
    email: str
    password: str


@dataclass(frozen=True, slots=True)
class StackInfo:
    """What `python -m local_stack` started; the first keys are the documented contract."""

    pageUrl: str
    apiUrl: str
    cdnUrl: str
    awsEndpointUrl: str
    region: str
    userPoolId: str
    userPoolClientId: str
    demoUser: DemoUser
    mode: str = "full"
    docsUrl: str | None = None
    pid: int | None = None
    tableName: str | None = None
    bucketName: str | None = None
    queueUrl: str | None = None
    deadLetterQueueUrl: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> StackInfo:
        try:
            values = dict(document)
            values["demoUser"] = DemoUser(**values["demoUser"])
            known = set(cls.__dataclass_fields__)
            return cls(**{name: value for name, value in values.items() if name in known})
        except (KeyError, TypeError) as error:
            raise StateFileError(f"not a local stack state file: {error}") from error


def state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE_NAME


def write_state(state_dir: Path, info: StackInfo) -> Path:
    """Write stack.json atomically, readable by this user only (it holds the demo password)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_path(state_dir)
    descriptor, temporary = tempfile.mkstemp(dir=state_dir, prefix=".stack-", suffix=".json")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(info.to_json(), stream, indent=2)
            stream.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def read_state(state_dir: Path) -> StackInfo:
    """The running stack's description; `StateFileError` if there is none."""
    path = state_path(state_dir)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise StateFileError(
            f"{path} does not exist: start the local stack first (make dev)"
        ) from error
    except json.JSONDecodeError as error:
        raise StateFileError(f"{path} is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise StateFileError(f"{path} is not a local stack state file")
    return StackInfo.from_json(document)


def remove_state(state_dir: Path, pid: int) -> None:
    """Remove stack.json if it is still this process's (a newer stack may have replaced it)."""
    path = state_path(state_dir)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return
    if isinstance(document, dict) and document.get("pid") == pid:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def process_alive(pid: int) -> bool:
    """True if a process with this id exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
