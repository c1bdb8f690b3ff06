"""The AWS sign-in (Cognito hosted UI, authorization code + PKCE) in the browser.

moto has no hosted UI, so this test plays it: the page gets `config.js` in its AWS shape
(`authFlow: "HOSTED_UI"`, `hostedUiUrl`), and Playwright answers the hosted UI's three URLs as
Cognito does — `/oauth2/authorize` redirects back with a code, `/oauth2/token` exchanges it
only for the verifier whose S256 challenge came with the authorize request, `/logout` redirects
to the `logout_uri`. The ID token it hands out is a real one from the local Cognito, so after
sign-in the page talks to the real local API.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from local_stack.client import LocalStackClient
from testbed.stack import RunningStack
from tests.e2e.browser.conftest import Shots

HOSTED_UI = "https://asset-uploads-test.auth.us-east-1.amazoncognito.com"


def s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


@dataclass
class FakeHostedUi:
    """Cognito's hosted UI endpoints as the page uses them, checking what the page sends."""

    client_id: str
    page_origin: str
    id_token: str
    forge_state: bool = False
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    logouts: list[dict[str, str]] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)
    """code -> the challenge it was issued for."""

    def install(self, page: Page) -> None:
        page.route(f"{HOSTED_UI}/oauth2/authorize?*", self.authorize)
        page.route(f"{HOSTED_UI}/oauth2/token", self.token)
        page.route(f"{HOSTED_UI}/logout?*", self.logout)

    def authorize(self, route: Route) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        self.authorize_requests.append(query)
        code = secrets.token_urlsafe(16)
        self.codes[code] = query.get("code_challenge", "")
        state = "forged-by-someone-else" if self.forge_state else query["state"]
        back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': state})}"
        route.fulfill(status=302, headers={"location": back})

    def token(self, route: Route) -> None:
        form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
        self.token_requests.append(form)
        cors = {"access-control-allow-origin": self.page_origin}
        challenge = self.codes.pop(form.get("code", ""), None)
        valid = (
            route.request.method == "POST"
            and form.get("grant_type") == "authorization_code"
            and form.get("client_id") == self.client_id
            and challenge is not None
            and s256(form.get("code_verifier", "")) == challenge
        )
        if not valid:
            route.fulfill(status=400, json={"error": "invalid_grant"}, headers=cors)
            return
        route.fulfill(
            status=200,
            headers=cors,
            json={
                "id_token": self.id_token,
                "access_token": "unused-access-token",
                "refresh_token": "unused-refresh-token",
                "expires_in": 3600,
                "token_type": "Bearer",
            },
        )

    def logout(self, route: Route) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        self.logouts.append(query)
        route.fulfill(status=302, headers={"location": query["logout_uri"]})


def aws_shaped_config(route: Route) -> None:
    """The local config.js turned into the shape deploy/publish-site.sh writes in AWS."""
    script = route.fetch().text()
    config = json.loads(script.split("Object.freeze(", 1)[1].rsplit(");", 1)[0])
    del config["cognitoEndpoint"]
    config.update(authFlow="HOSTED_UI", hostedUiUrl=HOSTED_UI, environment="preview")
    route.fulfill(
        body=f"window.__APP_CONFIG__ = Object.freeze({json.dumps(config)});\n",
        content_type="text/javascript",
    )


@pytest.fixture
def hosted_ui(page: Page, stack: RunningStack, local: LocalStackClient) -> FakeHostedUi:
    demo = stack.info.demoUser
    fake = FakeHostedUi(
        client_id=stack.info.userPoolClientId,
        page_origin=stack.info.pageUrl.rstrip("/"),
        id_token=local.sign_in(demo.email, demo.password),
    )
    page.route(f"{stack.info.pageUrl}config.js", aws_shaped_config)
    fake.install(page)
    return fake


