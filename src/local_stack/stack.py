"""Start the whole system on one machine, print where it is, stop it all on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from local_stack.aws import MotoClients
from local_stack.blueprint import (
    API,
    LOCAL_ACCOUNT_ID,
    WORKER,
    Blueprint,
    TemplateError,
    derive_blueprint,
)
from local_stack.cfn_template import TEMPLATE_PATH, load_template
from local_stack.cloudfront import delivery_settings, web_delivery_arguments
from local_stack.environment import (
    Timings,
    api_overrides,
    base_environment,
    function_environment,
    local_timings,
    python_command,
    worker_overrides,
)
from local_stack.provision import (
    Provisioned,
    create_user,
    generate_password,
    provision,
)
from local_stack.state import (
    LOCAL_ACCESS_KEY_ID,
    LOCAL_SECRET_ACCESS_KEY,
    DemoUser,
    StackInfo,
    StateFileError,
    process_alive,
    read_state,
    remove_state,
    write_state,
)
from local_stack.supervisor import (
    ChildFailed,
    ChildSpec,
    Output,
    PortInUse,
    Supervisor,
    bind_listener,
)

PROJECT_DIR = TEMPLATE_PATH.parent
DEFAULT_PORTS = {"web": 8700, "api": 8701, "moto": 8702}
API_APP = "api.main:app"
START_TIMEOUT_SECONDS = 60.0


@dataclass
class StackOptions:
    """How to run the stack; the defaults are what `make dev` does."""

    host: str = "127.0.0.1"
    web_port: int = DEFAULT_PORTS["web"]
    api_port: int = DEFAULT_PORTS["api"]
    moto_port: int = DEFAULT_PORTS["moto"]
    free_ports: bool = False
    state_dir: Path = field(default_factory=lambda: PROJECT_DIR / ".local")
    site_dir: Path | None = field(default_factory=lambda: PROJECT_DIR / "site")
    template_path: Path = TEMPLATE_PATH
    region: str = "us-east-1"
    visibility_timeout: int | None = 30
    """None keeps the template's; anything else scales the worker's timings with it."""
    demo_email: str = "demo@example.com"
    demo_password: str | None = None
    for_sam: bool = False
    moto_bind: str | None = None
    """Where moto listens; 127.0.0.1 unless `for_sam` (then 0.0.0.0, so containers reach it)."""
    advertise_host: str = "host.docker.internal"
    """The name containers use for this machine (SAM mode)."""
    sam_api_url: str = "http://127.0.0.1:3000"
    verbose: bool = False


class StackError(RuntimeError):
    """The stack cannot start; the message says why and what to do."""


def run_stack(options: StackOptions, stream: IO[str] | None = None) -> int:
    """Run until Ctrl-C / SIGTERM (0) or until a process dies or cannot start (1)."""
    output = Output(stream)
    supervisor = Supervisor(output)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            supervisor.force()
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    say = output.write
    code = 0
    started = False
    try:
        stack = _Starter(options, supervisor, say, stop.is_set)
        info = stack.start()
        started = True
        write_state(options.state_dir, info)
        say(stack.banner(info))
        while not stop.wait(0.25):
            exited = supervisor.first_exited()
            if exited is not None:
                child, status = exited
                tail = "\n".join(f"    {line}" for line in child.tail()[-15:])
                say(
                    f"\n{child.name} exited unexpectedly (code {status}); stopping the stack.\n{tail}"
                )
                code = 1
                break
    except KeyboardInterrupt:
        say("Interrupted while starting.")
    except (StackError, TemplateError, PortInUse, ChildFailed) as error:
        say(f"\nThe local stack could not start: {error}")
        code = 1
    except (ClientError, BotoCoreError) as error:
        say(f"\nProvisioning the local resources in moto failed: {error}")
        code = 1
    finally:
        if started or supervisor.children:
            say("Stopping the local stack...")
        supervisor.stop_all()
        remove_state(options.state_dir, os.getpid())
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if started:
            say("Stopped: every process has exited and its port is free.")
    return code


class _Starter:
    """The start-up sequence: template, ports, moto, resources, then the processes that use them."""

    def __init__(
        self,
        options: StackOptions,
        supervisor: Supervisor,
        say: Callable[[str], None],
        interrupted: Callable[[], bool],
    ) -> None:
        self._options = options
        self._supervisor = supervisor
        self._say = say
        self._interrupted = interrupted
        self.notes: list[str] = []
        self.timings: Timings | None = None

    def start(self) -> StackInfo:
        options = self._options
        blueprint = self._blueprint()
        try:
            # ASSET_DELIVERY / SIGNED_URL_TTL_SECONDS from `make dev`'s environment.
            delivery = delivery_settings(os.environ)
        except ValueError as error:
            raise StackError(str(error)) from None
        self._refuse_second_stack()
        moto_bind = options.moto_bind or ("0.0.0.0" if options.for_sam else options.host)  # noqa: S104 - SAM mode is the opt-in
        listeners = self._bind(
            [("moto", moto_bind, options.moto_port), ("web", options.host, options.web_port)]
            + ([] if options.for_sam else [("api", options.host, options.api_port)])
        )
        ports = {role: sock.getsockname()[1] for role, sock in listeners.items()}
        if options.free_ports:
            self.notes.append("--free-ports: the ports were chosen by the system")
        public = "127.0.0.1" if options.host in ("0.0.0.0", "::") else options.host  # noqa: S104 - a comparison
        moto_url = f"http://127.0.0.1:{ports['moto']}"
        page_url = f"http://{public}:{ports['web']}/"
        page_origins = [f"http://{public}:{ports['web']}", f"http://localhost:{ports['web']}"]
        cdn_url = f"http://{public}:{ports['web']}/assets"
        api_url = options.sam_api_url if options.for_sam else f"http://{public}:{ports['api']}"

        base_env = base_environment(os.environ, region=options.region, endpoint_url=moto_url)
        moto = self._supervisor.start(
            ChildSpec(
                "moto",
                python_command(
                    "local_stack.child",
                    "moto",
                    "--fd",
                    str(listeners["moto"].fileno()),
                    "--access-key-id",
                    LOCAL_ACCESS_KEY_ID,
                    "--secret-access-key",
                    LOCAL_SECRET_ACCESS_KEY,
                    *[arg for origin in page_origins for arg in ("--allow-origin", origin)],
                    *(["--verbose"] if options.verbose else []),
                ),
                base_env,
                [listeners["moto"]],
            )
        )
        moto.wait_ready(START_TIMEOUT_SECONDS, self._interrupted)

        clients = MotoClients(moto_url, options.region)
        self.timings = timings = local_timings(
            blueprint, options.region, options.visibility_timeout
        )
        provisioned = provision(clients, blueprint, visibility_timeout=timings.visibility_timeout)
        demo = DemoUser(
            options.demo_email,
            options.demo_password or generate_password(blueprint.user_pool.password_policy),
        )
        try:
            create_user(clients.cognito, provisioned.user_pool_id, demo.email, demo.password)
        except ClientError as error:
            raise StackError(f"the demo user could not be created: {error}") from error

        jwks_path = f"/{provisioned.user_pool_id}/.well-known/jwks.json"
        worker_env, skipped = function_environment(
            blueprint.worker,
            blueprint,
            region=options.region,
            overrides=worker_overrides(provisioned, timings),
        )
        self.notes.extend(skipped)
        self._start_worker(blueprint, provisioned, timings, {**base_env, **worker_env})
        api_env, skipped = function_environment(
            blueprint.api,
            blueprint,
            region=options.region,
            overrides=api_overrides(
                provisioned,
                asset_base_url=cdn_url,
                jwks_url=moto_url + jwks_path,
                cors_origins=page_origins,
                delivery=delivery,
            ),
        )
        if not options.for_sam:
            self.notes.extend(skipped)
            self._start_api(listeners["api"], {**base_env, **api_env})
        self._start_web(
            listeners["web"],
            base_env,
            provisioned,
            api_url=api_url,
            moto_url=moto_url,
            cdn_url=cdn_url,
            delivery_arguments=web_delivery_arguments(provisioned.signing_key, delivery),
        )
        for child in self._supervisor.children:
            child.wait_ready(START_TIMEOUT_SECONDS, self._interrupted)

        extra: dict[str, Any] = {
            "timings": timings.describe(),
            "assetDelivery": api_env.get("ASSET_DELIVERY", ""),
            "signedUrlTtlSeconds": api_env.get("SIGNED_URL_TTL_SECONDS", ""),
            "processes": {child.name: child.pid for child in self._supervisor.children},
        }
        if options.for_sam:
            container_endpoint = f"http://{options.advertise_host}:{ports['moto']}"
            sam_env = self._sam_environment(
                blueprint,
                provisioned,
                timings,
                container_endpoint,
                cdn_url,
                page_origins,
                jwks_path,
                delivery,
            )
            sam_env_path = options.state_dir / "sam-env.json"
            options.state_dir.mkdir(parents=True, exist_ok=True)
            sam_env_path.write_text(json.dumps(sam_env, indent=2) + "\n", encoding="utf-8")
            extra.update(
                {
                    "containerAwsEndpointUrl": container_endpoint,
                    "samEnvFile": str(sam_env_path),
                    "motoBind": moto_bind,
                }
            )
        return StackInfo(
            pageUrl=page_url,
            apiUrl=api_url,
            cdnUrl=cdn_url,
            awsEndpointUrl=moto_url,
            region=options.region,
            userPoolId=provisioned.user_pool_id,
            userPoolClientId=provisioned.user_pool_client_id,
            demoUser=demo,
            mode="sam" if options.for_sam else "full",
            docsUrl=None if options.for_sam else f"{api_url}/docs",
            pid=os.getpid(),
            tableName=provisioned.table_name,
            bucketName=provisioned.bucket_name,
            queueUrl=provisioned.queue_url,
            deadLetterQueueUrl=provisioned.dead_letter_queue_url,
            extra=extra,
        )

    # --- steps -------------------------------------------------------------------------------

    def _blueprint(self) -> Blueprint:
        path = self._options.template_path
        if not path.exists():
            raise StackError(f"{path} does not exist; the local stack builds what it declares")
        return derive_blueprint(load_template(path))

    def _refuse_second_stack(self) -> None:
        try:
            running = read_state(self._options.state_dir)
        except StateFileError:
            return
        if running.pid and running.pid != os.getpid() and process_alive(running.pid):
            raise StackError(
                f"a local stack is already running (pid {running.pid}, page {running.pageUrl});"
                f" its state is in {self._options.state_dir / 'stack.json'}. Stop it first (Ctrl-C in"
                " its terminal), or run this one elsewhere with --free-ports --state-dir DIR."
            )

    def _bind(self, wanted: list[tuple[str, str, int]]) -> dict[str, socket.socket]:
        listeners: dict[str, socket.socket] = {}
        try:
            for role, host, port in wanted:
                listeners[role] = bind_listener(role, host, 0 if self._options.free_ports else port)
        except PortInUse as error:
            for sock in listeners.values():
                sock.close()
            flag = {"moto": "--moto-port", "web": "--web-port", "api": "--api-port"}[error.role]
            raise StackError(
                f"{error}. Another program (or another local stack) is using it: stop it,"
                f" choose another port with {flag} N, or let the system pick with --free-ports."
            ) from error
        return listeners

    def _start_worker(
        self, blueprint: Blueprint, provisioned: Provisioned, timings: Timings, env: dict[str, str]
    ) -> None:
        event = blueprint.worker_event
        self._supervisor.start(
            ChildSpec(
                "worker",
                python_command(
                    "local_stack.child",
                    "worker",
                    "--handler",
                    blueprint.worker.handler,
                    "--region",
                    self._options.region,
                    "--account-id",
                    LOCAL_ACCOUNT_ID,
                    "--queue-url",
                    provisioned.queue_url,
                    "--queue-arn",
                    provisioned.queue_arn,
                    "--batch-size",
                    str(event.batch_size),
                    "--function-name",
                    f"local-{WORKER}",
                    "--timeout",
                    str(timings.worker_timeout),
                    "--memory",
                    str(blueprint.worker.memory_size),
                    *(["--report-batch-item-failures"] if event.report_batch_item_failures else []),
                    *(["--verbose"] if self._options.verbose else []),
                ),
                env,
            )
        )

    def _start_api(self, listener: socket.socket, env: dict[str, str]) -> None:
        module, _, attribute = API_APP.partition(":")
        self._supervisor.start(
            ChildSpec(
                "api",
                python_command(
                    "local_stack.child",
                    "api",
                    "--fd",
                    str(listener.fileno()),
                    "--app-module",
                    module,
                    "--app-attribute",
                    attribute,
                    "--access-log",
                    *(["--verbose"] if self._options.verbose else []),
                ),
                env,
                [listener],
            )
        )

    def _start_web(
        self,
        listener: socket.socket,
        base_env: dict[str, str],
        provisioned: Provisioned,
        *,
        api_url: str,
        moto_url: str,
        cdn_url: str,
        delivery_arguments: list[str],
    ) -> None:
        site_dir = self._options.site_dir
        if site_dir is not None and not site_dir.is_dir():
            self.notes.append(f"{site_dir} does not exist: the page is not served, only /assets/*")
            site_dir = None
        config = {
            "apiBaseUrl": api_url,
            "assetBaseUrl": cdn_url,
            "region": self._options.region,
            "userPoolId": provisioned.user_pool_id,
            "userPoolClientId": provisioned.user_pool_client_id,
            "userPoolIssuer": f"https://cognito-idp.{self._options.region}.amazonaws.com/{provisioned.user_pool_id}",
            "cognitoEndpoint": moto_url,
            "authFlow": "USER_PASSWORD_AUTH",
            "environment": "local",
        }
        self._supervisor.start(
            ChildSpec(
                "web",
                python_command(
                    "local_stack.child",
                    "web",
                    "--fd",
                    str(listener.fileno()),
                    "--region",
                    self._options.region,
                    "--bucket",
                    provisioned.bucket_name,
                    "--config-json",
                    json.dumps(config),
                    *(["--site-dir", str(site_dir)] if site_dir else []),
                    *delivery_arguments,
                    *(["--verbose"] if self._options.verbose else []),
                ),
                base_env,
                [listener],
            )
        )

    def _sam_environment(
        self,
        blueprint: Blueprint,
        provisioned: Provisioned,
        timings: Timings,
        container_endpoint: str,
        cdn_url: str,
        page_origins: list[str],
        jwks_path: str,
        delivery: dict[str, str],
    ) -> dict[str, dict[str, str]]:
        """`--env-vars` content: SAM only sets variables the template declares, so say which lack."""
        local_values = {
            API: {
                **api_overrides(
                    provisioned,
                    asset_base_url=cdn_url,
                    jwks_url=container_endpoint + jwks_path,
                    cors_origins=page_origins,
                    delivery=delivery,
                ),
                "AWS_ENDPOINT_URL": container_endpoint,
            },
            # `sam local invoke` runs the worker with the template's timeout, so it keeps the
            # template's lease; only the local poller's timings are scaled.
            WORKER: {
                **{
                    name: value
                    for name, value in worker_overrides(provisioned, timings).items()
                    if name != "LEASE_SECONDS"
                },
                "AWS_ENDPOINT_URL": container_endpoint,
            },
        }
        for spec in (blueprint.api, blueprint.worker):
            missing = sorted(set(local_values[spec.logical_id]) - set(spec.environment))
            if missing:
                self.notes.append(
                    f"template.yaml: {spec.logical_id} does not declare {', '.join(missing)};"
                    " sam local ignores env.json values for undeclared variables"
                    " (declare them, e.g. AWS_ENDPOINT_URL: '')"
                )
        return local_values

    # --- output ------------------------------------------------------------------------------

    def banner(self, info: StackInfo) -> str:
        options = self._options
        timings = self.timings
        lines = ["", "The local stack is running. Ctrl-C stops everything.", ""]
        rows: list[tuple[str, str]] = []
        if options.for_sam:
            rows += [
                (
                    "Mode",
                    "for SAM: moto, the worker poller and the CDN; run the API with sam local",
                ),
                ("moto (host)", f"{info.awsEndpointUrl}   region {info.region}"),
                ("moto (containers)", str(info.extra.get("containerAwsEndpointUrl"))),
                ("SAM env file", str(info.extra.get("samEnvFile"))),
            ]
        else:
            rows += [
                ("Page", info.pageUrl),
                ("API", info.apiUrl),
                ("API docs", str(info.docsUrl)),
                ("CDN", f"{info.cdnUrl}/<assetId>.<png|jpg>   {_delivery(info)}"),
                ("AWS (moto)", f"{info.awsEndpointUrl}   region {info.region}"),
            ]
        rows += [
            ("Sign in", f"{info.demoUser.email}   password: {info.demoUser.password}"),
            (
                "User pool",
                f"{info.userPoolId}   client {info.userPoolClientId} (USER_PASSWORD_AUTH)",
            ),
            ("Worker", timings.describe() if timings else "?"),
            ("State", str(options.state_dir / "stack.json")),
        ]
        width = max(len(name) for name, _ in rows)
        lines += [f"  {name:<{width}}  {value}" for name, value in rows]
        lines += [
            "",
            "  More users:  python -m local_stack users add EMAIL",
            "  Try it:      python -m local_stack upload path/to/image.png",
        ]
        if options.for_sam:
            bind = info.extra.get("motoBind")
            lines += [
                "",
                f"  moto listens on {bind}: it has no authentication, so anything that can reach",
                "  that port can read and change the local data. Use it on a trusted network only.",
                "  Start the API in a container with the stack's fake credentials:",
                f"    AWS_ACCESS_KEY_ID={LOCAL_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={LOCAL_SECRET_ACCESS_KEY} \\",
                f"      sam local start-api --env-vars {info.extra.get('samEnvFile')}",
            ]
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {note}" for note in self.notes]
        lines.append("")
        return "\n".join(lines)


def _delivery(info: StackInfo) -> str:
    mode = info.extra.get("assetDelivery")
    if mode == "public":
        return "(public URLs)"
    return (
        f"(signed URLs, {info.extra.get('signedUrlTtlSeconds')} s; ASSET_DELIVERY=public for plain)"
    )
