"""The page as an upload widget: the queue, thumbnails, the viewer, titles, albums, signed URLs.

One local stack for the module, with signed delivery and SIGNED_URL_TTL_SECONDS=20, so the URLs
the page is given expire while a test runs; every test in it also checks that no request the
browser made went anywhere but 127.0.0.1 (and that the console stayed clean: conftest.py).
Screenshots of each state are kept under `test-artifacts/browser/<test>/` (gitignored).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Dialog, FilePayload, Locator, Page, Request, Route, expect

from local_stack.client import LocalStackClient
from testbed.stack import RunningStack, running_stack
from tests.e2e.browser.conftest import (
    FILE_INPUT,
    Shots,
    card,
    new_user,
    sign_in,
    upload_item,
)

TIMES = "\N{MULTIPLICATION SIGN}"
TTL_SECONDS = 20
LOOPBACK = "127.0.0.1"
XSS_TITLE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """Signed delivery with 20-second URLs (each handed out for 5 s of them: storage.py)."""
    with running_stack(
        tmp_path_factory.mktemp("browser-queue-stack"),
        environment={"ASSET_DELIVERY": "signed", "SIGNED_URL_TTL_SECONDS": str(TTL_SECONDS)},
    ) as running:
        yield running


@pytest.fixture(scope="module")
def local(stack: RunningStack, http: httpx.Client) -> LocalStackClient:
    return LocalStackClient(stack.info, http)


@pytest.fixture
def requests_made() -> list[str]:
    """Every URL any tab of the test asked for (filled by `page`)."""
    return []


@pytest.fixture
def page(open_page: Callable[[], Page], requests_made: list[str]) -> Iterator[Page]:
    """A fresh tab whose every request is recorded; at the end all must be to 127.0.0.1."""
    tab = open_page()
    tab.context.on("request", lambda request: requests_made.append(request.url))
    yield tab
    assert requests_made, "the tab made no request at all"
    elsewhere = [
        url
        for url in requests_made
        if not url.startswith(("blob:", "data:")) and urlsplit(url).hostname != LOOPBACK
    ]
    assert elsewhere == [], f"requests left {LOOPBACK}: {elsewhere}"


def image_bytes(size: tuple[int, int], colour: tuple[int, int, int], fmt: str = "PNG") -> bytes:
    # A gradient, so the thumbnail and its BlurHash have something to show.
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image = Image.blend(image, Image.new("RGB", size, colour), 0.6)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def payload(name: str, data: bytes, mime: str) -> FilePayload:
    return FilePayload(name=name, mimeType=mime, buffer=data)


def ready_asset(
    local: LocalStackClient,
    token: str,
    name: str,
    size: tuple[int, int] = (900, 600),
    colour: tuple[int, int, int] = (40, 90, 200),
    album_id: str | None = None,
) -> dict[str, object]:
    """An image uploaded with the stack's client, waited for until ready."""
    upload = local.create_upload(token, "image/png", file_name=name, album_id=album_id)
    sent = local.send_file(upload, image_bytes(size, colour), name, "image/png")
    assert sent.status_code == 204, sent.text
    asset = local.wait_until_final(token, upload.asset_id)
    assert asset["status"] == "ready", asset
    return asset


def loaded(page: Page, image: Locator) -> dict[str, object]:
    """Wait until the <img> has loaded its current source; its natural size and URL."""
    handle = image.element_handle()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=handle)
    result: dict[str, object] = page.evaluate(
        "(img) => ({ width: img.naturalWidth, height: img.naturalHeight, src: img.currentSrc })",
        handle,
    )
    return result


def without_signature(url: str) -> str:
    """The image a URL names: with 5-second signing windows, two reads may sign it differently."""
    parts = urlsplit(url)
    assert parse_qs(parts.query).keys() == {"Expires", "Signature", "Key-Pair-Id"}, url
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def expires_of(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["Expires"][0])


def tab_to(page: Page, target: Locator, limit: int = 60) -> None:
    """Press Tab until `target` has focus, as a keyboard user would; fail if it never does."""
    handle = target.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(element) => document.activeElement === element", handle):
            return
    raise AssertionError(f"{target} never got focus by Tab in {limit} presses")


