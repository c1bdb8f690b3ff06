"""`/docs`: Swagger UI served by the API itself, with no inline script and nothing from a CDN."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.docs import DOCS_CSP


def test_the_docs_page_loads_only_its_own_files_under_a_strict_csp(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == DOCS_CSP
    assert "script-src 'self';" in DOCS_CSP
    assert "unsafe-inline" not in DOCS_CSP
    # Every script is a file of this origin: no inline code, no CDN.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.DOTALL)
    assert [attributes.strip() for attributes, _ in scripts] == [
        'src="/docs/swagger-ui-bundle.js"',
        'src="/docs/swagger-init.js"',
    ]
    assert all(body.strip() == "" for _, body in scripts)
    assert "cdn." not in page.text
    assert "https://" not in page.text
    assert 'href="/docs/swagger-ui.css"' in page.text


def test_swagger_uis_files_and_its_start_up_script_are_served(client: TestClient) -> None:
    init = client.get("/docs/swagger-init.js")
    assert init.status_code == 200
    assert init.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle({" in init.text
    assert "url: '/openapi.json'" in init.text
    bundle = client.get("/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in bundle.text
    # Swagger UI 5: the first major version that reads OpenAPI 3.1, which the API documents.
    assert re.search(r'"5\.\d+\.\d+"', bundle.text)
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    css = client.get("/docs/swagger-ui.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert client.get("/docs/favicon.png").headers["content-type"] == "image/png"


def test_nothing_else_of_the_package_is_reachable(client: TestClient) -> None:
    # fastapi-offline also ships ReDoc; only the files /docs uses are routes.
    for path in (
        "/docs/redoc.standalone.js",
        "/docs/../pyproject.toml",
        "/redoc",
        "/docs/oauth2-redirect",
    ):
        assert client.get(path).status_code == 404, path
