"""moto server as the local stack runs it: closer to AWS where the product depends on AWS.

moto's server stores any POST upload without checking its policy, answers CORS for every origin,
sends S3 notifications before the object's metadata is written, and leaves `versionId` out of
them. The gateway here puts S3's POST checks (`post_policy`) in front of moto, answers CORS for
the local page's origin only, refuses other sites' pages and Host names a DNS-rebinding page
would use (`guard`), and the patches make notifications carry `versionId` and `sequencer` and
leave only once the object is complete.
"""

from __future__ import annotations

import io
import itertools
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus
from xml.sax.saxutils import escape

from moto.moto_server import werkzeug_app
from moto.moto_server.werkzeug_app import MotoRequestHandler
from moto.s3 import notifications
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from local_stack.guard import refusal
from local_stack.post_policy import PostForm, PostPolicyError, verify_post

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

LOG = logging.getLogger("local_stack.moto")

MAX_FORM_BYTES = 256 * 1024 * 1024
"""Larger POST uploads are refused before they are read: the stack holds a form in memory."""

_BUCKET_PATH = re.compile(r"\A/(?P<bucket>[a-z0-9][a-z0-9.\-]{1,62})/?\Z")
_CORS_METHODS = "GET, HEAD, POST, PUT, DELETE"
_CORS_EXPOSE = "ETag, Location, x-amz-request-id, x-amz-version-id, x-amzn-RequestId"


def parse_post_form(body: bytes, content_type: str) -> PostForm:
    """The fields before the `file` part, and the file's name and size, as S3 reads a POST."""
    _, options = parse_options_header(content_type)
    boundary = options.get("boundary")
    if not boundary:
        raise PostPolicyError(
            400,
            "MalformedPOSTRequest",
            "The body of your POST request is not well-formed multipart/form-data.",
        )
    decoder = MultipartDecoder(boundary.encode("latin-1"), max_parts=1000)
    decoder.receive_data(body)
    decoder.receive_data(None)
    fields: list[tuple[str, str]] = []
    file_name: str | None = None
    file_size: int | None = None
    part_name: str | None = None
    part_filename = ""
    buffer = bytearray()
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, Field | File):
                part_name = event.name
                part_filename = event.filename if isinstance(event, File) else ""
                buffer.clear()
            elif isinstance(event, Data):
                buffer.extend(event.data)
                if event.more_data or part_name is None:
                    continue
                if part_name.lower() == "file":
                    file_name, file_size = part_filename, len(buffer)
                    # S3 ignores every part after the file.
                    break
                fields.append((part_name, buffer.decode("utf-8", errors="replace")))
            elif isinstance(event, Epilogue | NeedData):
                break
    except ValueError as error:
        raise PostPolicyError(
            400,
            "MalformedPOSTRequest",
            f"The body of your POST request is not well-formed multipart/form-data: {error}",
        ) from error
    return PostForm(fields=fields, file_name=file_name, file_size=file_size)


