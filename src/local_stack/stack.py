"""Start the whole system on one machine, print where it is, stop it all on Ctrl-C.

The runner: it binds the ports, starts moto, provisions, then starts what `plan.plan_stack`
planned, and stops everything (in reverse) however the run ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType
from typing import IO

from botocore.exceptions import BotoCoreError, ClientError

from local_stack.aws import MotoClients
from local_stack.blueprint import derive_blueprint
from local_stack.cloudfront import delivery_settings
from local_stack.environment import base_environment, local_timings
from local_stack.options import StackOptions
from local_stack.plan import Plan, Urls, moto_launch, plan_stack
from local_stack.provision import create_user, generate_password, provision
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
from local_stack.supervisor import ChildFailed, Output, PortInUse, Supervisor, bind_listener
from local_stack.template import TemplateError, load_template

START_TIMEOUT_SECONDS = 60.0


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
    plan: Plan | None = None
    try:
        plan = start(options, supervisor, stop.is_set)
        write_state(options.state_dir, plan.info)
        say(banner(options, plan.info, plan.notes))
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
        if plan is not None or supervisor.children:
            say("Stopping the local stack...")
        supervisor.stop_all()
        remove_state(options.state_dir, os.getpid())
        if plan is not None and plan.sam_env is not None:
            with contextlib.suppress(FileNotFoundError):
                (options.state_dir / "sam-env.json").unlink()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if plan is not None:
            say("Stopped: every process has exited and its port is free.")
    return code


def start(options: StackOptions, supervisor: Supervisor, interrupted: Callable[[], bool]) -> Plan:
    """Template, ports, moto, resources, then the processes that use them; returns the plan run."""
    blueprint = derive_blueprint(load_template(options.template_path))
    try:
        # ASSET_DELIVERY / SIGNED_URL_TTL_SECONDS from `make dev`'s environment.
        delivery = delivery_settings(os.environ)
    except ValueError as error:
        raise StackError(str(error)) from None
    _refuse_second_stack(options)
    listeners = _bind(options)
    urls = Urls.of(options, {role: sock.getsockname()[1] for role, sock in listeners.items()})
    base_env = base_environment(os.environ, region=options.region, endpoint_url=urls.moto)
    moto = supervisor.start(moto_launch(options, urls, base_env).spec(listeners))
    moto.wait_ready(START_TIMEOUT_SECONDS, interrupted)

    clients = MotoClients(urls.moto, options.region)
    timings = local_timings(blueprint, options.region, options.visibility)
    provisioned = provision(clients, blueprint, visibility_timeout=timings.visibility_timeout)
    password = options.demo_password or generate_password(blueprint.user_pool.password_policy)
    demo = DemoUser(options.demo_email, password)
    try:
        create_user(clients.cognito, provisioned.user_pool_id, demo.email, demo.password)
    except ClientError as error:
        raise StackError(f"the demo user could not be created: {error}") from error

    plan = plan_stack(options, blueprint, provisioned, urls, timings, demo, base_env, delivery)
    for launch in plan.children:
        supervisor.start(launch.spec(listeners))
    for child in supervisor.children:
        child.wait_ready(START_TIMEOUT_SECONDS, interrupted)
    plan.info.extra["processes"] = {child.name: child.pid for child in supervisor.children}
    if plan.sam_env is not None:
        sam_env_path = options.state_dir / "sam-env.json"
        options.state_dir.mkdir(parents=True, exist_ok=True)
        sam_env_path.write_text(json.dumps(plan.sam_env, indent=2) + "\n", encoding="utf-8")
    return plan


def _refuse_second_stack(options: StackOptions) -> None:
    try:
        running = read_state(options.state_dir)
    except StateFileError:
        return
    if running.pid and running.pid != os.getpid() and process_alive(running.pid):
        raise StackError(
            f"a local stack is already running (pid {running.pid}, page {running.pageUrl});"
            f" its state is in {options.state_dir / 'stack.json'}. Stop it first (Ctrl-C in"
            " its terminal), or run this one elsewhere with --free-ports --state-dir DIR."
        )


def _bind(options: StackOptions) -> dict[str, socket.socket]:
    wanted = [("moto", options.moto_address, options.moto_port)]
    wanted.append(("web", options.host, options.web_port))
    if not options.for_sam:
        wanted.append(("api", options.host, options.api_port))
    listeners: dict[str, socket.socket] = {}
    try:
        for role, host, port in wanted:
            listeners[role] = bind_listener(role, host, 0 if options.free_ports else port)
    except PortInUse as error:
        for sock in listeners.values():
            sock.close()
        raise StackError(
            f"{error}. Another program (or another local stack) is using it: stop it,"
            f" choose another port with --{error.role}-port N, or let the system pick with"
            " --free-ports."
        ) from error
    return listeners


def banner(options: StackOptions, info: StackInfo, notes: list[str]) -> str:
    """What the stack prints once everything is ready."""
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
            ("API docs", f"{info.docsUrl}   Swagger UI, served by the API itself (works offline)"),
            ("CDN", f"{info.cdnUrl}/<assetId>.<png|jpg>   {_delivery(info)}"),
            ("AWS (moto)", f"{info.awsEndpointUrl}   region {info.region}"),
        ]
    rows += [
        ("Sign in", f"{info.demoUser.email}   password: {info.demoUser.password}"),
        (
            "User pool",
            f"{info.userPoolId}   client {info.userPoolClientId} (USER_PASSWORD_AUTH)",
        ),
        ("Worker", str(info.extra["timings"])),
        ("State", str(options.state_dir / "stack.json")),
    ]
    width = max(len(name) for name, _ in rows)
    lines += [f"  {name:<{width}}  {value}" for name, value in rows]
    lines += [
        "",
        "  More users:  .venv/bin/python -m local_stack users add EMAIL",
        "  Try it:      .venv/bin/python -m local_stack upload path/to/image.png [more.jpg ...]"
        " [--title T] [--album NAME]",
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
    if notes:
        lines += ["", "Notes:"] + [f"  - {note}" for note in notes]
    lines.append("")
    return "\n".join(lines)


def _delivery(info: StackInfo) -> str:
    if info.extra.get("assetDelivery") == "public":
        return "(public URLs)"
    ttl = info.extra.get("signedUrlTtlSeconds")
    return f"(signed URLs, {ttl} s; ASSET_DELIVERY=public for plain ones)"