def test_four_files_at_once_three_end_ready_with_thumbnails_and_one_is_rejected(
    page: Page, stack: RunningStack, local: LocalStackClient, shots: Shots
) -> None:
    email = "queue@example.com"
    password = new_user(stack, email)
    sign_in(page, stack, email, password)
    # "Signed in as" is said once (the status line), not again in the header
    expect(page.get_by_text("Signed in as")).to_have_count(1)
    created: list[Request] = []
    page.on(
        "request",
        lambda r: (
            created.append(r)
            if r.url == f"{stack.info.apiUrl}/assets" and r.method == "POST"
            else None
        ),
    )
    files = {
        "wide.png": payload("wide.png", image_bytes((1200, 800), (200, 60, 40)), "image/png"),
        "tall.jpg": payload(
            "tall.jpg", image_bytes((500, 900), (30, 140, 60), "JPEG"), "image/jpeg"
        ),
        "small.png": payload("small.png", image_bytes((64, 48), (90, 40, 160)), "image/png"),
        "fake.png": payload("fake.png", b"this is not a picture at all\n" * 40, "image/png"),
    }
    # WHEN four files are chosen at once
    page.get_by_label(FILE_INPUT).set_input_files(files=list(files.values()))
    # THEN each has its own card, with a local preview (no bytes sent yet for it) and its name
    for name in files:
        expect(upload_item(page, name).locator(".upload__file")).to_have_text(name)
    expect(page.locator("#queue .upload")).to_have_count(4)
    expect(
        upload_item(page, "wide.png").get_by_role("img", name="Preview of wide.png")
    ).to_have_count(1)
    shots.take(page, "queued")
    # ... three end ready, one rejected with the worker's reason
    sizes = {"wide.png": (1200, 800), "tall.jpg": (500, 900), "small.png": (64, 48)}
    for name, (width, height) in sizes.items():
        expect(upload_item(page, name).locator(".upload__outcome")).to_have_text(
            f"{name} is ready ({width} {TIMES} {height} pixels). It is in My images below.",
            timeout=60_000,
        )
    fake = upload_item(page, "fake.png")
    expect(fake.locator(".upload__outcome")).to_have_text(
        "fake.png was rejected: The file is not a PNG image.", timeout=60_000
    )
    expect(fake.locator(".steps li[data-state=failed]")).to_have_text("Rejected")
    shots.take(page, "settled")
    # Every POST /assets named its file
    bodies = [r.post_data_json for r in created]
    assert sorted(body["fileName"] for body in bodies if body) == sorted(files), bodies

    token = local.sign_in(email, password)
    cards = page.locator("#gallery .card")
    expect(cards).to_have_count(4)
    for index in range(4):
        asset_id = cards.nth(index).get_attribute("data-asset-id")
        assert asset_id is not None
        asset = local.get_asset(token, asset_id)
        shown = card(page, asset_id)
        expect(shown.locator(".card__title")).to_have_text(asset["fileName"])
        if asset["fileName"] == "fake.png":
            expect(shown.locator(".badge")).to_have_text("Rejected")
            expect(shown.locator(".card__reason")).to_have_text("The file is not a PNG image.")
            expect(shown.get_by_role("img")).to_have_count(0)
            continue
        # A ready card draws the thumb, never the full image, over its BlurHash placeholder
        thumb = asset["variants"]["thumb"]
        image = shown.get_by_role("img")
        expect(image).to_have_attribute("loading", "lazy")
        expect(shown.locator(".card__link canvas")).to_have_count(1)
        natural = loaded(page, image)
        assert without_signature(str(natural["src"])) == without_signature(thumb["url"])
        assert (natural["width"], natural["height"]) == (thumb["width"], thumb["height"])
        assert 0 < max(thumb["width"], thumb["height"]) <= 640, thumb
        if max(sizes[asset["fileName"]]) > 320:
            assert max(thumb["width"], thumb["height"]) < max(sizes[asset["fileName"]])
    shots.take(page, "gallery")

    # WHEN a wrong file follows: its error alone is in the alert, not the last file's result
    page.get_by_label(FILE_INPUT).set_input_files(
        files=[payload("notes.txt", b"plain text", "text/plain")]
    )
    expect(page.locator("#alert-text")).to_have_text(
        "notes.txt is not a PNG or JPEG image. Choose a .png, .jpg or .jpeg file."
    )
    expect(upload_item(page, "notes.txt").locator(".upload__outcome")).to_have_text(
        "notes.txt is not a PNG or JPEG image. Choose a .png, .jpg or .jpeg file."
    )
    shots.take(page, "wrong-type-after")


