"""`python -m local_stack`'s commands: defaults, and errors a user can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.cli import main


def test_users_without_a_running_stack_says_to_start_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "users",
                "add",
                "ada@example.com",
                "Long-Enough-Passw0rd!",
                "--state-dir",
                str(tmp_path),
            ]
        )
        == 1
    )
    assert "start the local stack first (make dev)" in capsys.readouterr().err


def test_upload_refuses_a_type_the_product_does_not_take(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from local_stack.state import DemoUser, StackInfo, write_state

    write_state(
        tmp_path,
        StackInfo(
            pageUrl="http://127.0.0.1:1/",
            apiUrl="http://127.0.0.1:1",
            cdnUrl="http://127.0.0.1:1/assets",
            awsEndpointUrl="http://127.0.0.1:1",
            region="us-east-1",
            userPoolId="us-east-1_x",
            userPoolClientId="c",
            demoUser=DemoUser("demo@example.com", "x"),
        ),
    )
    image = tmp_path / "animation.gif"
    image.write_bytes(b"GIF89a")
    assert main(["upload", str(image), "--state-dir", str(tmp_path)]) == 2
    assert "image/gif" in capsys.readouterr().err


def test_a_visibility_timeout_too_short_for_the_worker_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Options alone select the default `up` command.
    assert main(["--visibility-timeout", "5"]) == 2
    assert "at least 10 seconds" in capsys.readouterr().err


def test_a_missing_template_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["--free-ports", "--state-dir", str(tmp_path), "--template", str(tmp_path / "nope.yaml")]
    )
    assert code == 1
    assert "nope.yaml does not exist" in capsys.readouterr().out


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "users" in out
    assert "upload" in out
