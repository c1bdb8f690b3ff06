"""The start-up plan: options, the template's blueprint and what provisioning made, turned into the
processes to start (each one's configuration and environment) and what the stack will say it is.

Pure: nothing here binds, starts or calls anything, so the whole plan is testable without a
process. Each child gets its configuration as one JSON argument (`ChildConfig`), read back by
`local_stack.child` with the same models.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from local_stack.blueprint import API, LOCAL_ACCOUNT_ID, WORKER, Blueprint
from local_stack.environment import (
    Timings,
    api_overrides,
    function_environment,
    python_command,
    worker_overrides,
)
from local_stack.options import StackOptions
from local_stack.poller import EventSourceConfig, FunctionConfig
from local_stack.provision import Provisioned
from local_stack.state import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, DemoUser, StackInfo
from local_stack.supervisor import ChildSpec

API_APP = "api.main:app"


class _Child(BaseModel):
    model_config = ConfigDict(frozen=True)

    verbose: bool = False
    fd: int | None = None
    """The listening socket the supervisor bound and handed over (set when it starts)."""
    allowed_origins: list[str] = []
    """Browser origins a request may come from (the page's); requests from others are refused."""


class MotoConfig(_Child):
    role: Literal["moto"] = "moto"
    secrets: dict[str, str]


class ApiConfig(_Child):
    role: Literal["api"] = "api"
    app: str = API_APP


class WebConfig(_Child):
    role: Literal["web"] = "web"
    region: str
    bucket: str
    site_dir: Path | None
    config: dict[str, Any]


class WorkerConfig(_Child):
    role: Literal["worker"] = "worker"
    handler: str
    source: EventSourceConfig
    function: FunctionConfig
    concurrency: int = 1
    instance: int = 0
    """0 for the process the supervisor starts; 1.. for the ones it starts beside itself."""
    ready_fd: int | None = None
    """Where one of those says it polls (a pipe from the first)."""


ChildConfig = Annotated[
    MotoConfig | ApiConfig | WebConfig | WorkerConfig, Field(discriminator="role")
]


@dataclass(frozen=True, slots=True)
class Launch:
    """One process to start: its name, configuration, environment and listening socket's role."""

    name: str
    config: MotoConfig | ApiConfig | WebConfig | WorkerConfig
    env: Mapping[str, str]
    listener: str | None = None

    def spec(self, listeners: Mapping[str, socket.socket]) -> ChildSpec:
        sockets = [listeners[self.listener]] if self.listener else []
        config = self.config.model_copy(update={"fd": sockets[0].fileno() if sockets else None})
        argv = python_command("local_stack.child", config.model_dump_json())
        return ChildSpec(self.name, argv, self.env, sockets)


@dataclass(frozen=True, slots=True)
class Urls:
    """Where everything answers, from the ports the stack bound."""

    moto: str
    page: str
    page_origins: list[str]
    cdn: str
    api: str
    ports: dict[str, int]

    @classmethod
    def of(cls, options: StackOptions, ports: Mapping[str, int]) -> Urls:
        public = "127.0.0.1" if options.host in ("0.0.0.0", "::") else options.host  # noqa: S104 - a comparison
        web = f"http://{public}:{ports['web']}"
        return cls(
            moto=f"http://127.0.0.1:{ports['moto']}",
            page=web + "/",
            page_origins=[web, f"http://localhost:{ports['web']}"],
            cdn=web + "/assets",
            api=options.sam_api_url if options.for_sam else f"http://{public}:{ports['api']}",
            ports=dict(ports),
        )


def moto_launch(options: StackOptions, urls: Urls, env: Mapping[str, str]) -> Launch:
    secrets = {LOCAL_ACCESS_KEY_ID: LOCAL_SECRET_ACCESS_KEY}
    config = MotoConfig(secrets=secrets, allowed_origins=urls.page_origins, verbose=options.verbose)
    return Launch("moto", config, env, "moto")


def worker_launch(
    options: StackOptions,
    blueprint: Blueprint,
    provisioned: Provisioned,
    timings: Timings,
    env: Mapping[str, str],
) -> Launch:
    """The worker: the event source as the template maps it, the function's scaled timeout."""
    event = blueprint.worker_event
    config = WorkerConfig(
        handler=blueprint.worker.handler,
        source=EventSourceConfig(
            queue_url=provisioned.queue_url,
            queue_arn=provisioned.queue_arn,
            batch_size=event.batch_size,
            report_batch_item_failures=event.report_batch_item_failures,
        ),
        function=FunctionConfig(
            name=f"local-{WORKER}",
            timeout_seconds=timings.worker_timeout,
            memory_mb=blueprint.worker.memory_size,
            region=options.region,
            account_id=LOCAL_ACCOUNT_ID,
        ),
        concurrency=options.worker_concurrency,
        verbose=options.verbose,
    )
    return Launch("worker", config, env)


@dataclass
class Plan:
    """Everything the runner starts after moto, and what the stack reports once it runs."""

    children: list[Launch]
    info: StackInfo
    sam_env: dict[str, dict[str, str]] | None = None
    notes: list[str] = field(default_factory=list)


def plan_stack(
    options: StackOptions,
    blueprint: Blueprint,
    provisioned: Provisioned,
    urls: Urls,
    timings: Timings,
    demo: DemoUser,
    base_env: Mapping[str, str],
) -> Plan:
    """The worker, the API (unless SAM runs it) and the page/CDN, configured for these resources."""
    notes = ["--free-ports: the ports were chosen by the system"] if options.free_ports else []
    jwks_path = f"/{provisioned.user_pool_id}/.well-known/jwks.json"
    worker_env, skipped = function_environment(
        blueprint.worker,
        blueprint,
        region=options.region,
        overrides=worker_overrides(provisioned, timings),
    )
    notes += skipped
    children = [worker_launch(options, blueprint, provisioned, timings, {**base_env, **worker_env})]
    if not options.for_sam:
        api_env, skipped = function_environment(
            blueprint.api,
            blueprint,
            region=options.region,
            overrides=api_overrides(
                provisioned,
                asset_base_url=urls.cdn,
                jwks_url=urls.moto + jwks_path,
                cors_origins=urls.page_origins,
            ),
        )
        notes += skipped
        api = ApiConfig(allowed_origins=urls.page_origins, verbose=options.verbose)
        children.append(Launch("api", api, {**base_env, **api_env}, "api"))
    site_dir = options.site_dir
    if site_dir is not None and not site_dir.is_dir():
        notes.append(f"{site_dir} does not exist: the page is not served, only /assets/*")
        site_dir = None
    page_config = {
        "apiBaseUrl": urls.api,
        "assetBaseUrl": urls.cdn,
        "region": options.region,
        "userPoolId": provisioned.user_pool_id,
        "userPoolClientId": provisioned.user_pool_client_id,
        "userPoolIssuer": f"https://cognito-idp.{options.region}.amazonaws.com/{provisioned.user_pool_id}",
        "cognitoEndpoint": urls.moto,
        "authFlow": "USER_PASSWORD_AUTH",
        "environment": "local",
    }
    web = WebConfig(
        region=options.region,
        bucket=provisioned.bucket_name,
        site_dir=site_dir,
        config=page_config,
        allowed_origins=urls.page_origins,
        verbose=options.verbose,
    )
    children.append(Launch("web", web, base_env, "web"))

    extra: dict[str, Any] = {"timings": timings.describe()}
    sam_env = None
    if options.for_sam:
        container_endpoint = f"http://{options.advertise_host}:{urls.ports['moto']}"
        sam_env = _sam_environment(
            blueprint, provisioned, timings, container_endpoint, urls, jwks_path, notes
        )
        extra.update(
            containerAwsEndpointUrl=container_endpoint,
            samEnvFile=str(options.state_dir / "sam-env.json"),
            motoBind=options.moto_address,
        )
    info = StackInfo(
        pageUrl=urls.page,
        apiUrl=urls.api,
        cdnUrl=urls.cdn,
        awsEndpointUrl=urls.moto,
        region=options.region,
        userPoolId=provisioned.user_pool_id,
        userPoolClientId=provisioned.user_pool_client_id,
        demoUser=demo,
        mode="sam" if options.for_sam else "full",
        docsUrl=None if options.for_sam else f"{urls.api}/docs",
        pid=os.getpid(),
        tableName=provisioned.table_name,
        bucketName=provisioned.bucket_name,
        queueUrl=provisioned.queue_url,
        deadLetterQueueUrl=provisioned.dead_letter_queue_url,
        extra=extra,
    )
    return Plan(children, info, sam_env, notes)


def _sam_environment(
    blueprint: Blueprint,
    provisioned: Provisioned,
    timings: Timings,
    container_endpoint: str,
    urls: Urls,
    jwks_path: str,
    notes: list[str],
) -> dict[str, dict[str, str]]:
    """`--env-vars` content: SAM only sets variables the template declares, so say which lack."""
    api = api_overrides(
        provisioned,
        asset_base_url=urls.cdn,
        jwks_url=container_endpoint + jwks_path,
        cors_origins=urls.page_origins,
    )
    # `sam local invoke` runs the worker with the template's timeout, so it keeps the template's
    # lease; only the local poller's timings are scaled.
    worker = worker_overrides(provisioned, timings)
    del worker["LEASE_SECONDS"]
    local_values = {
        API: {**api, "AWS_ENDPOINT_URL": container_endpoint},
        WORKER: {**worker, "AWS_ENDPOINT_URL": container_endpoint},
    }
    for spec in (blueprint.api, blueprint.worker):
        missing = sorted(set(local_values[spec.logical_id]) - set(spec.environment))
        if missing:
            notes.append(
                f"template.yaml: {spec.logical_id} does not declare {', '.join(missing)};"
                " sam local ignores env.json values for undeclared variables"
                " (declare them, e.g. AWS_ENDPOINT_URL: '')"
            )
    return local_values