def test_the_viewer_shows_the_display_size_moves_with_arrows_and_closes_with_escape(
    page: Page, stack: RunningStack, local: LocalStackClient, shots: Shots
) -> None:
    email = "viewer@example.com"
    password = new_user(stack, email)
    token = local.sign_in(email, password)
    older = ready_asset(local, token, "older.png", (2000, 1000), (10, 120, 200))
    newer = ready_asset(local, token, "newer.png", (600, 400), (200, 120, 10))
    sign_in(page, stack, email, password)
    link = card(page, str(newer["assetId"])).locator("a.card__link")
    # WHEN the newest image is opened
    link.click()
    viewer = page.get_by_role("dialog", name="newer.png")
    expect(viewer).to_be_visible()
    display = newer["variants"]["display"]  # type: ignore[index]
    image = viewer.get_by_role("img", name="newer.png")
    natural = loaded(page, image)
    # THEN it shows the display variant, with the image's details
    assert without_signature(str(natural["src"])) == without_signature(display["url"])
    assert (natural["width"], natural["height"]) == (600, 400)
    expect(viewer.locator("#viewer-details")).to_contain_text("Namenewer.png")
    expect(viewer.locator("#viewer-details")).to_contain_text(f"600 {TIMES} 400 pixels")
    expect(viewer.locator("#viewer-position")).to_have_text("1 of 2")
    shots.take(page, "viewer-newer")
    # WHEN the right arrow is pressed: the next (older) image, at its display size (1600 px)
    page.keyboard.press("ArrowRight")
    expect(page.locator("#viewer-title")).to_have_text("older.png")
    natural = loaded(page, page.locator("#viewer-media img"))
    assert without_signature(str(natural["src"])) == without_signature(
        older["variants"]["display"]["url"]  # type: ignore[index]
    )
    assert (natural["width"], natural["height"]) == (1600, 800)
    expect(page.locator("#viewer-next")).to_be_disabled()
    shots.take(page, "viewer-older")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#viewer-title")).to_have_text("newer.png")
    # WHEN Escape is pressed: closed, focus back on the card it was opened from
    page.keyboard.press("Escape")
    expect(page.locator("#viewer")).to_be_hidden()
    expect(link).to_be_focused()


def test_a_title_with_markup_is_shown_as_text_and_runs_nothing(
    page: Page, stack: RunningStack, local: LocalStackClient, shots: Shots
) -> None:
    email = "titles@example.com"
    password = new_user(stack, email)
    token = local.sign_in(email, password)
    asset = ready_asset(local, token, "plain.png")
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    sign_in(page, stack, email, password)
    shown = card(page, str(asset["assetId"]))
    # WHEN the title and description are edited from the page
    shown.get_by_role("button", name="Edit plain.png").click()
    editor = page.get_by_role("dialog", name="Edit plain.png")
    editor.get_by_label("Title").fill(XSS_TITLE)
    editor.get_by_label("Description").fill("<b>bold?</b> & more")
    editor.get_by_role("button", name="Save").click()
    expect(editor).to_be_hidden()
    # THEN the API has them, and the page shows them as the characters typed
    expect(shown.locator(".card__title")).to_have_text(XSS_TITLE)
    fresh = local.get_asset(token, str(asset["assetId"]))
    assert (fresh["title"], fresh["description"]) == (XSS_TITLE, "<b>bold?</b> & more")
    shown.locator("a.card__link").click()
    expect(page.locator("#viewer-title")).to_have_text(XSS_TITLE)
    expect(page.locator("#viewer-caption")).to_have_text("<b>bold?</b> & more")
    shots.take(page, "markup-as-text")
    # ... no element was made of them and nothing ran
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("#viewer-caption b, #gallery b").count() == 0
    assert dialogs == []


