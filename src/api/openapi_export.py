"""Write the API's OpenAPI document: `python -m api.openapi_export docs/openapi.json`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from api.app import create_app
from assets.settings import ApiSettings

# Placeholder values: the document does not depend on configuration, only on the code.
_DOCUMENT_SETTINGS = {
    "AWS_REGION": "us-east-1",
    "ASSETS_TABLE_NAME": "assets",
    "ASSET_BUCKET_NAME": "assets",
    "ASSET_BASE_URL": "https://cdn.example.com/assets",
    "COGNITO_USER_POOL_ID": "us-east-1_example",
    "COGNITO_CLIENT_ID": "example",
    "ASSET_DELIVERY": "public",
}


def openapi_document() -> dict[str, Any]:
    """The document the app serves at `/openapi.json`."""
    return create_app(ApiSettings(**_DOCUMENT_SETTINGS)).openapi()  # type: ignore[arg-type]


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m api.openapi_export PATH", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