class MotoGateway:
    """WSGI middleware in front of moto: Host check, page-only CORS, S3's POST upload checks."""

    def __init__(
        self,
        app: WSGIApplication,
        *,
        allowed_origins: Sequence[str],
        secrets: Mapping[str, str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_form_bytes: int = MAX_FORM_BYTES,
    ) -> None:
        self._app = app
        self._origins = frozenset(origin.rstrip("/") for origin in allowed_origins)
        self._secrets = dict(secrets)
        self._clock = clock
        self._max_form_bytes = max_form_bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        headers = {
            name[5:].replace("_", "-").lower(): str(value)
            for name, value in environ.items()
            if name.startswith("HTTP_")
        }
        headers.setdefault("host", environ.get("SERVER_NAME", ""))
        method = environ.get("REQUEST_METHOD", "GET")
        reason = refusal(method, headers, self._origins)
        if reason is not None:
            return _plain(start_response, 403, reason)
        origin = environ.get("HTTP_ORIGIN")
        allowed_origin = origin if origin and origin.rstrip("/") in self._origins else None
        if method == "OPTIONS" and origin and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"):
            return self._preflight(environ, start_response, allowed_origin)
        respond = _with_cors(start_response, allowed_origin)
        match = _BUCKET_PATH.match(environ.get("PATH_INFO", ""))
        if (
            method == "POST"
            and match is not None
            and not environ.get("QUERY_STRING")
            and environ.get("CONTENT_TYPE", "").lower().startswith("multipart/form-data")
        ):
            return self._form_upload(environ, respond, match["bucket"])
        return self._app(environ, respond)

    def _preflight(
        self, environ: WSGIEnvironment, start_response: StartResponse, origin: str | None
    ) -> Iterable[bytes]:
        if origin is None:
            return _plain(start_response, 403, "CORS: this origin is not allowed.")
        headers = [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", _CORS_METHODS),
            ("Access-Control-Max-Age", "600"),
            ("Vary", "Origin"),
            ("Content-Length", "0"),
        ]
        requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
        if requested:
            headers.append(("Access-Control-Allow-Headers", requested))
        start_response("200 OK", headers)
        return [b""]

    def _form_upload(
        self, environ: WSGIEnvironment, start_response: StartResponse, bucket: str
    ) -> Iterable[bytes]:
        length_header = environ.get("CONTENT_LENGTH") or ""
        if not length_header.isdigit():
            return _plain(start_response, 411, "Content-Length required")
        length = int(length_header)
        if length > self._max_form_bytes:
            return _s3_error(
                start_response,
                PostPolicyError(
                    400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
                ),
            )
        body = environ["wsgi.input"].read(length)
        try:
            form = parse_post_form(body, environ.get("CONTENT_TYPE", ""))
            accepted = verify_post(form, bucket=bucket, secrets=self._secrets, now=self._clock())
        except PostPolicyError as error:
            LOG.warning("refused a POST upload to %s: %s %s", bucket, error.code, error.message)
            return _s3_error(start_response, error)
        LOG.debug("accepted a POST upload to s3://%s/%s", bucket, accepted.key)
        environ["wsgi.input"] = io.BytesIO(body)
        with deferred_notifications():
            result = self._app(environ, start_response)
            # Flask has run the view by now; draining here keeps the notification behind it.
            chunks = list(result)
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return chunks


def _with_cors(start_response: StartResponse, origin: str | None) -> StartResponse:
    """Replace whatever CORS headers moto sent with a grant for the page's origin, or none."""

    def respond(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        kept = [
            (name, value)
            for name, value in headers
            if not name.lower().startswith("access-control-")
        ]
        if origin is not None:
            kept += [
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Expose-Headers", _CORS_EXPOSE),
                ("Vary", "Origin"),
            ]
        return start_response(status, kept, exc_info)

    return respond


def _plain(start_response: StartResponse, status: int, message: str) -> list[bytes]:
    body = (message + "\n").encode()
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _s3_error(start_response: StartResponse, error: PostPolicyError) -> list[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
        "<RequestId>local</RequestId></Error>"
    ).encode()
    start_response(
        f"{error.status} {_REASONS.get(error.status, 'Error')}",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
    )
    return [body]


_REASONS = {400: "Bad Request", 403: "Forbidden", 411: "Length Required"}

# --- notifications -------------------------------------------------------------------------

_deferred = threading.local()
_sequencer = itertools.count(1)


@contextmanager
def deferred_notifications() -> Iterator[None]:
    """Hold this thread's S3 notifications until the block is done, then send them."""
    _deferred.calls = []
    try:
        yield
    finally:
        calls: list[Callable[[], None]] = _deferred.__dict__.pop("calls", [])
        for send in calls:
            send()


def patch_moto() -> Callable[[], None]:
    """Bring moto closer to AWS where the product depends on it; returns the undo.

    moto's allow-all CORS goes (the gateway answers CORS); S3 notifications gain `versionId`,
    `sequencer` and the request fields S3 sends, and wait for the end of a POST upload. moto is
    process-global, so tests that serve it in-process undo this when they stop.
    """
    original_cors = werkzeug_app.DISABLE_GLOBAL_CORS  # type: ignore[attr-defined]
    original_send = notifications.send_event
    original_event = notifications._get_s3_event

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        calls = getattr(_deferred, "calls", None)
        if calls is None:
            original_send(account_id, event_name, bucket, key)
        else:
            calls.append(lambda: original_send(account_id, event_name, bucket, key))

    def get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> Any:
        event = original_event(event_name, bucket, key, notification_id)
        for record in event.get("Records", []):
            obj = record["s3"]["object"]
            # S3 form-encodes the key but keeps its slashes; moto encodes those too.
            obj["key"] = quote_plus(key.name, safe="/")
            if getattr(bucket, "is_versioned", False) and key.version_id not in (None, "null"):
                obj["versionId"] = key.version_id
            obj["sequencer"] = f"{next(_sequencer):018X}"
            record.setdefault("userIdentity", {"principalId": "AWS:LOCAL"})
            record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
            record.setdefault(
                "responseElements", {"x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL"}
            )
        return event

    # moto reads the CORS switch when it builds a service's app, on that service's first request.
    werkzeug_app.DISABLE_GLOBAL_CORS = True  # type: ignore[attr-defined]
    notifications.send_event = send_event
    notifications._get_s3_event = get_s3_event

    def undo() -> None:
        werkzeug_app.DISABLE_GLOBAL_CORS = original_cors  # type: ignore[attr-defined]
        notifications.send_event = original_send
        notifications._get_s3_event = original_event

    return undo


# --- the server ----------------------------------------------------------------------------


def create_moto_app(
    *, allowed_origins: Sequence[str], secrets: Mapping[str, str]
) -> WSGIApplication:
    """moto's WSGI application behind the gateway (call `patch_moto` before serving it)."""
    app = werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app)
    return MotoGateway(app, allowed_origins=allowed_origins, secrets=secrets)


class QuietMotoRequestHandler(MotoRequestHandler):
    """moto's handler logging only server errors: 4xx answers are routine for the worker."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if str(code).startswith("5"):
            super().log_request(code, size)