def test_albums_create_rename_filter_upload_into_move_and_delete(
    page: Page, stack: RunningStack, local: LocalStackClient, shots: Shots
) -> None:
    email = "albums@example.com"
    password = new_user(stack, email)
    token = local.sign_in(email, password)
    loose = ready_asset(local, token, "loose.png", (300, 200), (120, 120, 30))
    sign_in(page, stack, email, password)
    expect(card(page, str(loose["assetId"]))).to_be_visible()
    # WHEN an album is created: it is shown (empty), and new uploads go into it
    page.get_by_role("button", name="New album").click()
    page.get_by_role("dialog", name="New album").get_by_label("Name").fill("Holidays")
    page.get_by_role("dialog", name="New album").get_by_role("button", name="Create").click()
    album_filter = page.get_by_label("Show")
    expect(album_filter.locator("option:checked")).to_have_text("Holidays (0)")
    expect(page.locator("#upload-target")).to_have_text("New uploads go into the album Holidays.")
    expect(page.locator("#gallery .card")).to_have_count(0)
    [album] = local.list_albums(token)
    assert album["name"] == "Holidays"
    shots.take(page, "album-created")
    # WHEN a file is uploaded while it is shown: it goes into it
    page.get_by_label(FILE_INPUT).set_input_files(
        files=[payload("beach.png", image_bytes((400, 300), (20, 160, 200)), "image/png")]
    )
    expect(upload_item(page, "beach.png").locator(".upload__outcome")).to_contain_text(
        "beach.png is ready", timeout=60_000
    )
    cards = page.locator("#gallery .card")
    expect(cards).to_have_count(1)
    beach_id = cards.first.get_attribute("data-asset-id")
    assert beach_id is not None
    assert local.get_asset(token, beach_id)["albumId"] == album["albumId"]
    expect(album_filter.locator("option:checked")).to_have_text("Holidays (1)")
    # WHEN it is renamed
    page.get_by_role("button", name="Rename album").click()
    rename = page.get_by_role("dialog", name="Rename album")
    rename.get_by_label("Name").fill("Summer 2026")
    rename.get_by_role("button", name="Rename").click()
    expect(album_filter.locator("option:checked")).to_have_text("Summer 2026 (1)")
    assert local.list_albums(token)[0]["name"] == "Summer 2026"
    # WHEN all images are shown, the loose one is moved into the album from its Edit dialog
    album_filter.select_option(label="All images")
    expect(cards).to_have_count(2)
    expect(card(page, beach_id).locator(".card__album")).to_have_text("In Summer 2026")
    card(page, str(loose["assetId"])).get_by_role("button", name="Edit loose.png").click()
    editor = page.get_by_role("dialog", name="Edit loose.png")
    editor.get_by_label("Album").select_option(label="Summer 2026")
    editor.get_by_role("button", name="Save").click()
    expect(editor).to_be_hidden()
    expect(card(page, str(loose["assetId"])).locator(".card__album")).to_have_text("In Summer 2026")
    assert local.get_asset(token, str(loose["assetId"]))["albumId"] == album["albumId"]
    # THEN the album shows exactly those two
    album_filter.select_option(value=album["albumId"])
    expect(cards).to_have_count(2)
    expect(album_filter.locator("option:checked")).to_have_text("Summer 2026 (2)")
    shots.take(page, "album-with-two")
    # WHEN the album is deleted: its images stay, in no album
    page.get_by_role("button", name="Delete album").click()
    page.get_by_role("dialog", name="Delete this album?").get_by_role(
        "button", name="Delete album"
    ).click()
    expect(album_filter.locator("option:checked")).to_have_text("All images")
    expect(album_filter.locator("option")).to_have_count(1)
    expect(cards).to_have_count(2)
    assert local.list_albums(token) == []
    assert "albumId" not in local.get_asset(token, beach_id)
    shots.take(page, "album-deleted")


