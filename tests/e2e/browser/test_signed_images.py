"""The page with signed delivery (the default): images load from the signed URLs the API gives."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from testbed.stack import RunningStack, running_stack

from .conftest import Shots, card, png_bytes, sign_in
from .test_page import upload_through_page


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A second stack, as `make dev` runs by default: signed image URLs."""
    with running_stack(tmp_path_factory.mktemp("browser-signed-stack")) as running:
        yield running


def test_a_ready_image_is_shown_from_its_signed_url(
    page: Page, stack: RunningStack, shots: Shots
) -> None:
    assert stack.info.extra["assetDelivery"] == "signed"
    sign_in(page, stack, stack.info.demoUser.email, stack.info.demoUser.password)
    asset_id = upload_through_page(page, stack, "green.png", png_bytes((48, 32)), "image/png")
    shown = card(page, asset_id)
    image = shown.get_by_role("img")
    signature = r"\?Expires=\d+&Signature=[A-Za-z0-9~_-]+&Key-Pair-Id=K[0-9A-F]{13}$"
    # The page shows the image from the URLs the API signed for its owner, as given: the card
    # draws the thumb and links to the image itself ...
    expect(shown.locator("a.card__link")).to_have_attribute(
        "href", re.compile(rf"^{re.escape(stack.info.cdnUrl)}/{asset_id}\.png{signature}")
    )
    expect(image).to_have_attribute(
        "src", re.compile(rf"^{re.escape(stack.info.cdnUrl)}/{asset_id}/thumb\.webp{signature}")
    )
    # ... which the CDN serves to the browser (the page's CSP allows it: checked at teardown)
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth === 48", arg=image.element_handle()
    )
    shots.take(page, "ready-signed")
    # while the same image without the signature is refused
    plain = httpx.get(f"{stack.info.cdnUrl}/{asset_id}.png", timeout=10)
    assert plain.status_code == 403
