"""The guard every local listener applies: local Host names, and the page's origin only."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from local_stack.guard import LocalOnly, refusal

PAGE = "http://127.0.0.1:8700"


@pytest.mark.parametrize(
    ("method", "headers", "refused"),
    [
        ("GET", {"host": "127.0.0.1:8701"}, False),
        ("GET", {"host": "localhost:8701"}, False),
        ("GET", {"host": "rebind.evil.example:8701"}, True),
        ("POST", {"host": "127.0.0.1:8701", "origin": PAGE}, False),
        ("POST", {"host": "127.0.0.1:8701", "origin": "http://localhost:8700"}, False),
        ("POST", {"host": "127.0.0.1:8701", "origin": "https://evil.example"}, True),
        ("POST", {"host": "127.0.0.1:8701", "origin": "http://127.0.0.1:8701"}, False),
        ("GET", {"host": "127.0.0.1:8701", "origin": "https://evil.example"}, False),
        (
            "GET",
            {
                "host": "127.0.0.1:8701",
                "origin": "https://evil.example",
                "sec-fetch-site": "cross-site",
            },
            True,
        ),
        ("GET", {"host": "127.0.0.1:8701", "sec-fetch-site": "cross-site"}, True),
        ("GET", {"host": "127.0.0.1:8701", "sec-fetch-site": "none"}, False),
    ],
)
def test_refusal(method: str, headers: dict[str, str], refused: bool) -> None:
    assert (refusal(method, headers, {PAGE, "http://localhost:8700"}) is not None) is refused


def test_a_link_from_another_site_still_opens_the_page_but_an_image_does_not() -> None:
    navigation = {
        "host": "127.0.0.1:8700",
        "sec-fetch-site": "cross-site",
        "sec-fetch-mode": "navigate",
    }
    assert refusal("GET", navigation, {PAGE}, navigation=True) is None
    assert refusal("POST", navigation, {PAGE}, navigation=True) is not None
    assert refusal("GET", navigation, {PAGE}) is not None  # moto: no page to open
    image = {**navigation, "sec-fetch-mode": "no-cors"}
    assert refusal("GET", image, {PAGE}, navigation=True) is not None


def test_the_asgi_guard_answers_403_before_the_app_runs() -> None:
    calls: list[str] = []

    async def health(request: object) -> PlainTextResponse:
        calls.append("health")
        return PlainTextResponse("ok")

    app = LocalOnly(Starlette(routes=[Route("/health", health, methods=["GET", "POST"])]), [PAGE])
    client = TestClient(app, base_url="http://127.0.0.1:8701")
    assert client.post("/health", headers={"Origin": "https://evil.example"}).status_code == 403
    assert TestClient(app, base_url="http://rebind.example").get("/health").status_code == 403
    assert calls == []
    assert client.post("/health", headers={"Origin": PAGE}).text == "ok"
    assert client.get("/health").text == "ok"