def test_sign_in_with_the_hosted_ui_uses_pkce_and_keeps_the_token_in_memory(
    page: Page, stack: RunningStack, hosted_ui: FakeHostedUi, shots: Shots
) -> None:
    page_url = stack.info.pageUrl
    page.goto(page_url)
    button = page.get_by_role("button", name="Sign in")
    expect(page.get_by_label("Password")).to_be_hidden()
    shots.take(page, "hosted-ui-signed-out")
    # WHEN the user signs in: off to the hosted UI, and back with a code
    button.click()
    expect(page.get_by_role("heading", name="Upload images", exact=True)).to_be_visible()
    expect(page.locator("#account-email")).to_have_text(stack.info.demoUser.email)
    # THEN the authorize request asked for a code with an S256 challenge and a fresh state
    [authorize] = hosted_ui.authorize_requests
    assert authorize["response_type"] == "code"
    assert authorize["client_id"] == stack.info.userPoolClientId
    assert authorize["redirect_uri"] == page_url
    assert authorize["scope"] == "openid email"
    assert authorize["code_challenge_method"] == "S256"
    assert len(authorize["code_challenge"]) == 43
    assert len(authorize["state"]) >= 43
    # ... the code went back with the verifier that challenge was made from (checked by the fake)
    [token_request] = hosted_ui.token_requests
    assert token_request["redirect_uri"] == page_url
    assert s256(token_request["code_verifier"]) == authorize["code_challenge"]
    # ... the address bar no longer carries the code, and nothing of the sign-in is stored
    assert page.url == page_url
    assert page.evaluate("sessionStorage.length") == 0
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies(page_url) == []
    assert hosted_ui.id_token not in page.content()
    # ... and the real API accepts the token: My images loads
    expect(page.get_by_role("heading", name="My images")).to_be_visible()
    expect(page.locator("#gallery")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#alert-text")).to_have_text("")
    shots.take(page, "hosted-ui-signed-in")

    # WHEN they sign out: the hosted UI session ends too, and the page comes back signed out
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to upload images")).to_be_visible()
    assert hosted_ui.logouts == [{"client_id": stack.info.userPoolClientId, "logout_uri": page_url}]


def test_a_callback_with_a_forged_state_is_refused_before_any_token_request(
    page: Page, stack: RunningStack, hosted_ui: FakeHostedUi, shots: Shots
) -> None:
    hosted_ui.forge_state = True
    page.goto(stack.info.pageUrl)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text="Sign-in refused")).to_have_text(
        "Sign-in refused: the sign-in response does not match the request this tab sent."
        " Please sign in again."
    )
    expect(page.get_by_role("heading", name="Sign in to upload images")).to_be_visible()
    assert hosted_ui.token_requests == []
    assert page.url == stack.info.pageUrl
    assert page.evaluate("sessionStorage.length") == 0
    shots.take(page, "hosted-ui-state-mismatch")


def test_a_callback_this_tab_did_not_start_is_refused(
    page: Page, stack: RunningStack, hosted_ui: FakeHostedUi
) -> None:
    # A link carrying someone else's code (login CSRF) finds no pending sign-in here.
    page.goto(f"{stack.info.pageUrl}?code=someone-elses-code&state=whatever")
    expect(page.get_by_role("alert").filter(has_text="Sign-in refused")).to_contain_text(
        "has no matching request in this tab"
    )
    assert hosted_ui.token_requests == []
    assert page.url == stack.info.pageUrl


def test_a_reload_restores_the_session_through_the_hosted_ui_without_the_password(
    page: Page, stack: RunningStack, hosted_ui: FakeHostedUi, shots: Shots
) -> None:
    """The fake hosted UI answers every authorize at once, as Cognito does while its own
    session cookie lasts."""
    page.goto(stack.info.pageUrl)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#account-email")).to_have_text(stack.info.demoUser.email)
    # WHEN the signed-in tab is reloaded
    page.reload()
    # THEN it is signed in again, through a second PKCE round with the hosted UI, no form shown
    expect(page.get_by_role("heading", name="Upload images", exact=True)).to_be_visible()
    expect(page.locator("#account-email")).to_have_text(stack.info.demoUser.email)
    assert len(hosted_ui.authorize_requests) == 2
    first, second = hosted_ui.authorize_requests
    assert second["state"] != first["state"]
    assert second["code_challenge"] != first["code_challenge"]
    assert [s256(r["code_verifier"]) for r in hosted_ui.token_requests] == [
        first["code_challenge"],
        second["code_challenge"],
    ]
    assert page.url == stack.info.pageUrl
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0
    shots.take(page, "restored-after-reload")
    # WHEN they sign out and reload: the sign-in button, not the hosted UI again
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to upload images")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert len(hosted_ui.authorize_requests) == 2
