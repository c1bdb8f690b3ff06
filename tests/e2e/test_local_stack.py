"""The whole local stack as a new user runs it: one command, a browser's requests, a clean stop.

The stack runs as a subprocess (`python -m local_stack --free-ports`) with the real template,
API and worker. Every request here is plain HTTP, as the page or curl would send it: sign-in
against the local Cognito, the API, the signed S3 form, the CDN.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from local_stack.aws import MotoClients
from local_stack.state import StackInfo
from testbed.stack import (
    PROJECT,
    RunningStack,
    add_user,
    clean_environment,
    running_stack,
    stack_command,
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    # Public delivery, as these tests were written for; signed delivery: test_signed_delivery.py.
    with running_stack(
        tmp_path_factory.mktemp("local-stack"), environment={"ASSET_DELIVERY": "public"}
    ) as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def sign_in(http: httpx.Client, info: StackInfo, email: str, password: str, **headers: str) -> str:
    response = http.post(
        info.awsEndpointUrl + "/",
        headers={
            **headers,
            "content-type": "application/x-amz-json-1.1",
            "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth",
        },
        json={
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": info.userPoolClientId,
            "AuthParameters": {"USERNAME": email, "PASSWORD": password},
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["AuthenticationResult"]["IdToken"]
    return token


def create_upload(
    http: httpx.Client, info: StackInfo, token: str, content_type: str
) -> dict[str, Any]:
    response = http.post(
        f"{info.apiUrl}/assets",
        headers={"authorization": f"Bearer {token}"},
        json={"contentType": content_type},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def send_form(
    http: httpx.Client, upload: dict[str, Any], data: bytes, name: str, content_type: str
) -> httpx.Response:
    # As a browser's FormData: every signed field first, the file last.
    return http.post(
        upload["url"], data=upload["fields"], files={"file": (name, data, content_type)}
    )


def wait_for_final(
    http: httpx.Client, info: StackInfo, token: str, asset_id: str
) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    seen = []
    while time.monotonic() < deadline:
        response = http.get(
            f"{info.apiUrl}/assets/{asset_id}", headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        asset: dict[str, Any] = response.json()["asset"]
        seen.append(asset["status"])
        if asset["status"] in ("ready", "rejected"):
            return asset
        time.sleep(0.05)
    raise AssertionError(f"asset {asset_id} went through {seen} and never finished")


def png_bytes(size: tuple[int, int] = (32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (12, 200, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_stack_describes_itself(stack: RunningStack) -> None:
    info = stack.info
    assert info.region == "us-east-1"
    for url in (info.pageUrl, info.apiUrl, info.cdnUrl, info.awsEndpointUrl):
        assert url.startswith("http://127.0.0.1:")
    assert info.demoUser.email
    output = stack.output()
    for text in (
        info.pageUrl,
        info.apiUrl,
        f"{info.apiUrl}/docs",
        info.awsEndpointUrl,
        info.demoUser.password,
    ):
        assert text in output


def test_a_png_goes_from_form_post_to_ready_and_is_served_by_the_cdn(
    stack: RunningStack, http: httpx.Client
) -> None:
    info = stack.info
    # GIVEN the demo user, signed in against the local Cognito
    token = sign_in(http, info, info.demoUser.email, info.demoUser.password)
    # WHEN they ask for an upload form and post a PNG to it as a browser would
    upload = create_upload(http, info, token, "image/png")
    assert upload["asset"]["status"] == "uploading"
    sent = send_form(http, upload["upload"], png_bytes(), "green.png", "image/png")
    assert sent.status_code == 204, sent.text
    # THEN the asset becomes ready, with a CDN URL
    asset = wait_for_final(http, info, token, upload["asset"]["assetId"])
    assert asset["status"] == "ready", asset
    assert asset["url"] == f"{info.cdnUrl}/{upload['asset']['assetId']}.png"
    # ... which serves the validated image with its type
    served = http.get(asset["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).size == (32, 24)
    # ... while the original stays unreachable through the CDN
    original = upload["upload"]["fields"]["key"]
    assert original.startswith("uploads/originals/")
    page_origin = info.pageUrl.rstrip("/")
    assert http.get(f"{page_origin}/{original}").status_code == 404
    assert http.get(f"{info.cdnUrl}/../{original}").status_code == 404


def test_a_fake_jpeg_is_rejected_and_never_published(
    stack: RunningStack, http: httpx.Client
) -> None:
    info = stack.info
    token = sign_in(http, info, info.demoUser.email, info.demoUser.password)
    upload = create_upload(http, info, token, "image/jpeg")
    fake = b"\xff\xd8\xff\xe0" + b"this is not a JPEG" * 20
    assert send_form(http, upload["upload"], fake, "fake.jpg", "image/jpeg").status_code == 204
    asset = wait_for_final(http, info, token, upload["asset"]["assetId"])
    assert asset["status"] == "rejected"
    assert asset.get("error")
    assert "url" not in asset or asset["url"] is None
    assert http.get(f"{info.cdnUrl}/{upload['asset']['assetId']}.jpg").status_code == 404


def test_the_signed_form_is_enforced_as_s3_would(stack: RunningStack, http: httpx.Client) -> None:
    info = stack.info
    token = sign_in(http, info, info.demoUser.email, info.demoUser.password)
    upload = create_upload(http, info, token, "image/png")
    # A different type than the one signed for is refused by the policy, not stored.
    fields = dict(upload["upload"]["fields"])
    fields["Content-Type"] = "image/gif"
    refused = http.post(
        upload["upload"]["url"], data=fields, files={"file": ("a.gif", b"GIF89a", "image/gif")}
    )
    assert refused.status_code == 403
    assert "<Code>AccessDenied</Code>" in refused.text


def test_another_user_cannot_see_the_first_users_asset(
    stack: RunningStack, http: httpx.Client
) -> None:
    info = stack.info
    owner = sign_in(http, info, info.demoUser.email, info.demoUser.password)
    upload = create_upload(http, info, owner, "image/png")
    asset_id = upload["asset"]["assetId"]
    # GIVEN a second user, added with the helper command
    created = add_user(stack, "second@example.com", "Another-Local-Passw0rd!")
    assert created.returncode == 0, created.stderr
    other = sign_in(http, info, "second@example.com", "Another-Local-Passw0rd!")
    # THEN the first user's asset does not exist for them
    response = http.get(
        f"{info.apiUrl}/assets/{asset_id}", headers={"authorization": f"Bearer {other}"}
    )
    assert response.status_code == 404
    assert (
        http.get(
            f"{info.apiUrl}/assets/{asset_id}", headers={"authorization": f"Bearer {owner}"}
        ).status_code
        == 200
    )


def test_an_album_through_the_stack_counts_its_ready_image_and_goes_leaving_it(
    stack: RunningStack, http: httpx.Client
) -> None:
    # The local table is the template's, album index included: albums work as deployed.
    info = stack.info
    token = sign_in(http, info, info.demoUser.email, info.demoUser.password)
    auth = {"authorization": f"Bearer {token}"}
    album = http.post(f"{info.apiUrl}/albums", headers=auth, json={"name": "Local"})
    assert album.status_code == 201, album.text
    album_id = album.json()["album"]["albumId"]
    created = http.post(
        f"{info.apiUrl}/assets",
        headers=auth,
        json={"contentType": "image/png", "fileName": "green.png", "albumId": album_id},
    )
    assert created.status_code == 201, created.text
    upload = created.json()
    assert (
        send_form(http, upload["upload"], png_bytes(), "green.png", "image/png").status_code == 204
    )
    asset = wait_for_final(http, info, token, upload["asset"]["assetId"])
    assert (asset["status"], asset["albumId"], asset["fileName"]) == (
        "ready",
        album_id,
        "green.png",
    )
    listed = http.get(f"{info.apiUrl}/assets", params={"albumId": album_id}, headers=auth)
    assert [a["assetId"] for a in listed.json()["assets"]] == [asset["assetId"]]
    counted = http.get(f"{info.apiUrl}/albums/{album_id}", headers=auth).json()["album"]
    assert counted["assetCount"] == 1

    assert http.delete(f"{info.apiUrl}/albums/{album_id}", headers=auth).status_code == 204
    after = http.get(f"{info.apiUrl}/assets/{asset['assetId']}", headers=auth).json()["asset"]
    assert after["status"] == "ready"
    assert "albumId" not in after


def test_a_weak_password_is_refused_with_the_pools_rules(stack: RunningStack) -> None:
    refused = add_user(stack, "weak@example.com", "short")
    assert refused.returncode == 1
    assert "at least 14 characters" in refused.stderr


def test_the_page_its_config_and_cors_for_it(stack: RunningStack, http: httpx.Client) -> None:
    info = stack.info
    assert http.get(info.pageUrl).status_code == 200
    script = http.get(info.pageUrl + "config.js").text
    config = json.loads(script.split("Object.freeze(", 1)[1].rsplit(");", 1)[0])
    assert config["apiBaseUrl"] == info.apiUrl
    assert config["userPoolClientId"] == info.userPoolClientId
    assert config["cognitoEndpoint"] == info.awsEndpointUrl
    assert config["authFlow"] == "USER_PASSWORD_AUTH"
    origin = info.pageUrl.rstrip("/")
    preflight = http.options(
        f"{info.apiUrl}/assets",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin


def test_a_second_stack_on_the_same_ports_fails_clearly(
    stack: RunningStack, tmp_path: Path
) -> None:
    ports = {
        "--web-port": stack.info.pageUrl.rstrip("/").rsplit(":", 1)[1],
        "--api-port": stack.info.apiUrl.rsplit(":", 1)[1],
        "--moto-port": stack.info.awsEndpointUrl.rsplit(":", 1)[1],
    }
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "local_stack",
            "--state-dir",
            str(tmp_path),
            *[a for p in ports.items() for a in p],
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=clean_environment(),
        timeout=60,
        check=False,
    )
    assert second.returncode == 1
    assert "already in use" in second.stdout
    assert "--free-ports" in second.stdout
    # ... and the same state directory is refused even on free ports
    again = subprocess.run(
        stack_command("--free-ports", "--state-dir", str(stack.state_dir)),
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=clean_environment(),
        timeout=60,
        check=False,
    )
    assert again.returncode == 1
    assert "already running" in again.stdout


def test_a_page_on_another_site_can_neither_wipe_nor_drive_the_stack(
    stack: RunningStack, http: httpx.Client
) -> None:
    info = stack.info
    evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    # GIVEN a queue and a user the stack provisioned
    queue = MotoClients(info.awsEndpointUrl, info.region).sqs
    assert queue.get_queue_attributes(QueueUrl=str(info.queueUrl), AttributeNames=["QueueArn"])[
        "Attributes"
    ]
    # WHEN a page elsewhere POSTs to moto's reset, as any open tab could (a form, a fetch) ...
    reset = f"{info.awsEndpointUrl}/moto-api/reset"
    assert http.post(reset, headers=evil).status_code == 403
    # ... or sends it without an Origin (an <img>, a link), or deletes the bucket's objects
    assert http.post(reset, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    deleted = http.post(f"{info.awsEndpointUrl}/{info.bucketName}?delete", headers=evil)
    assert deleted.status_code == 403
    # THEN nothing was reset: the queue and the demo user are still there
    assert queue.get_queue_attributes(QueueUrl=str(info.queueUrl), AttributeNames=["QueueArn"])[
        "Attributes"
    ]
    token = sign_in(http, info, info.demoUser.email, info.demoUser.password)
    # AND the API refuses a rebinding page's Host and another site's Origin ...
    assert (
        http.get(f"{info.apiUrl}/health", headers={"Host": "rebind.evil.example"}).status_code
        == 403
    )
    created = http.post(
        f"{info.apiUrl}/assets",
        headers={**evil, "authorization": f"Bearer {token}"},
        json={"contentType": "image/png"},
    )
    assert created.status_code == 403
    # ... and the CDN another site's fetch, while the page's own calls still go through
    assert http.get(f"{info.pageUrl}config.js", headers=evil).status_code == 403
    page = {"Origin": info.pageUrl.rstrip("/"), "Sec-Fetch-Site": "same-site"}
    assert http.get(f"{info.apiUrl}/health", headers=page).status_code == 200
    assert sign_in(http, info, info.demoUser.email, info.demoUser.password, **page)


def _upload_command(
    stack: RunningStack, *args: str, email: str, password: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        stack_command(
            "upload",
            *args,
            "--email",
            email,
            "--password",
            password,
            "--state-dir",
            str(stack.state_dir),
        ),
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=clean_environment(),
        timeout=120,
        check=False,
    )


def _assets_of(http: httpx.Client, info: StackInfo, token: str) -> list[dict[str, Any]]:
    response = http.get(
        f"{info.apiUrl}/assets",
        params={"limit": "100"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assets: list[dict[str, Any]] = response.json()["assets"]
    return assets


def test_the_upload_command_takes_several_files_with_a_title_into_an_album_by_name(
    stack: RunningStack, http: httpx.Client, tmp_path: Path
) -> None:
    # GIVEN a user with an album, two PNGs and a text file renamed .jpg
    email, password = "uploader@example.com", "Uploader-Local-Passw0rd!"
    assert add_user(stack, email, password).returncode == 0
    info = stack.info
    token = sign_in(http, info, email, password)
    album = http.post(
        f"{info.apiUrl}/albums", headers={"authorization": f"Bearer {token}"}, json={"name": "Trip"}
    ).json()["album"]
    (tmp_path / "one.png").write_bytes(png_bytes((20, 10)))
    (tmp_path / "two.png").write_bytes(png_bytes((30, 15)))
    (tmp_path / "fake.jpg").write_text("not a photograph\n" * 20)
    # WHEN they are uploaded in one command
    done = _upload_command(
        stack,
        *(str(tmp_path / name) for name in ("one.png", "two.png", "fake.jpg")),
        "--title",
        "Holiday <b>",
        "--album",
        "Trip",
        email=email,
        password=password,
    )
    # THEN each file gets its own outcome: two ready with their URLs, one rejected with the reason
    assert done.returncode == 1, done
    lines = done.stdout.splitlines()
    ready = [line for line in lines if ": ready " in line]
    assert [line.split(":")[0] for line in ready] == ["one.png", "two.png"], done.stdout
    assert "fake.jpg: rejected: The file is not a JPEG image." in lines, done.stdout
    assert done.stderr == ""
    # ... each named after its file, titled, in the album chosen by its name
    assets = {asset["fileName"]: asset for asset in _assets_of(http, info, token)}
    assert set(assets) == {"one.png", "two.png", "fake.jpg"}
    assert {asset["title"] for asset in assets.values()} == {"Holiday <b>"}
    assert {asset["albumId"] for asset in assets.values()} == {album["albumId"]}
    assert assets["one.png"]["url"] in ready[0]


def test_the_upload_command_refuses_missing_files_and_unknown_albums_before_any_record(
    stack: RunningStack, http: httpx.Client, tmp_path: Path
) -> None:
    email, password = "careful@example.com", "Careful-Local-Passw0rd!"
    assert add_user(stack, email, password).returncode == 0
    (tmp_path / "real.png").write_bytes(png_bytes())
    # A typo in one name: one line for it, and nothing uploaded (not even the real file).
    missing = _upload_command(
        stack,
        str(tmp_path / "real.png"),
        str(tmp_path / "typo.png"),
        email=email,
        password=password,
    )
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == [
        f"error: {tmp_path / 'typo.png'}: no such file",
        "error: nothing was uploaded",
    ]
    assert missing.stdout == ""
    # An album that does not exist: said before any record exists.
    unknown = _upload_command(
        stack, str(tmp_path / "real.png"), "--album", "Nope", email=email, password=password
    )
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "error: no album called 'Nope' (yours: none yet); make it on the page first;"
        " nothing was uploaded"
    )
    token = sign_in(http, stack.info, email, password)
    assert _assets_of(http, stack.info, token) == []


def test_the_upload_command_checks_the_forms_limit_and_deletes_the_record_it_cannot_use(
    stack: RunningStack, http: httpx.Client, tmp_path: Path
) -> None:
    email, password = "big-files@example.com", "Big-Files-Local-Passw0rd!"
    assert add_user(stack, email, password).returncode == 0
    # GIVEN a file 8 bytes over the 10 MiB limit, another over it, and a small one
    over = b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024)
    (tmp_path / "huge.png").write_bytes(over)
    (tmp_path / "huger.png").write_bytes(over + b"\0" * (3 * 1024 * 1024))
    (tmp_path / "small.png").write_bytes(png_bytes())
    done = _upload_command(
        stack,
        *(str(tmp_path / n) for n in ("huge.png", "huger.png", "small.png")),
        email=email,
        password=password,
    )
    # THEN both sizes are told distinctly, in binary units, and the small one still goes
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: huge.png: huge.png is 10,485,768 bytes; the largest image you can upload is"
        " 10 MiB (10,485,760 bytes) (its record was deleted)",
        # the limit is known by now: refused before asking for a record
        "error: huger.png: huger.png is 13 MiB; the largest image you can upload is 10 MiB",
    ]
    assert done.stdout.splitlines()[-1].startswith("small.png: ready http://127.0.0.1:")
    # ... and no record of the refused files is left to count against the user's open uploads
    token = sign_in(http, stack.info, email, password)
    assert [asset["fileName"] for asset in _assets_of(http, stack.info, token)] == ["small.png"]


def test_s3s_xml_refusal_reads_as_one_line(stack: RunningStack, http: httpx.Client) -> None:
    from local_stack.client import LocalStackClient, s3_refusal

    info = stack.info
    client = LocalStackClient(info, http)
    token = client.sign_in(info.demoUser.email, info.demoUser.password)
    upload = client.create_upload(token, "image/png", file_name="a.png")
    tampered = type(upload)(
        upload.asset_id,
        upload.url,
        {**upload.fields, "Content-Type": "image/gif"},
        upload.max_bytes,
    )
    refused = client.send_file(tampered, b"GIF89a", "a.gif", "image/gif")
    assert refused.status_code == 403
    assert "<Error>" in refused.text
    line = s3_refusal(refused)
    assert line.startswith("S3 refused the file (AccessDenied): ")
    assert "\n" not in line
    assert "<" not in line
    client.delete_asset(token, upload.asset_id)


def test_the_upload_command_refuses_a_wrong_type_before_any_record(
    stack: RunningStack, http: httpx.Client, tmp_path: Path
) -> None:
    email, password = "typed@example.com", "Typed-Local-Passw0rd!"
    assert add_user(stack, email, password).returncode == 0
    (tmp_path / "real.png").write_bytes(png_bytes())
    (tmp_path / "anim.gif").write_bytes(b"GIF89a" + b"\0" * 32)
    (tmp_path / "empty.jpg").write_bytes(b"")
    done = _upload_command(
        stack,
        *(str(tmp_path / n) for n in ("real.png", "anim.gif", "empty.jpg")),
        email=email,
        password=password,
    )
    # One line per file that cannot be an upload, then nothing at all is sent
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: {tmp_path / 'anim.gif'}: image/gif; the product takes image/png and image/jpeg"
        " (--content-type to override)",
        f"error: {tmp_path / 'empty.jpg'}: the file is empty",
        "error: nothing was uploaded",
    ]
    token = sign_in(http, stack.info, email, password)
    assert _assets_of(http, stack.info, token) == []


def test_an_s3_refusal_during_an_upload_is_one_line_and_its_record_is_deleted(
    stack: RunningStack, http: httpx.Client, tmp_path: Path
) -> None:
    from local_stack.client import LocalStackClient, Upload
    from local_stack.uploads import ImageFile, Uploader, UploadFailed

    class TamperingClient(LocalStackClient):
        """Sends each form with its Content-Type field changed, which S3 refuses in XML."""

        def send_file(
            self, upload: Upload, data: bytes, filename: str, content_type: str
        ) -> httpx.Response:
            fields = {**upload.fields, "Content-Type": "image/gif"}
            tampered = Upload(upload.asset_id, upload.url, fields, upload.max_bytes)
            return super().send_file(tampered, data, filename, content_type)

    email, password = "refused@example.com", "Refused-Local-Passw0rd!"
    assert add_user(stack, email, password).returncode == 0
    client = TamperingClient(stack.info, http)
    token = client.sign_in(email, password)
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes())
    out = io.StringIO()
    uploader = Uploader(client, token, out)
    with pytest.raises(UploadFailed) as failed:
        uploader.upload(
            ImageFile(path, "image/png", path.stat().st_size), title=None, album_id=None
        )
    message = str(failed.value)
    assert message.startswith("S3 refused the file (AccessDenied): "), message
    assert message.endswith(" (its record was deleted)"), message
    assert "\n" not in message
    assert "<" not in message
    # The record the upload had made is gone, not left to count against the user's uploads
    assert "sending" in out.getvalue()
    assert _assets_of(http, stack.info, token) == []


def test_ctrl_c_stops_everything_and_frees_every_port(stack: RunningStack) -> None:
    # Last in this module: it stops the shared stack.
    processes: dict[str, int] = stack.info.extra["processes"]
    ports = [
        int(url.rstrip("/").rsplit(":", 1)[1].split("/")[0])
        for url in (stack.info.pageUrl, stack.info.apiUrl, stack.info.awsEndpointUrl)
    ]
    assert set(processes) == {"moto", "worker", "api", "web"}
    os.killpg(stack.process.pid, signal.SIGINT)
    assert stack.process.wait(timeout=30) == 0
    for name, pid in processes.items():
        assert _gone(pid), f"{name} (pid {pid}) is still running"
    for port in ports:
        with socket.socket() as probe:
            # As any server binds: connections the test itself held may linger in TIME_WAIT,
            # but no listener may remain.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
            probe.listen()
    assert not (stack.state_dir / "stack.json").exists()
    assert "Stopped: every process has exited" in stack.output()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
