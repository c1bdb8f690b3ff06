"""The API's entry points: `app` for uvicorn, `handler` for Lambda (`api.main.handler`)."""

from __future__ import annotations

from api.app import create_app
from api.lambda_adapter import LambdaAdapter
from assets.settings import ApiSettings, load_settings

settings = load_settings(ApiSettings)
app = create_app(settings)
handler = LambdaAdapter(app, lifespan="off")
