"""The gateway in front of moto: Host guard, CORS for the page only, S3's POST upload checks."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import httpx
import pytest
from botocore.config import Config
from werkzeug.test import Client

from local_stack.moto_app import MotoGateway, parse_post_form

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from mypy_boto3_s3 import S3Client

PAGE = "http://127.0.0.1:8700"
BUCKET = "local-asset-bucket"
KEY = "uploads/originals/6f1c2b9e-4c3d-4b8a-9f1e-2d3c4b5a6f70.png"
SECRETS = {"local-access-key": "local-secret-key"}


class RecordingApp:
    """Stands in for moto: records what reaches it and answers 204 like a stored POST."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bytes]] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        self.calls.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], body))
        start_response("204 No Content", [("Access-Control-Allow-Origin", "*")])
        return [b""]


@pytest.fixture
def moto() -> RecordingApp:
    return RecordingApp()


def client_for(app: RecordingApp, **kwargs: Any) -> Client:
    return Client(MotoGateway(app, allowed_origins=[PAGE], secrets=SECRETS, **kwargs))


@functools.cache
def _signer() -> S3Client:
    session = boto3.session.Session(
        aws_access_key_id="local-access-key",
        aws_secret_access_key="local-secret-key",
        region_name="us-east-1",
    )
    return session.client(
        "s3", endpoint_url="http://127.0.0.1:8702", config=Config(signature_version="s3v4")
    )


def multipart(
    fields: dict[str, str], data: bytes, *, trailing: dict[str, str] | None = None
) -> tuple[bytes, str]:
    """A browser-style form body: the fields, the file, then (optionally) more fields."""
    request = httpx.Request(
        "POST", "http://x/", data=fields, files={"file": ("a.png", data, "image/png")}
    )
    body = request.read()
    content_type = request.headers["content-type"]
    if trailing:
        boundary = content_type.split("boundary=")[1].encode()
        extra = b"".join(
            b"--"
            + boundary
            + b'\r\nContent-Disposition: form-data; name="'
            + name.encode()
            + b'"\r\n\r\n'
            + value.encode()
            + b"\r\n"
            for name, value in trailing.items()
        )
        body = body.replace(b"--" + boundary + b"--", extra + b"--" + boundary + b"--")
    return body, content_type


def signed_form(max_bytes: int = 100) -> dict[str, str]:
    form = _signer().generate_presigned_post(
        Bucket=BUCKET,
        Key=KEY,
        Fields={"Content-Type": "image/png"},
        Conditions=[["eq", "$Content-Type", "image/png"], ["content-length-range", 1, max_bytes]],
        ExpiresIn=300,
    )
    return {k: str(v) for k, v in form["fields"].items()}


def post(client: Client, body: bytes, content_type: str, **headers: str) -> Any:
    return client.post(
        f"/{BUCKET}",
        data=body,
        headers={"Host": "127.0.0.1:8702", "Content-Type": content_type, **headers},
    )


def test_a_valid_form_reaches_moto_with_its_body_intact(moto: RecordingApp) -> None:
    body, content_type = multipart(signed_form(), b"\x89PNG...")
    response = post(client_for(moto), body, content_type, Origin=PAGE)
    assert response.status_code == 204
    assert moto.calls == [("POST", f"/{BUCKET}", body)]
    # The page may read the answer: its origin, and only its origin, is allowed.
    assert response.headers["Access-Control-Allow-Origin"] == PAGE


def test_an_oversized_file_is_refused_with_s3s_error_and_never_stored(moto: RecordingApp) -> None:
    body, content_type = multipart(signed_form(max_bytes=10), b"x" * 11)
    response = post(client_for(moto), body, content_type, Origin=PAGE)
    assert response.status_code == 400
    assert b"<Code>EntityTooLarge</Code>" in response.data
    assert response.headers["Content-Type"] == "application/xml"
    assert response.headers["Access-Control-Allow-Origin"] == PAGE
    assert moto.calls == []


def test_an_expired_form_is_refused(moto: RecordingApp) -> None:
    later = datetime.now(UTC) + timedelta(minutes=6)
    body, content_type = multipart(signed_form(), b"png")
    response = post(client_for(moto, clock=lambda: later), body, content_type)
    assert response.status_code == 403
    assert b"Policy expired" in response.data
    assert moto.calls == []


