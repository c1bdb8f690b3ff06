"""`--for-sam`: moto for containers, the worker and the CDN, and the values `sam local` needs."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx

from local_stack.blueprint import derive_blueprint
from local_stack.template import load_template
from testbed.stack import start_stack, wait_for_stack


def test_sam_mode_serves_containers_and_writes_the_env_file(tmp_path: Path) -> None:
    log = tmp_path / "stack.log"
    process = start_stack(tmp_path, log, "--for-sam")
    try:
        info = wait_for_stack(process, tmp_path, log)
        moto_port = info.awsEndpointUrl.rsplit(":", 1)[1]
        # moto answers on every interface (containers come in through the bridge), the rest
        # on loopback, and the API is left to `sam local start-api`.
        assert info.mode == "sam"
        assert info.extra["motoBind"] == "0.0.0.0"  # noqa: S104 - what SAM mode binds
        assert info.apiUrl == "http://127.0.0.1:3000"
        assert set(info.extra["processes"]) == {"moto", "worker", "web"}
        assert httpx.get(info.awsEndpointUrl + "/moto-api/", timeout=10).status_code == 200
        # The env file sets only what the template declares (sam ignores anything else) ...
        env = json.loads(Path(info.extra["samEnvFile"]).read_text())
        blueprint = derive_blueprint(load_template())
        assert set(env["ApiFunction"]) <= set(blueprint.api.environment)
        assert set(env["WorkerFunction"]) <= set(blueprint.worker.environment)
        # ... pointing the API's AWS calls and its JWKS fetch at moto through the host's name
        api = env["ApiFunction"]
        assert api["AWS_ENDPOINT_URL"] == f"http://host.docker.internal:{moto_port}"
        assert api["COGNITO_JWKS_URL"] == (
            f"http://host.docker.internal:{moto_port}/{info.userPoolId}/.well-known/jwks.json"
        )
        assert api["COGNITO_USER_POOL_ID"] == info.userPoolId
        assert api["ASSET_BASE_URL"] == info.cdnUrl
        # sam local invoke runs the worker with the template's timeout: its lease stays the template's
        assert "LEASE_SECONDS" not in env["WorkerFunction"]
        output = log.read_text()
        assert "no authentication" in output
        assert "sam local start-api --env-vars" in output
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=30) == 0
    # A clean stop leaves no env file behind (its values die with this stack's user pool).
    assert not (tmp_path / "sam-env.json").exists()
