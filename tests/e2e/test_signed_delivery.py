"""Owner-only delivery on the whole local stack: signed URLs from the API, checked by the CDN.

The stack runs as `make dev` does with `SIGNED_URL_TTL_SECONDS=6` in its environment (the
default `signed` delivery), so a URL's expiry can be waited out inside a test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from testbed.stack import RunningStack, add_user, running_stack

from .test_local_stack import create_upload, png_bytes, send_form, sign_in, wait_for_final

TTL = 6


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(
        tmp_path_factory.mktemp("signed-stack"), environment={"SIGNED_URL_TTL_SECONDS": str(TTL)}
    ) as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def _ready(stack: RunningStack, http: httpx.Client, token: str) -> dict[str, object]:
    upload = create_upload(http, stack.info, token, "image/png")
    sent = send_form(http, upload["upload"], png_bytes(), "a.png", "image/png")
    assert sent.status_code == 204, sent.text
    asset = wait_for_final(http, stack.info, token, upload["asset"]["assetId"])
    assert asset["status"] == "ready", asset
    return asset


def test_the_owner_gets_a_signed_url_the_cdn_serves_until_it_expires(
    stack: RunningStack, http: httpx.Client
) -> None:
    info = stack.info
    assert info.extra["assetDelivery"] == "signed"
    assert info.extra["signedUrlTtlSeconds"] == str(TTL)
    token = sign_in(http, info, info.demoUser.email, info.demoUser.password)
    # GIVEN a ready image, and the URL the API gives its owner
    asset = _ready(stack, http, token)
    url = str(asset["url"])
    plain = f"{info.cdnUrl}/{asset['assetId']}.png"
    assert url.startswith(plain + "?Expires=")
    assert "&Signature=" in url
    assert "&Key-Pair-Id=" in url
    expires_at = datetime.fromisoformat(str(asset["urlExpiresAt"]))
    assert expires_at <= datetime.now(UTC) + timedelta(seconds=TTL)
    # THEN the CDN serves it with that URL, and refuses the plain one
    served = http.get(url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert http.get(plain).status_code == 403
    # AND once it has expired, the same URL is refused too, while a fresh read gets a new one
    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 1.1)
    assert http.get(url).status_code == 403
    fresh = http.get(
        f"{info.apiUrl}/assets/{asset['assetId']}", headers={"authorization": f"Bearer {token}"}
    ).json()["asset"]
    assert fresh["url"] != url
    assert http.get(fresh["url"]).status_code == 200


def test_another_user_gets_no_url_and_a_deleted_image_is_not_served(
    stack: RunningStack, http: httpx.Client
) -> None:
    info = stack.info
    owner = sign_in(http, info, info.demoUser.email, info.demoUser.password)
    asset = _ready(stack, http, owner)
    # GIVEN another user of the same stack
    password = "Another-Pass-1234!"
    assert add_user(stack, "other@example.com", password).returncode == 0
    other = sign_in(http, info, "other@example.com", password)
    # THEN they never get a URL for it: the asset is a 404 to them, and absent from their list
    theirs = http.get(
        f"{info.apiUrl}/assets/{asset['assetId']}", headers={"authorization": f"Bearer {other}"}
    )
    assert theirs.status_code == 404
    listed = http.get(f"{info.apiUrl}/assets", headers={"authorization": f"Bearer {other}"})
    assert listed.json() == {"assets": []}
    # WHEN the owner deletes it, THEN the URL they still hold no longer serves it
    url = http.get(
        f"{info.apiUrl}/assets/{asset['assetId']}", headers={"authorization": f"Bearer {owner}"}
    ).json()["asset"]["url"]
    assert http.get(url).status_code == 200
    deleted = http.delete(
        f"{info.apiUrl}/assets/{asset['assetId']}", headers={"authorization": f"Bearer {owner}"}
    )
    assert deleted.status_code == 204
    assert http.get(url).status_code in (403, 404)
