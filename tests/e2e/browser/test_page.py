"""The page against the local stack: sign in, upload with progress, watch the status, my images.

Everything here goes through the real page in Chromium and the real local stack (Cognito, API,
signed S3 form, worker, CDN in moto and subprocesses); nothing is stubbed. The tests read what a
person sees (roles, labels, text) and check the API's side where the page's word is not enough.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, FilePayload, Page, Request, Route, expect

from local_stack.client import LocalStackCallFailed, LocalStackClient
from testbed.stack import RunningStack
from tests.e2e.browser.conftest import (
    FILE_INPUT,
    Shots,
    card,
    new_user,
    noise_png,
    png_bytes,
    sign_in,
    upload_item,
)

TIMES = "\N{MULTIPLICATION SIGN}"  # as the page writes pixel sizes


def choose_file(page: Page, name: str, data: bytes, mime_type: str) -> None:
    page.get_by_label(FILE_INPUT).set_input_files(
        files=[FilePayload(name=name, mimeType=mime_type, buffer=data)]
    )


def upload_through_page(page: Page, stack: RunningStack, name: str, data: bytes, mime: str) -> str:
    """Choose a file and return the id the API gave its asset."""
    with page.expect_response(
        lambda r: r.url == f"{stack.info.apiUrl}/assets" and r.request.method == "POST"
    ) as created:
        choose_file(page, name, data, mime)
    assert created.value.status == 201, created.value.text()
    asset_id: str = created.value.json()["asset"]["assetId"]
    return asset_id


def observed(page: Page, what: str) -> list[Any]:
    values: list[Any] = page.evaluate(f"window.__test.{what}")
    return values


def test_sign_in_then_a_png_goes_uploading_processing_ready_and_is_shown(
    page: Page, stack: RunningStack, local: LocalStackClient, http: httpx.Client, shots: Shots
) -> None:
    # GIVEN the page, signed out
    page.goto(stack.info.pageUrl)
    expect(page.get_by_role("heading", name="Sign in to upload images")).to_be_visible()
    shots.take(page, "signed-out")
    # WHEN the demo user signs in with the form
    sign_in(page, stack, stack.info.demoUser.email, stack.info.demoUser.password)
    # THEN focus moves to the upload panel and the status line says who is signed in
    expect(page.get_by_role("heading", name="Upload images", exact=True)).to_be_focused()
    expect(page.get_by_role("status")).to_have_text(f"Signed in as {stack.info.demoUser.email}.")
    shots.take(page, "signed-in")

    # WHEN they choose a PNG
    asset_id = upload_through_page(page, stack, "green.png", png_bytes((48, 32)), "image/png")
    # THEN the page follows the API to `ready`, and says so only then
    item = upload_item(page, "green.png")
    outcome = item.locator(".upload__outcome")
    expect(outcome).to_have_text(
        f"green.png is ready (48 {TIMES} 32 pixels). It is in My images below."
    )
    expect(page.get_by_role("status")).to_have_text("green.png is ready.")
    steps = observed(page, "steps")
    assert steps[0] == "uploading"
    assert steps[-1] == "ready"
    assert set(steps) <= {"uploading", "processing", "ready"}, steps
    expect(item.locator("progress")).to_have_attribute("value", "100")

    # ... and the image is in My images: its thumb, from the CDN URL the API gave, linking to
    # the image itself; the card names the file it came from
    asset = local.get_asset(
        local.sign_in(stack.info.demoUser.email, stack.info.demoUser.password), asset_id
    )
    assert asset["fileName"] == "green.png"
    thumb_url = asset["variants"]["thumb"]["url"]
    assert thumb_url.startswith(f"{stack.info.cdnUrl}/")
    ready = card(page, asset_id)
    expect(ready.locator(".badge")).to_have_text("Ready")
    expect(ready).to_contain_text(f"PNG · 48 {TIMES} 32")
    expect(ready.locator(".card__title")).to_have_text("green.png")
    image = ready.get_by_role("img")
    expect(image).to_have_attribute("src", thumb_url)
    expect(ready.locator("a.card__link")).to_have_attribute(
        "href", f"{stack.info.cdnUrl}/{asset_id}.png"
    )
    expect(image).to_have_attribute("alt", "green.png")
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth === 48", arg=image.element_handle()
    )
    shots.take(page, "ready")
    # The CDN serves what the page shows; the original stays private.
    assert http.get(f"{stack.info.cdnUrl}/{asset_id}.png").headers["content-type"] == "image/png"


def test_the_progress_bar_follows_the_upload(
    page: Page, context: BrowserContext, stack: RunningStack, shots: Shots
) -> None:
    sign_in(page, stack, stack.info.demoUser.email, stack.info.demoUser.password)
    # GIVEN an upload link of 2 MB/s, so a 1.2 MB image takes a while to send
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": 2 * 1024 * 1024,
        },
    )
    image = noise_png(640)
    assert len(image) > 1_000_000
    # WHEN it is uploaded
    upload_through_page(page, stack, "noise.png", image, "image/png")
    page.wait_for_function(
        "() => { const v = document.querySelector('#queue .upload progress').value; return v > 0 && v < 100; }"
    )
    shots.take(page, "sending")
    item = upload_item(page, "noise.png")
    expect(item.locator(".upload__outcome")).to_contain_text("noise.png is ready", timeout=30_000)
    shots.take(page, "sent-and-ready")
    # THEN the bar moved through intermediate values, never backwards, to 100%
    values = observed(page, "progress")
    intermediate = [value for value in values if 0 < value < 100]
    assert len(intermediate) >= 3, values
    assert values == sorted(values), values
    assert values[-1] == 100
    expect(item.locator(".upload__percent")).to_have_text("100%")


def test_an_upload_can_be_cancelled_while_it_is_sent(
    page: Page, context: BrowserContext, stack: RunningStack, local: LocalStackClient, shots: Shots
) -> None:
    sign_in(page, stack, stack.info.demoUser.email, stack.info.demoUser.password)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 256 * 1024},
    )
    # GIVEN a slow upload under way
    with page.expect_request_finished(lambda r: r.method == "DELETE") as discarded:
        asset_id = upload_through_page(page, stack, "slow.png", noise_png(640), "image/png")
        page.wait_for_function("() => document.querySelector('#queue .upload progress').value > 0")
        # WHEN the user cancels it
        page.get_by_role("button", name="Cancel upload of slow.png").click()
    # THEN the transfer stops, the page says so, and the record it had asked for is deleted
    item = upload_item(page, "slow.png")
    expect(item.locator(".upload__outcome")).to_have_text("The upload of slow.png was cancelled.")
    expect(item.locator(".steps li[data-state=failed]")).to_have_text("Uploading")
    expect(page.get_by_role("button", name="Cancel upload of slow.png")).to_be_hidden()
    expect(page.get_by_role("button", name="Retry upload of slow.png")).to_be_visible()
    expect(page.get_by_label(FILE_INPUT)).to_be_enabled()
    assert discarded.value.url == f"{stack.info.apiUrl}/assets/{asset_id}"
    shots.take(page, "cancelled")
    token = local.sign_in(stack.info.demoUser.email, stack.info.demoUser.password)
    with pytest.raises(LocalStackCallFailed, match="answered 404"):
        local.get_asset(token, asset_id)


def test_a_text_file_named_jpg_is_rejected_with_the_workers_reason(
    page: Page, stack: RunningStack, tmp_path: Path, shots: Shots
) -> None:
    sign_in(page, stack, stack.info.demoUser.email, stack.info.demoUser.password)
    # GIVEN a text file renamed .jpg, which the browser itself calls image/jpeg
    fake = tmp_path / "holiday.jpg"
    fake.write_text("Dear diary, this is not a photograph.\n" * 20)
    with page.expect_response(
        lambda r: r.url == f"{stack.info.apiUrl}/assets" and r.request.method == "POST"
    ) as created:
        page.get_by_label(FILE_INPUT).set_input_files(fake)
    assert created.value.request.post_data_json == {
        "contentType": "image/jpeg",
        "fileName": "holiday.jpg",
    }
    asset_id = created.value.json()["asset"]["assetId"]
    # THEN S3 takes the bytes, but the worker refuses them and the page gives its reason
    reason = "holiday.jpg was rejected: The file is not a JPEG image."
    expect(page.get_by_role("alert").filter(has_text="rejected")).to_have_text(reason)
    item = upload_item(page, "holiday.jpg")
    expect(item.locator(".upload__outcome")).to_have_text(reason)
    expect(item.locator(".steps li[data-state=failed]")).to_have_text("Rejected")
    rejected = card(page, asset_id)
    expect(rejected.locator(".badge")).to_have_text("Rejected")
    expect(rejected.locator(".card__reason")).to_have_text("The file is not a JPEG image.")
    expect(rejected.get_by_role("img")).to_have_count(0)
    assert "ready" not in observed(page, "steps")
    shots.take(page, "rejected")


def test_a_dropped_image_is_uploaded(page: Page, stack: RunningStack, shots: Shots) -> None:
    sign_in(page, stack, stack.info.demoUser.email, stack.info.demoUser.password)
    data = list(png_bytes((20, 20), (200, 40, 40)))
    # WHEN a PNG is dropped on the drop zone (a real DataTransfer holding a real File)
    transfer = page.evaluate_handle(
        """(bytes) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], "dropped.png", { type: "image/png" }));
            return transfer;
        }""",
        data,
    )
    zone = page.locator("#dropzone")
    zone.dispatch_event("dragenter", {"dataTransfer": transfer})
    expect(zone).to_have_class(re.compile(r"dropzone--over"))
    shots.take(page, "dragging-over")
    zone.dispatch_event("drop", {"dataTransfer": transfer})
    # THEN it is uploaded like a chosen file
    expect(upload_item(page, "dropped.png").locator(".upload__outcome")).to_have_text(
        f"dropped.png is ready (20 {TIMES} 20 pixels). It is in My images below."
    )
    expect(zone).not_to_have_class(re.compile(r"dropzone--over"))
    shots.take(page, "dropped-and-ready")


def test_delete_asks_first_and_removes_the_image_everywhere(
    page: Page, stack: RunningStack, local: LocalStackClient, http: httpx.Client, shots: Shots
) -> None:
    # GIVEN a user with one ready image
    email = "deleter@example.com"
    password = new_user(stack, email)
    token = local.sign_in(email, password)
    upload = local.create_upload(token, "image/png")
    assert local.send_file(upload, png_bytes(), "a.png", "image/png").status_code == 204
    assert local.wait_until_final(token, upload.asset_id)["status"] == "ready"
    sign_in(page, stack, email, password)
    image = card(page, upload.asset_id)
    delete = image.get_by_role("button", name=re.compile(r"^Delete PNG image uploaded"))
    expect(delete).to_be_visible()

    # WHEN they press Delete with the keyboard, then Escape
    delete.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Delete this image?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Keep it")).to_be_focused()
    shots.take(page, "confirm-delete")
    page.keyboard.press("Escape")
    # THEN nothing is deleted and focus is back on the button
    expect(dialog).to_be_hidden()
    expect(delete).to_be_focused()
    assert local.get_asset(token, upload.asset_id)["status"] == "ready"

    # WHEN they confirm
    delete.click()
    dialog.get_by_role("button", name="Delete").click()
    # THEN the card goes, the page says so, and the API and CDN no longer have it
    expect(image).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("Deleted the PNG image uploaded")
    expect(page.get_by_text("No images yet. Upload one above.")).to_be_visible()
    expect(page.get_by_role("heading", name="My images")).to_be_focused()
    shots.take(page, "deleted")
    gone = http.get(
        f"{stack.info.apiUrl}/assets/{upload.asset_id}",
        headers={"authorization": f"Bearer {token}"},
    )
    assert gone.status_code == 404
    assert http.get(f"{stack.info.cdnUrl}/{upload.asset_id}.png").status_code == 404


def test_a_second_user_sees_none_of_the_first_users_images(
    open_page: Callable[[], Page],
    page: Page,
    stack: RunningStack,
    local: LocalStackClient,
    shots: Shots,
) -> None:
    # GIVEN the demo user owns a ready image
    demo = stack.info.demoUser
    token = local.sign_in(demo.email, demo.password)
    upload = local.create_upload(token, "image/png")
    assert local.send_file(upload, png_bytes(), "mine.png", "image/png").status_code == 204
    assert local.wait_until_final(token, upload.asset_id)["status"] == "ready"
    sign_in(page, stack, demo.email, demo.password)
    expect(card(page, upload.asset_id)).to_be_visible()

    # WHEN a second user, added with the stack's helper, signs in (in a browser profile of their own)
    email = "second-user@example.com"
    password = new_user(stack, email)
    other = open_page()
    sign_in(other, stack, email, password)
    # THEN their list is empty, and the API agrees: for them the image does not exist
    expect(other.get_by_text("No images yet. Upload one above.")).to_be_visible()
    expect(other.locator("#gallery .card")).to_have_count(0)
    shots.take(other, "second-user-empty")
    with pytest.raises(LocalStackCallFailed, match="answered 404"):
        local.get_asset(local.sign_in(email, password), upload.asset_id)

    # ... and signing the first user out leaves nothing of them on the page
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to upload images")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    expect(page.locator("#gallery .card")).to_have_count(0)
    expect(page.locator("#account")).to_be_hidden()
    shots.take(page, "first-user-signed-out")


@pytest.mark.console_errors(
    r"^Failed to load resource: the server responded with a status of 400 "
)  # Chromium logs Cognito's 400 for the wrong password
def test_wrong_password_is_refused_with_a_message_and_focus_on_the_password(
    page: Page, stack: RunningStack, shots: Shots
) -> None:
    page.goto(stack.info.pageUrl)
    page.get_by_label("E-mail").fill(stack.info.demoUser.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_label("Password").press("Enter")
    error = page.locator("#sign-in-error")
    expect(error).to_have_text("That e-mail and password do not match an account.")
    password = page.get_by_label("Password")
    expect(password).to_be_focused()
    expect(password).to_have_value("")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("heading", name="Upload images", exact=True)).to_be_hidden()
    shots.take(page, "wrong-password")
    # The password never went into the address bar.
    assert "not-the-password" not in page.url


def test_the_wrong_type_is_refused_in_the_browser_without_asking_the_api(
    page: Page, stack: RunningStack, shots: Shots
) -> None:
    sign_in(page, stack, stack.info.demoUser.email, stack.info.demoUser.password)
    api_calls: list[str] = []
    page.on(
        "request",
        lambda r: api_calls.append(r.method) if r.url == f"{stack.info.apiUrl}/assets" else None,
    )
    choose_file(page, "notes.txt", b"plain text", "text/plain")
    expect(page.get_by_role("alert").filter(has_text="notes.txt")).to_have_text(
        "notes.txt is not a PNG or JPEG image. Choose a .png, .jpg or .jpeg file."
    )
    shots.take(page, "wrong-type")
    assert api_calls == []


def test_a_file_over_the_limit_is_refused_and_its_record_discarded(
    page: Page, stack: RunningStack, tmp_path: Path, shots: Shots
) -> None:
    sign_in(page, stack, stack.info.demoUser.email, stack.info.demoUser.password)
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024))
    # WHEN the page does not know the limit yet: it learns it from the form, before sending
    with page.expect_request_finished(lambda r: r.method == "DELETE") as discarded:
        with page.expect_response(
            lambda r: r.url == f"{stack.info.apiUrl}/assets" and r.request.method == "POST"
        ) as created:
            page.get_by_label(FILE_INPUT).set_input_files(huge)
        asset_id = created.value.json()["asset"]["assetId"]
    # 10 MiB and 8 bytes against a 10 MiB limit: both exactly, so they read differently
    message = (
        "huge.png was not uploaded: huge.png is 10,485,768 bytes; the largest image you can"
        " upload is 10 MiB (10,485,760 bytes)."
    )
    expect(page.get_by_role("alert").filter(has_text="huge.png")).to_have_text(message)
    assert discarded.value.url == f"{stack.info.apiUrl}/assets/{asset_id}"
    shots.take(page, "too-large")
    # THEN no byte went to S3, and the record it asked for was deleted, not left pending
    upload_url = re.compile(r"/local-asset-bucket")
    assert not [r for r in requests if r.method == "POST" and upload_url.search(r.url)]
    expect(card(page, asset_id)).to_have_count(0)
    # WHEN they try again: refused at once, no request at all
    requests.clear()
    page.get_by_label(FILE_INPUT).set_input_files(huge)
    expect(page.get_by_role("alert").filter(has_text="huge.png")).to_contain_text(
        "the largest image you can upload is 10 MiB (10,485,760 bytes)"
    )
    assert [r for r in requests if r.url.startswith(stack.info.apiUrl)] == []


@pytest.mark.console_errors(
    r"^Failed to load resource: the server responded with a status of 429 "
)  # Chromium logs the API's 429 as a failed resource
def test_too_many_pending_uploads_gets_the_apis_429_explained_and_waits_its_retry_after(
    page: Page, stack: RunningStack, local: LocalStackClient, http: httpx.Client, shots: Shots
) -> None:
    # GIVEN a user who already holds the 20 open upload forms the API allows
    email = "busy@example.com"
    password = new_user(stack, email)
    token = local.sign_in(email, password)
    for _ in range(20):
        local.create_upload(token, "image/png")
    sign_in(page, stack, email, password)
    # WHEN they choose another image
    with page.expect_response(f"{stack.info.apiUrl}/assets") as refused:
        choose_file(page, "one-more.png", png_bytes(), "image/png")
    # THEN the API's 429 is explained in words, and the queue waits the Retry-After it gave
    assert refused.value.status == 429
    assert refused.value.headers["retry-after"] == "60"
    item = upload_item(page, "one-more.png")
    expect(item.locator(".upload__outcome")).to_have_text(
        "You have too many uploads in progress. Wait for them to finish (an unfinished upload"
        " expires after a few minutes), then try again. Trying again in 60 s."
    )
    expect(item).to_have_attribute("data-state", "held")
    shots.take(page, "too-many-pending")
    # WHEN they stop waiting
    item.get_by_role("button", name="Cancel upload of one-more.png").click()
    expect(item.locator(".upload__outcome")).to_have_text(
        "The upload of one-more.png was cancelled."
    )
    expect(item.locator(".steps li[data-state=failed]")).to_have_text("Uploading")
    expect(page.get_by_label(FILE_INPUT)).to_be_enabled()
    # ... no record was made for it: still only the 20 forms
    listed = http.get(
        f"{stack.info.apiUrl}/assets",
        params={"limit": 100},
        headers={"authorization": f"Bearer {token}"},
    )
    assert len(listed.json()["assets"]) == 20
    shots.take(page, "too-many-pending-cancelled")


@pytest.mark.console_errors(
    r"net::ERR_INTERNET_DISCONNECTED"
)  # Chromium logs each request the cut network refuses
def test_losing_the_network_is_reported_and_recovered_from(
    page: Page, context: BrowserContext, stack: RunningStack, shots: Shots
) -> None:
    sign_in(page, stack, stack.info.demoUser.email, stack.info.demoUser.password)
    # WHEN the network goes away and an image is chosen
    context.set_offline(True)
    choose_file(page, "offline.png", png_bytes(), "image/png")
    expect(page.get_by_role("alert").filter(has_text="offline.png")).to_have_text(
        "offline.png was not uploaded: Cannot reach the service. Check your connection and try again."
    )
    shots.take(page, "offline")
    # THEN once it is back, the same page uploads again
    context.set_offline(False)
    choose_file(page, "online.png", png_bytes(), "image/png")
    expect(upload_item(page, "online.png").locator(".upload__outcome")).to_have_text(
        f"online.png is ready (48 {TIMES} 32 pixels). It is in My images below."
    )
    expect(page.locator("#alert-text")).to_have_text("")


def test_an_expired_session_returns_to_sign_in_with_a_message(
    page: Page, stack: RunningStack, shots: Shots
) -> None:
    sign_in(page, stack, stack.info.demoUser.email, stack.info.demoUser.password)
    # WHEN the clock passes the ID token's expiry (an hour) and the page needs the API
    page.clock.set_system_time(page.evaluate("Date.now()") / 1000 + 2 * 3600)
    page.get_by_role("button", name="Refresh").click()
    # THEN it does not send the dead token: it says the session ended and offers sign-in
    expect(page.get_by_role("heading", name="Sign in to upload images")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="session")).to_have_text(
        "Your session has ended. Sign in again to continue."
    )
    expect(page.get_by_label("Password")).to_be_focused()
    expect(page.locator("#gallery .card")).to_have_count(0)
    shots.take(page, "session-expired")


def test_my_images_pages_by_cursor(
    page: Page, stack: RunningStack, local: LocalStackClient, shots: Shots
) -> None:
    # GIVEN a user with three images and a page size of two (config.js may set pageSize)
    email = "pager@example.com"
    password = new_user(stack, email)
    token = local.sign_in(email, password)
    ids = []
    for shade in (10, 90, 170):
        upload = local.create_upload(token, "image/png")
        local.send_file(upload, png_bytes(colour=(shade, shade, 200)), "p.png", "image/png")
        ids.append(upload.asset_id)
    for asset_id in ids:
        assert local.wait_until_final(token, asset_id)["status"] == "ready"

    def two_per_page(route: Route) -> None:
        original = route.fetch().text()
        route.fulfill(
            body=original.replace("Object.freeze({", 'Object.freeze({\n  "pageSize": 2,', 1),
            content_type="text/javascript",
        )

    page.route(f"{stack.info.pageUrl}config.js", two_per_page)
    sign_in(page, stack, email, password)
    newest_first = list(reversed(ids))
    cards = page.locator("#gallery .card")
    pager = page.get_by_role("navigation", name="Pages of my images")
    # THEN page 1 holds the two newest, and "Older" shows the third
    expect(cards).to_have_count(2)
    assert [cards.nth(i).get_attribute("data-asset-id") for i in range(2)] == newest_first[:2]
    expect(pager.get_by_role("button", name="Newer")).to_be_disabled()
    shots.take(page, "page-1")
    pager.get_by_role("button", name="Older").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-asset-id", newest_first[2])
    expect(pager).to_contain_text("Page 2")
    expect(pager.get_by_role("button", name="Older")).to_be_disabled()
    expect(page.get_by_role("heading", name="My images")).to_be_focused()
    shots.take(page, "page-2")
    pager.get_by_role("button", name="Newer").click()
    expect(cards).to_have_count(2)
    expect(cards.first).to_have_attribute("data-asset-id", newest_first[0])


def test_the_page_fits_a_phone(page: Page, stack: RunningStack, shots: Shots) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(stack.info.pageUrl)
    shots.take(page, "phone-signed-out")
    sign_in(page, stack, stack.info.demoUser.email, stack.info.demoUser.password)
    choose_file(page, "phone.png", png_bytes(), "image/png")
    expect(upload_item(page, "phone.png").locator(".upload__outcome")).to_contain_text(
        "phone.png is ready"
    )
    shots.take(page, "phone-signed-in")
    # Nothing wider than the screen: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # Touch targets at least 44 px tall.
    for button in [
        page.get_by_role("button", name="Sign out"),
        page.get_by_role("button", name="Refresh"),
        page.locator("#gallery .card__delete").first,
    ]:
        box = button.bounding_box()
        assert box is not None
        assert box["height"] >= 44, f"{button} is too small to tap: {box}"


@pytest.mark.console_errors(
    r"^Executing inline script violates the following Content Security Policy"
)  # the CSP refusing the injected script is logged
def test_the_csp_blocks_inline_script_and_the_page_needs_none(
    page: Page, stack: RunningStack
) -> None:
    page.goto(stack.info.pageUrl)
    policy = page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
    assert policy is not None
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    # Everything the page loads is its own: no CDN, no inline code or style.
    assert page.locator("script:not([src])").count() == 0
    assert page.locator("[style]").count() == 0
    sources = page.evaluate(
        "[...document.querySelectorAll('script[src], link[href]')].map((e) => e.src || e.href)"
    )
    origin = stack.info.pageUrl.rstrip("/")
    assert sources
    assert all(source.startswith(origin) for source in sources), sources
    # An injected inline script does not run.
    page.evaluate(
        """() => { const s = document.createElement("script"); s.textContent = "window.__injected = 1"; document.body.append(s); }"""
    )
    page.wait_for_function("() => window.__test.csp.length > 0")
    assert page.evaluate("window.__injected") is None
    assert page.evaluate("window.__test.csp") == ["script-src-elem inline"]
    page.evaluate("window.__test.csp = []")  # the one violation this test caused on purpose


@pytest.mark.console_errors(
    r"status of 404 \(Not Found\) .*/config\.js'"
)  # the missing config.js is a logged 404
def test_a_page_without_its_config_says_so(page: Page, stack: RunningStack, shots: Shots) -> None:
    # GIVEN a deployment that forgot config.js
    page.route(f"{stack.info.pageUrl}config.js", lambda route: route.fulfill(status=404))
    page.goto(stack.info.pageUrl)
    # THEN the page names the problem instead of offering a sign-in that cannot work
    expect(page.get_by_role("alert").filter(has_text="not set up")).to_have_text(
        "This page is not set up correctly: config.js did not load: window.__APP_CONFIG__ is not set"
    )
    expect(page.get_by_role("button", name="Sign in")).to_be_hidden()
    expect(page.get_by_text("Loading…")).to_be_hidden()
    shots.take(page, "no-config")
