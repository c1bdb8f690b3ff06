"""The API and the worker in real Lambda containers: `sam build`, then `sam local` against the
local stack in SAM mode, as a tester runs them (docs/local-stack.md, "With `sam local`").

Needs a Docker engine and the local Lambda image: `make test-sam` installs Docker, starts it if
none runs (scripts/with-docker) and builds the image (scripts/lambda-image) before these run.
Without an engine these tests fail and say so; they never skip. Everything started here (the
local stack, `sam local start-api` and its containers) is stopped when the session ends, and a
container SAM leaves behind fails the session after it is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from deploy import lambda_deps

from local_stack.state import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY
from testbed.stack import PROJECT, RunningStack, running_stack

SAM = Path(os.environ.get("SAM_CLI", PROJECT / ".venv-tools" / "sam" / "bin" / "sam"))
SAM_API_PORT = 3000
"""Where testers reach `sam local start-api` (SAM's default); the stack's page points there."""
CONTAINER_HOST = "host.docker.internal"
# Docker Engine on Linux has no host.docker.internal of its own; host-gateway is the host's
# address on the container's network, whatever the bridge's subnet is.
ADD_HOST = f"{CONTAINER_HOST}:host-gateway"
START_API_TIMEOUT = 180.0


def host_architecture() -> str:
    architecture = lambda_deps.host_architecture()
    assert architecture, "this machine's architecture is neither arm64 nor x86_64"
    return architecture


def sam_environment(stack: RunningStack) -> dict[str, str]:
    """The environment `sam local` runs with: the stack's fake credentials and nothing real.

    SAM hands its credentials to the containers (the API signs upload forms with them, and the
    stack checks form signatures against its own), and asks STS for the account id before it
    invokes anything: STS points at moto, or SAM waits for AWS's endpoint to time out.
    """
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AWS_") and name != "PYTHONPATH"
    }
    environment.update(
        AWS_ACCESS_KEY_ID=LOCAL_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=LOCAL_SECRET_ACCESS_KEY,
        AWS_REGION=stack.info.region,
        AWS_DEFAULT_REGION=stack.info.region,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL_STS=stack.info.awsEndpointUrl,
        SAM_CLI_TELEMETRY="0",
    )
    return environment


def local_options(stack: RunningStack) -> list[str]:
    """What `sam local start-api` and `sam local invoke` share."""
    return [
        *("--env-vars", str(stack.info.extra["samEnvFile"])),
        *("--parameter-overrides", f"Architecture={host_architecture()}"),
        *("--add-host", ADD_HOST),
        *("--region", stack.info.region),
        "--skip-pull-image",  # without it SAM asks the registry for the image's digest
    ]


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


# --- what every test here needs --------------------------------------------------------------


@pytest.fixture(scope="session")
def docker_engine() -> str:
    """The running engine's version; a failure, saying why, when there is none."""
    if shutil.which("docker") is None:
        pytest.fail("the docker CLI is not installed: run `make test-sam` (scripts/ensure-docker)")
    info = docker("info", "--format", "{{.ServerVersion}}")
    if info.returncode != 0:
        pytest.fail(
            "no Docker engine answers (docker info: "
            f"{(info.stderr or info.stdout).strip()[-300:]}). `make test-sam` starts one"
            " (scripts/with-docker); so does `systemctl start docker`."
        )
    return info.stdout.strip()


@pytest.fixture(scope="session")
def lambda_image(docker_engine: str) -> str:
    """The image SAM runs python3.13 functions in, built (or found cached) by scripts/lambda-image."""
    architecture = host_architecture()
    built = subprocess.run(
        [str(PROJECT / "scripts" / "lambda-image"), "--arch", architecture],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        env={**os.environ, "PYTHON": str(PROJECT / ".venv" / "bin" / "python")},
    )
    assert built.returncode == 0, f"scripts/lambda-image failed:\n{built.stdout}\n{built.stderr}"
    return lambda_deps.LOCAL_IMAGE.format(architecture=architecture)


@pytest.fixture(scope="session")
def sam_cli() -> Path:
    if not SAM.is_file():
        pytest.fail(f"{SAM} is missing: `make test-sam` installs the pinned SAM CLI")
    return SAM


@dataclass(frozen=True)
class SamBuild:
    build_dir: Path
    template: Path
    output: str


@pytest.fixture(scope="session")
def sam_build(
    sam_cli: Path, lambda_image: str, tmp_path_factory: pytest.TempPathFactory
) -> SamBuild:
    """`sam build --parameter-overrides Architecture=<this machine's>`, as a tester runs it.

    The host's Python runs the bundler; the bytecode comes from whichever python3.13 it finds,
    the local image's when the host has none.
    """
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    done = subprocess.run(
        [
            *(str(sam_cli), "build", "--template", str(PROJECT / "template.yaml")),
            *("--build-dir", str(build_dir), "--no-cached", "--parallel"),
            *("--parameter-overrides", f"Architecture={host_architecture()}"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=PROJECT,
        env={
            **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
            "PYTHON": str(PROJECT / ".venv" / "bin" / "python"),
            "SAM_CLI_TELEMETRY": "0",
        },
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"sam build failed:\n{output[-5000:]}"
    return SamBuild(build_dir, build_dir / "template.yaml", output)


@pytest.fixture(scope="session")
def sam_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The local stack in SAM mode: moto for the containers, the worker poller and the CDN."""
    with running_stack(tmp_path_factory.mktemp("sam-stack"), "--for-sam") as stack:
        yield stack


# --- sam local start-api ---------------------------------------------------------------------


@dataclass
class SamApi:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _containers_in(output: str) -> set[str]:
    return {
        line.split(":", 1)[1].strip()
        for line in output.splitlines()
        if line.startswith("SAM_CONTAINER_ID:")
    }


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _stop(process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """SIGTERM (SAM removes its containers on it; SIGINT may be ignored when run in the
    background), then SIGKILL the process group if it does not go."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def remove_leftovers(containers: set[str], grace: float = 20) -> list[str]:
    """Remove whichever of these containers outlive `grace` seconds; the ones that did.

    SAM stops and removes its containers as it exits, and on a busy machine the engine can
    finish a removal a few seconds after SAM is gone: that is not a leftover.
    """
    deadline = time.monotonic() + grace
    while True:
        left = [c for c in sorted(containers) if docker("inspect", c).returncode == 0]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    described = [_describe(container) for container in left]
    for container in left:
        docker("rm", "--force", container)
    return described


def _describe(container: str) -> str:
    """The container's id, function and state, for a message that says what was left."""
    shown = docker(
        "inspect",
        "--format",
        "{{range .Config.Env}}{{println .}}{{end}}state={{.State.Status}} created={{.Created}}",
        container,
    ).stdout
    function = next(
        (
            line.split("=", 1)[1]
            for line in shown.splitlines()
            if line.startswith("AWS_LAMBDA_FUNCTION_NAME=")
        ),
        "?",
    )
    state = shown.strip().splitlines()[-1] if shown.strip() else "state=?"
    return f"{container[:12]} ({function}, {state})"


@pytest.fixture(scope="session")
def sam_api(
    sam_cli: Path,
    sam_build: SamBuild,
    sam_stack: RunningStack,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SamApi]:
    """`sam local start-api --warm-containers LAZY` on 127.0.0.1:3000, until the session ends.

    LAZY starts the API's container at its first request and keeps it: later requests cost tens
    of milliseconds. Not EAGER: SAM 1.170 starts a container for every function up front (the
    worker's and the signing key's too, which start-api never calls), then replaces the API's at
    its first request anyway (a new container, the EAGER one stopped), and in CI one of those
    outlived SAM's exit.
    """
    url = f"http://127.0.0.1:{SAM_API_PORT}"
    assert sam_stack.info.apiUrl == url, "the stack's page and state point at sam local"
    if not _port_is_free(SAM_API_PORT):
        pytest.fail(f"port {SAM_API_PORT} on 127.0.0.1 is in use: stop what listens there first")
    log = tmp_path_factory.mktemp("sam-api") / "start-api.log"
    with log.open("wb") as stream:
        process = subprocess.Popen(
            [
                *(str(sam_cli), "local", "start-api", "--template", str(sam_build.template)),
                *("--host", "127.0.0.1", "--port", str(SAM_API_PORT)),
                *("--warm-containers", "LAZY"),
                *local_options(sam_stack),
            ],
            stdout=stream,
            stderr=subprocess.STDOUT,
            cwd=PROJECT,
            env=sam_environment(sam_stack),
            start_new_session=True,
        )
    api = SamApi(url, process, log)
    try:
        deadline = time.monotonic() + START_API_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"sam local start-api exited with {process.returncode}:\n{api.output()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                # Long enough for the first request (a container's start and the imports): a
                # poll that gave up sooner would send a second one while the first still runs.
                if httpx.get(f"{url}/health", timeout=60).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"sam local start-api did not answer in {START_API_TIMEOUT:.0f}s:\n{api.output()}"
                )
            time.sleep(0.5)
        yield api
    finally:
        _stop(process)
        left = remove_leftovers(_containers_in(api.output()))
        assert not left, (
            f"sam local start-api (exit {process.returncode}) left containers behind: {left};"
            f" its last lines:\n{api.output()[-3000:]}"
        )


# --- the worker, through `sam local invoke` --------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    returncode: int
    response: object
    """The function's answer (the last line SAM prints on stdout), parsed."""
    output: str
    leftovers: list[str]
    """Containers SAM did not remove (removed since)."""


def invoke_worker(
    sam_cli: Path, build: SamBuild, stack: RunningStack, event: Mapping[str, object], scratch: Path
) -> Invocation:
    """`sam local invoke WorkerFunction -e EVENT`: one container, started and removed by SAM."""
    event_file = scratch / "event.json"
    event_file.write_text(json.dumps(event), encoding="utf-8")
    done = subprocess.run(
        [
            *(str(sam_cli), "local", "invoke", "WorkerFunction"),
            *("--template", str(build.template), "--event", str(event_file)),
            *local_options(stack),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=PROJECT,
        env=sam_environment(stack),
    )
    leftovers = remove_leftovers(_containers_in(done.stderr + done.stdout))
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    try:
        response = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        response = None
    return Invocation(done.returncode, response, done.stderr + done.stdout, leftovers)