def test_images_keep_loading_after_their_first_signed_urls_expired(
    page: Page, stack: RunningStack, local: LocalStackClient, http: httpx.Client, shots: Shots
) -> None:
    email = "expiry@example.com"
    password = new_user(stack, email)
    token = local.sign_in(email, password)
    asset = ready_asset(local, token, "lasting.png", (500, 300))
    sign_in(page, stack, email, password)
    image = card(page, str(asset["assetId"])).get_by_role("img")
    first = loaded(page, image)
    first_url = str(first["src"])
    expiry = expires_of(first_url)
    # WHEN the first URL's moment passes (the browser's clock, waited for, not a sleep)
    page.wait_for_function(
        f"() => Date.now() / 1000 > {expiry} + 1", timeout=(TTL_SECONDS + 10) * 1000
    )
    # THEN the card shows a newer URL, which loads, while the first one is refused by the CDN
    now = loaded(page, image)
    assert now["src"] != first_url
    assert expires_of(str(now["src"])) > expiry
    assert http.get(first_url).status_code == 403
    assert http.get(str(now["src"])).status_code == 200
    shots.take(page, "refreshed")


@pytest.mark.console_errors(
    r"^Failed to load resource: the server responded with a status of 403 "
)  # the viewer's first, expired URL is refused with a 403 on purpose
def test_an_image_whose_url_expired_recovers_by_itself(
    page: Page, stack: RunningStack, local: LocalStackClient, shots: Shots
) -> None:
    """The page's scheduled refresh is made useless (every list read answers the first list
    again, as a tab asleep past `urlExpiresAt` would hold it): the viewer, opened after the URLs
    expired, meets a 403 and reads the asset again."""
    email = "recover@example.com"
    password = new_user(stack, email)
    token = local.sign_in(email, password)
    asset = ready_asset(local, token, "sleepy.png", (700, 500))
    first_list: list[str] = []

    def stale(route: Route) -> None:
        if route.request.method != "GET":
            route.fallback()
            return
        response = route.fetch()
        if not first_list:
            first_list.append(response.text())
        route.fulfill(response=response, body=first_list[0])

    page.route(re.compile(rf"^{re.escape(stack.info.apiUrl)}/assets(\?.*)?$"), stale)
    refused: list[str] = []
    page.on("response", lambda r: refused.append(r.url) if r.status == 403 else None)
    sign_in(page, stack, email, password)
    link = card(page, str(asset["assetId"])).locator("a.card__link")
    expect(link).to_be_visible()
    [listed] = json.loads(first_list[0])["assets"]
    assert listed["assetId"] == asset["assetId"]
    old_display = listed["variants"]["display"]["url"]
    page.wait_for_function(
        f"() => Date.now() / 1000 > {expires_of(old_display)} + 1",
        timeout=(TTL_SECONDS + 10) * 1000,
    )
    # WHEN the viewer opens it with the stale, expired URL
    link.click()
    image = page.locator("#viewer-media img")
    natural = loaded(page, image)
    # THEN it was refused once, read again, and loaded from a fresh URL
    assert refused == [old_display]
    assert natural["src"] != old_display
    assert expires_of(str(natural["src"])) > expires_of(old_display)
    shots.take(page, "recovered")


