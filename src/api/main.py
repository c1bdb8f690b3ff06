"""The API's entry points: `app` for uvicorn, `handler` for Lambda (`api.main.handler`)."""

from __future__ import annotations

from api.lean_start import lean_start

with lean_start():  # first: FastAPI is imported there, and nothing is collected while starting
    from api.app import create_app
    from api.lambda_adapter import LambdaAdapter
    from api.snapstart import register_restore_hook
    from assets.settings import ApiSettings, load_settings

    settings = load_settings(ApiSettings)
    app = create_app(settings)
    register_restore_hook(app)  # under SnapStart: renew what a snapshot must not share
    handler = LambdaAdapter(app, lifespan="off")
