"""The start-up plan, without a process: options, blueprint and resources in; children out."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from local_stack.blueprint import Blueprint, derive_blueprint
from local_stack.environment import local_timings
from local_stack.options import StackOptions
from local_stack.plan import ChildConfig, Plan, Urls, WorkerConfig, plan_stack
from local_stack.state import DemoUser
from local_stack.template import load_template
from tests.unit.local_stack.test_environment import PROVISIONED

FIXTURE = Path(__file__).parent / "data" / "template.yaml"
PORTS = {"moto": 9702, "web": 9700, "api": 9701}


@pytest.fixture(scope="module")
def blueprint() -> Blueprint:
    return derive_blueprint(load_template(FIXTURE))


def plan(blueprint: Blueprint, **options: object) -> Plan:
    chosen = StackOptions(**options)  # type: ignore[arg-type]
    timings = local_timings(blueprint, chosen.region, chosen.visibility)
    demo = DemoUser("demo@example.com", "pw")
    return plan_stack(
        chosen, blueprint, PROVISIONED, Urls.of(chosen, PORTS), timings, demo, {"PATH": "/bin"}
    )


def test_the_full_stack_plans_worker_api_and_web_with_the_pages_origins(
    blueprint: Blueprint,
) -> None:
    planned = plan(blueprint, worker_concurrency=3)
    assert [(c.name, c.listener) for c in planned.children] == [
        ("worker", None),
        ("api", "api"),
        ("web", "web"),
    ]
    worker, api, web = (child.config for child in planned.children)
    assert isinstance(worker, WorkerConfig)
    assert (worker.source.batch_size, worker.function.timeout_seconds, worker.concurrency) == (
        5,
        5,
        3,
    )
    pages = ["http://127.0.0.1:9700", "http://localhost:9700"]
    assert api.allowed_origins == web.allowed_origins == pages
    assert planned.children[1].env["CORS_ALLOW_ORIGINS"] == ",".join(pages)
    assert planned.children[0].env["LEASE_SECONDS"] == "20"
    assert planned.info.apiUrl == "http://127.0.0.1:9701"
    assert planned.sam_env is None


def test_sam_mode_plans_no_api_and_an_env_file_for_containers(blueprint: Blueprint) -> None:
    planned = plan(blueprint, for_sam=True)
    assert [child.name for child in planned.children] == ["worker", "web"]
    assert planned.sam_env is not None
    assert planned.sam_env["ApiFunction"]["AWS_ENDPOINT_URL"] == "http://host.docker.internal:9702"
    assert "LEASE_SECONDS" not in planned.sam_env["WorkerFunction"]
    assert planned.info.extra["motoBind"] == "0.0.0.0"  # noqa: S104 - what SAM mode binds


def test_each_child_reads_back_the_configuration_it_is_given(blueprint: Blueprint) -> None:
    for child in plan(blueprint).children:
        spec = child.spec({}) if child.listener is None else None
        if spec is None:
            continue
        assert TypeAdapter(ChildConfig).validate_json(spec.argv[-1]) == child.config


def test_the_cli_flags_are_the_options_fields() -> None:
    parser = argparse.ArgumentParser()
    StackOptions.add_arguments(parser)
    arguments = parser.parse_args(
        ["--web-port", "1", "--free-ports", "--template", "t.yaml", "--worker-concurrency", "4"]
    )
    options = StackOptions.from_arguments(arguments)
    assert (options.web_port, options.free_ports, options.template_path) == (
        1,
        True,
        Path("t.yaml"),
    )
    assert options.worker_concurrency == 4
    assert options.visibility == 30
    with pytest.raises(SystemExit):
        parser.parse_args(["--visibility-timeout", "20", "--template-timings"])
    with pytest.raises(ValidationError, match="at least 1"):
        StackOptions(worker_concurrency=0)