def test_a_keyboard_only_run(
    page: Page, stack: RunningStack, local: LocalStackClient, shots: Shots
) -> None:
    email = "keyboard@example.com"
    password = new_user(stack, email)
    page.goto(stack.info.pageUrl)
    # Sign in: Tab to the e-mail field, type, Tab, type, Enter
    tab_to(page, page.get_by_label("E-mail"))
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Upload images", exact=True)).to_be_focused()
    # Upload: Tab to the picker, Space opens the system's file chooser
    tab_to(page, page.get_by_label(FILE_INPUT))
    with page.expect_file_chooser() as chooser:
        page.keyboard.press(" ")
    chooser.value.set_files(
        files=[payload("keys.png", image_bytes((400, 300), (50, 50, 50)), "image/png")]
    )
    expect(upload_item(page, "keys.png").locator(".upload__outcome")).to_contain_text(
        "keys.png is ready", timeout=60_000
    )
    shots.take(page, "keyboard-uploaded")
    # Open it in the viewer with Enter, close with Escape: focus comes back
    link = page.locator("#gallery .card a.card__link").first
    tab_to(page, link)
    page.keyboard.press("Enter")
    expect(page.locator("#viewer")).to_be_visible()
    expect(page.locator("#viewer-title")).to_have_text("keys.png")
    page.keyboard.press("Escape")
    expect(page.locator("#viewer")).to_be_hidden()
    expect(link).to_be_focused()
    # Give it a title: Tab to Edit, Enter, type, Enter saves
    edit = page.get_by_role("button", name="Edit keys.png")
    tab_to(page, edit)
    page.keyboard.press("Enter")
    expect(page.get_by_label("Title")).to_be_focused()
    page.keyboard.type("Typed, not clicked")
    page.keyboard.press("Enter")
    expect(page.locator("#edit-asset")).to_be_hidden()
    expect(page.locator("#gallery .card__title").first).to_have_text("Typed, not clicked")
    # Make an album with the keyboard
    tab_to(page, page.get_by_role("button", name="New album"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="New album").get_by_label("Name")).to_be_focused()
    page.keyboard.type("Keys")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Show").locator("option:checked")).to_have_text("Keys (0)")
    shots.take(page, "keyboard-album")
    token = local.sign_in(email, password)
    assert [album["name"] for album in local.list_albums(token)] == ["Keys"]


def test_the_api_docs_render_offline(page: Page, stack: RunningStack, shots: Shots) -> None:
    # WHEN /docs is opened (every request it makes is checked to stay on 127.0.0.1)
    page.goto(f"{stack.info.apiUrl}/docs")
    # THEN Swagger UI renders the API's own document, from the API's own files
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Private asset uploads")
    expect(
        page.locator(".opblock-summary-path").filter(has_text=re.compile(r"^/assets$")).first
    ).to_be_visible()
    shots.take(page, "docs")
    sources = page.evaluate(
        "[...document.querySelectorAll('script[src], link[href]')].map((e) => e.src || e.href)"
    )
    assert sources
    assert all(source.startswith(stack.info.apiUrl) for source in sources), sources


def test_files_pasted_onto_the_page_join_the_queue_and_a_paste_into_a_text_field_does_not(
    page: Page, stack: RunningStack, shots: Shots
) -> None:
    email = "paste@example.com"
    sign_in(page, stack, email, new_user(stack, email))
    png = list(image_bytes((300, 200), (120, 30, 90)))
    # A paste event as the browser makes it from the clipboard: a DataTransfer holding a File
    paste = """([bytes, name, target]) => {
        const data = new DataTransfer();
        data.items.add(new File([new Uint8Array(bytes)], name, { type: "image/png" }));
        const event = new ClipboardEvent("paste", {
            clipboardData: data, bubbles: true, cancelable: true,
        });
        (target ? document.querySelector(target) : document.body).dispatchEvent(event);
        return event.defaultPrevented;
    }"""
    # WHEN an image is pasted onto the page
    taken = page.evaluate(paste, [png, "pasted.png", None])
    # THEN the page takes it (the browser does nothing else with it) and it ends ready
    assert taken is True
    expect(upload_item(page, "pasted.png").locator(".upload__outcome")).to_have_text(
        f"pasted.png is ready (300 {TIMES} 200 pixels). It is in My images below.",
        timeout=60_000,
    )
    shots.take(page, "pasted")
    # AND an image pasted while typing in a text field (the album name) is left to the field
    expect(page.locator("#album-name")).to_be_attached()
    ignored = page.evaluate(paste, [png, "typed.png", "#album-name"])
    assert ignored is False
    expect(page.locator("#queue .upload")).to_have_count(1)
