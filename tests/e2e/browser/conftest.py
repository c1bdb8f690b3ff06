"""The page in a real browser: Debian's Chromium driven by Playwright, against the local stack.

One local stack (`python -m local_stack --free-ports`, as a subprocess) and one Chromium serve
the whole package; every test gets a fresh browser context, so no session, storage or cookie
crosses from one test to the next. Each test keeps screenshots of the states it reaches under
`test-artifacts/browser/<test>/`, and fails if the page threw or broke its own CSP.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from local_stack.client import LocalStackClient
from testbed.stack import PROJECT, RunningStack, add_user, running_stack

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without the background-networking flags Chromium calls Google, which the CI network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT / "test-artifacts" / "browser"
TIMEOUT_MS = 20_000

# Runs in every document before the page's own scripts: records what the tests observe but
# cannot ask the page for (CSP violations, each value the queue's progress bars and steps take,
# in order; the tests that read them have one upload under way at a time).
OBSERVER_SCRIPT = """
window.__test = { csp: [], progress: [], steps: [] };
document.addEventListener("securitypolicyviolation", (event) => {
  window.__test.csp.push(`${event.violatedDirective} ${event.blockedURI}`);
});
new MutationObserver((records) => {
  for (const record of records) {
    const target = record.target;
    if (!(target instanceof Element) || !target.closest("#queue .upload")) continue;
    if (target.localName === "progress") window.__test.progress.push(Number(target.getAttribute("value")));
    if (target.classList.contains("steps")) window.__test.steps.push(target.dataset.status);
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["value", "data-status"] });
"""


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The local stack, started once for the browser tests and stopped after them.

    Public delivery, as these tests were written for (they check plain image URLs); the page
    with signed URLs: test_signed_images.py.
    """
    with running_stack(
        tmp_path_factory.mktemp("browser-stack"), environment={"ASSET_DELIVERY": "public"}
    ) as running:
        yield running


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (`apt-get install chromium`); CHROMIUM_PATH names another binary."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH"
        )
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="package")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture(scope="package")
def local(stack: RunningStack, http: httpx.Client) -> LocalStackClient:
    """The stack's own client, for setting up data the way the page would, without the page."""
    return LocalStackClient(stack.info, http)


@dataclass
class Shots:
    """Numbered screenshots of one test's states."""

    directory: Path
    taken: list[Path] = field(default_factory=list)

    def take(self, page: Page, state: str) -> Path:
        path = self.directory / f"{len(self.taken) + 1:02d}-{state}.png"
        page.screenshot(path=path, full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    directory = ARTIFACTS / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return Shots(directory)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "console_errors(pattern): the test makes the browser log errors on purpose (a refused"
        " request, the network cut): each one must match the regular expression `pattern`;"
        " without the mark any console error fails the test",
    )


@pytest.fixture
def open_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[[], Page]]:
    """Opens tabs, each in a fresh profile (no cookies, storage or session from elsewhere).

    At the end of the test, every tab must have run without an uncaught error, without an
    error in the console (but those a test marked `console_errors(pattern)` causes on purpose:
    Chromium logs every refused request there) and without breaking the page's
    Content-Security-Policy.
    """
    opened: list[tuple[Page, list[str], list[str]]] = []

    def open_one() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(OBSERVER_SCRIPT)
        tab = context.new_page()
        uncaught: list[str] = []
        logged: list[str] = []
        tab.on("pageerror", lambda error: uncaught.append(str(error)))
        tab.on(
            "console",
            lambda message: (
                logged.append(f"{message.text} ({message.location})")
                if message.type == "error"
                else None
            ),
        )
        opened.append((tab, uncaught, logged))
        return tab

    yield open_one
    marker = request.node.get_closest_marker("console_errors")
    expected = re.compile(marker.args[0]) if marker else None
    try:
        for tab, uncaught, logged in opened:
            violations = [] if tab.is_closed() else tab.evaluate("window.__test?.csp ?? []")
            assert uncaught == [], f"the page threw: {uncaught}"
            assert violations == [], f"the page broke its Content-Security-Policy: {violations}"
            unexpected = [e for e in logged if expected is None or not expected.search(e)]
            assert unexpected == [], f"the console shows errors: {unexpected}"
    finally:
        for tab, _, _ in opened:
            tab.context.close()


@pytest.fixture
def page(open_page: Callable[[], Page]) -> Page:
    """A tab in a fresh profile."""
    return open_page()


@pytest.fixture
def context(page: Page) -> BrowserContext:
    """The profile of `page`."""
    return page.context


def new_user(stack: RunningStack, email: str, password: str = "Browser-Test-Passw0rd!") -> str:
    """A user created with the stack's own helper (`python -m local_stack users add`)."""
    created = add_user(stack, email, password)
    assert created.returncode == 0, created.stderr
    return password


def sign_in(page: Page, stack: RunningStack, email: str, password: str) -> None:
    """Open the page and sign in with the form, as a person would."""
    page.goto(stack.info.pageUrl)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Upload images", exact=True)).to_be_visible()
    expect(page.locator("#account-email")).to_have_text(email)
    # The first reads after sign-in (images, albums) are done: a test that cuts the network or
    # moves the clock next must not race them (their failure would be the alert it reads).
    page.wait_for_load_state("networkidle")
    expect(page.locator("#gallery")).not_to_have_attribute("aria-busy", "true")


def png_bytes(
    size: tuple[int, int] = (48, 32), colour: tuple[int, int, int] = (20, 160, 90)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def noise_png(side: int) -> bytes:
    """A PNG that does not compress: side x side random pixels, about 3 x side² bytes."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, format="PNG")
    return buffer.getvalue()


FILE_INPUT = "Choose PNG or JPEG images"


def upload_item(page: Page, file_name: str) -> Locator:
    """The queue's card of one file, by its name."""
    return page.locator(f'#queue .upload[data-file-name="{file_name}"]')


def card(page: Page, asset_id: str) -> Locator:
    """The gallery card of one asset."""
    return page.locator(f'#gallery .card[data-asset-id="{asset_id}"]')
