"""`.local/stack.json`: written privately and atomically, read with a useful error."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from local_stack.state import (
    DemoUser,
    StackInfo,
    StateFileError,
    process_alive,
    read_state,
    remove_state,
    write_state,
)

INFO = StackInfo(
    pageUrl="http://127.0.0.1:8700/",
    apiUrl="http://127.0.0.1:8701",
    cdnUrl="http://127.0.0.1:8700/assets",
    awsEndpointUrl="http://127.0.0.1:8702",
    region="us-east-1",
    userPoolId="us-east-1_abc",
    userPoolClientId="client",
    demoUser=DemoUser("demo@example.com", "Secret-Password-123"),
    pid=os.getpid(),
)


def test_the_documented_keys_are_written_and_read_back(tmp_path: Path) -> None:
    path = write_state(tmp_path / ".local", INFO)
    document = json.loads(path.read_text())
    assert {
        "pageUrl",
        "apiUrl",
        "cdnUrl",
        "awsEndpointUrl",
        "region",
        "userPoolId",
        "userPoolClientId",
        "demoUser",
    } <= set(document)
    assert document["demoUser"] == {"email": "demo@example.com", "password": "Secret-Password-123"}
    assert read_state(tmp_path / ".local") == INFO


def test_only_its_owner_can_read_it(tmp_path: Path) -> None:
    path = write_state(tmp_path, INFO)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["stack.json"]


def test_a_missing_file_says_to_start_the_stack(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match="start the local stack first"):
        read_state(tmp_path)


def test_a_foreign_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "stack.json").write_text('{"hello": 1}')
    with pytest.raises(StateFileError, match="not a local stack state file"):
        read_state(tmp_path)


def test_a_stack_removes_only_its_own_file(tmp_path: Path) -> None:
    write_state(tmp_path, INFO)
    remove_state(tmp_path, pid=INFO.pid + 1 if INFO.pid else 1)
    assert (tmp_path / "stack.json").exists()
    remove_state(tmp_path, pid=os.getpid())
    assert not (tmp_path / "stack.json").exists()


def test_process_alive() -> None:
    assert process_alive(os.getpid())
    assert not process_alive(2**22 + 12345)
