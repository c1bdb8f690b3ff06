"""A caller of the running local stack that does what the browser does, over plain HTTP.

Sign in against the local Cognito, ask the API for an upload form, POST the bytes to the form's
URL (fields first, file last), and poll the asset until it is `ready` or `rejected`. The
`upload` command and the latency benchmark use it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

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

    def create_upload(self, token: str, content_type: str) -> Upload:
        """`POST /assets`: a new asset record and its signed upload form."""
        response = self._http.post(
            f"{self._info.apiUrl}/assets",
            headers={"authorization": f"Bearer {token}"},
            json={"contentType": content_type},
        )
        body = _json(response, "POST /assets", expected=201)
        upload = body["upload"]
        return Upload(
            asset_id=body["asset"]["assetId"],
            url=upload["url"],
            fields={str(k): str(v) for k, v in upload["fields"].items()},
        )

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
        raise LocalStackCallFailed(f"{what} answered {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body