def test_a_form_larger_than_the_local_limit_is_refused_unread(moto: RecordingApp) -> None:
    body, content_type = multipart(signed_form(), b"png")
    response = post(client_for(moto, max_form_bytes=len(body) - 1), body, content_type)
    assert response.status_code == 400
    assert b"EntityTooLarge" in response.data
    assert moto.calls == []


def test_fields_after_the_file_are_ignored_as_s3_ignores_them() -> None:
    body, content_type = multipart(
        {"key": "a", "policy": "p"}, b"12345", trailing={"key": "b", "extra": "x"}
    )
    form = parse_post_form(body, content_type)
    assert list(form.fields) == [("key", "a"), ("policy", "p")]
    assert (form.file_name, form.file_size) == ("a.png", 5)


def test_requests_that_are_not_form_uploads_pass_through(moto: RecordingApp) -> None:
    client = client_for(moto)
    response = client.post(
        "/",
        data=b'{"QueueName": "q"}',
        headers={"Host": "127.0.0.1:8702", "Content-Type": "application/x-amz-json-1.0"},
    )
    assert response.status_code == 204
    assert moto.calls == [("POST", "/", b'{"QueueName": "q"}')]


@pytest.mark.parametrize(
    "host", ["evil.example.com", "evil.example.com:8702", "127.0.0.1.nip.io:8702"]
)
def test_a_host_a_rebinding_page_would_send_is_refused(moto: RecordingApp, host: str) -> None:
    response = client_for(moto).get("/", headers={"Host": host})
    assert response.status_code == 403
    assert moto.calls == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:8702",
        "localhost:8702",
        "[::1]:8702",
        "host.docker.internal:8702",
        "172.17.0.1:8702",
    ],
)
def test_local_hosts_are_served(moto: RecordingApp, host: str) -> None:
    assert client_for(moto).get("/", headers={"Host": host}).status_code == 204


def test_a_preflight_from_the_page_is_answered(moto: RecordingApp) -> None:
    response = client_for(moto).open(
        "/",
        method="OPTIONS",
        headers={
            "Host": "127.0.0.1:8702",
            "Origin": PAGE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-target,x-amz-user-agent",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == PAGE
    assert (
        response.headers["Access-Control-Allow-Headers"]
        == "content-type,x-amz-target,x-amz-user-agent"
    )
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert moto.calls == []


def test_a_preflight_from_another_origin_is_refused(moto: RecordingApp) -> None:
    response = client_for(moto).open(
        "/",
        method="OPTIONS",
        headers={
            "Host": "127.0.0.1:8702",
            "Origin": "https://elsewhere.example",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_moto_answers_to_other_origins_carry_no_cors_grant(moto: RecordingApp) -> None:
    # GIVEN moto's own allow-all header on the inner answer
    response = client_for(moto).get(
        "/", headers={"Host": "127.0.0.1:8702", "Origin": "https://elsewhere.example"}
    )
    # THEN another origin's page cannot read it
    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        # A page elsewhere submitting a form, or fetching with no-cors: the browser says who.
        ("/moto-api/reset", {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}),
        ("/moto-api/reset", {"Origin": "null"}),
        # An <img> or a link carries no Origin, but the browser still marks it cross-site.
        ("/moto-api/reset", {"Sec-Fetch-Site": "cross-site"}),
        (f"/{BUCKET}?delete", {"Origin": "https://evil.example"}),
    ],
)
def test_other_sites_cannot_change_moto(
    moto: RecordingApp, path: str, headers: dict[str, str]
) -> None:
    response = client_for(moto).post(path, headers={"Host": "127.0.0.1:8702", **headers})
    assert response.status_code == 403
    assert moto.calls == []


def test_the_page_tools_and_moto_itself_still_reach_moto(moto: RecordingApp) -> None:
    client = client_for(moto)
    for headers in (
        {"Origin": PAGE, "Sec-Fetch-Site": "same-site"},  # the page (sign-in, form POST)
        {},  # boto3, httpx, the tests
        {"Origin": "http://127.0.0.1:8702", "Sec-Fetch-Site": "same-origin"},  # moto's dashboard
    ):
        assert (
            client.post(
                "/moto-api/reset", headers={"Host": "127.0.0.1:8702", **headers}
            ).status_code
            == 204
        )
    assert len(moto.calls) == 3
