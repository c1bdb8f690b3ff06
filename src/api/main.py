"""The API's entry points: `app` for uvicorn, `handler` for Lambda (`api.main.handler`)."""

from __future__ import annotations

from mangum import Mangum

from api.app import create_app
from assets.settings import ApiSettings, load_settings

settings = load_settings(ApiSettings)
app = create_app(settings)
handler = Mangum(app, lifespan="off")
