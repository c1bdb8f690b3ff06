"""A caller of the running local stack that does what the browser does, over plain HTTP.

Sign in against the local Cognito, ask the API for an upload form, POST the bytes to the form's
URL (fields first, file last), and poll the asset until it is `ready` or `rejected`. The
`upload` command and the latency benchmark use it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import unescape

import httpx

from local_stack.state import StackInfo

FINAL_STATUSES = frozenset({"ready", "rejected", "expired"})


class LocalStackCallFailed(RuntimeError):
    """A call to the local stack answered something other than what the flow expects."""


@dataclass(frozen=True, slots=True)
class Upload:
    asset_id: str
    url: str
    fields: dict[str, str]
    max_bytes: int = 0
    """The largest file the form accepts (`upload.maxBytes`)."""


class LocalStackClient:
    """The browser's side of the product, against one running local stack."""

    def __init__(self, info: StackInfo, http: httpx.Client) -> None:
        self._info = info
        self._http = http

    def sign_in(self, email: str, password: str) -> str:
        """An ID token from the local user pool (USER_PASSWORD_AUTH, as the local page does)."""
        response = self._http.post(
            self._info.awsEndpointUrl + "/",
            headers={
                "content-type": "application/x-amz-json-1.1",
                "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth",
            },
            json={
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": self._info.userPoolClientId,
                "AuthParameters": {"USERNAME": email, "PASSWORD": password},
            },
        )
        body = _json(response, "sign-in")
        token = body.get("AuthenticationResult", {}).get("IdToken")
        if not token:
            raise LocalStackCallFailed(f"sign-in returned no token: {body}")
        return str(token)

    def create_upload(
        self,
        token: str,
        content_type: str,
        *,
        file_name: str | None = None,
        title: str | None = None,
        album_id: str | None = None,
    ) -> Upload:
        """`POST /assets`: a new asset record and its signed upload form."""
        details = {"fileName": file_name, "title": title, "albumId": album_id}
        response = self._http.post(
            f"{self._info.apiUrl}/assets",
            headers={"authorization": f"Bearer {token}"},
            json={"contentType": content_type, **{k: v for k, v in details.items() if v}},
        )
        body = _json(response, "POST /assets", expected=201)
        upload = body["upload"]
        return Upload(
            asset_id=body["asset"]["assetId"],
            url=upload["url"],
            fields={str(k): str(v) for k, v in upload["fields"].items()},
            max_bytes=int(upload["maxBytes"]),
        )

    def delete_asset(self, token: str, asset_id: str) -> None:
        """`DELETE /assets/{id}`: the record and everything stored for it (gone already is fine)."""
        response = self._http.delete(
            f"{self._info.apiUrl}/assets/{asset_id}", headers={"authorization": f"Bearer {token}"}
        )
        if response.status_code not in (204, 404):
            raise LocalStackCallFailed(_refusal(response, f"DELETE /assets/{asset_id}"))

    def list_albums(self, token: str) -> list[dict[str, Any]]:
        """`GET /albums`, every page: the user's albums, newest first."""
        albums: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
            response = self._http.get(
                f"{self._info.apiUrl}/albums",
                params=params,
                headers={"authorization": f"Bearer {token}"},
            )
            body = _json(response, "GET /albums")
            albums += body["albums"]
            cursor = body.get("nextCursor")
            if not cursor:
                return albums

    def send_file(
        self, upload: Upload, data: bytes, filename: str, content_type: str
    ) -> httpx.Response:
        """POST the bytes as a browser form would: every signed field, then the file."""
        return self._http.post(
            upload.url, data=upload.fields, files={"file": (filename, data, content_type)}
        )

    def get_asset(self, token: str, asset_id: str) -> dict[str, Any]:
        """`GET /assets/{id}`: the asset as its owner sees it."""
        response = self._http.get(
            f"{self._info.apiUrl}/assets/{asset_id}", headers={"authorization": f"Bearer {token}"}
        )
        asset: dict[str, Any] = _json(response, f"GET /assets/{asset_id}")["asset"]
        return asset

    def wait_until_final(
        self, token: str, asset_id: str, *, timeout: float = 60.0, interval: float = 0.05
    ) -> dict[str, Any]:
        """Poll the asset until it is ready, rejected or expired."""
        deadline = time.monotonic() + timeout
        while True:
            asset = self.get_asset(token, asset_id)
            if asset["status"] in FINAL_STATUSES:
                return asset
            if time.monotonic() > deadline:
                raise LocalStackCallFailed(
                    f"asset {asset_id} still {asset['status']!r} after {timeout:.0f}s"
                )
            time.sleep(interval)


def _json(response: httpx.Response, what: str, expected: int = 200) -> dict[str, Any]:
    if response.status_code != expected:
        raise LocalStackCallFailed(_refusal(response, what))
    body: dict[str, Any] = response.json()
    return body


def _refusal(response: httpx.Response, what: str) -> str:
    """`POST /assets answered 429: <the API's message> (<code>)`, one line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        detail = f"{body['error']} ({body.get('code', 'error')})"
    else:
        detail = " ".join(response.text.split())[:300] or response.reason_phrase
    return f"{what} answered {response.status_code}: {detail}"


_S3_CODE = re.compile(r"<Code>([^<]*)</Code>")
_S3_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")


def s3_refusal(response: httpx.Response) -> str:
    """S3's XML error document as one line: `S3 refused the file (EntityTooLarge): ...`."""
    code = _S3_CODE.search(response.text)
    message = _S3_MESSAGE.search(response.text)
    if code is None:
        return f"S3 refused the file (HTTP {response.status_code})"
    text = unescape(message[1], {"&quot;": '"', "&apos;": "'"}) if message else ""
    return f"S3 refused the file ({unescape(code[1])}){': ' + text if text else ''}"
