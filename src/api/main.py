"""The API's entry points: `app` for uvicorn, `handler` for Lambda (`api.main.handler`)."""

from __future__ import annotations

from api.lean_start import lean_start

lean_start()  # before the imports below: FastAPI probes for pydantic v1 as routes are declared

from api.app import create_app  # noqa: E402
from api.lambda_adapter import LambdaAdapter  # noqa: E402
from api.snapstart import register_restore_hook  # noqa: E402
from assets.settings import ApiSettings, load_settings  # noqa: E402

settings = load_settings(ApiSettings)
app = create_app(settings)
register_restore_hook(app)  # under SnapStart: renew what a snapshot must not share
handler = LambdaAdapter(app, lifespan="off")
