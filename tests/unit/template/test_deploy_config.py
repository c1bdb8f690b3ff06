"""samconfig.toml and the preview workflow: what deploys, with which credentials, and how it ends."""

from __future__ import annotations

import re
import shlex
import tomllib
from typing import Any

import pytest
import yaml

from local_stack.template import TEMPLATE_PATH
from tests.unit.template.cfn import template

ROOT = TEMPLATE_PATH.parent
WORKFLOW = ROOT / ".github" / "workflows" / "preview.yml"


def _samconfig() -> dict[str, Any]:
    with (ROOT / "samconfig.toml").open("rb") as stream:
        return tomllib.load(stream)


def _overrides(table: dict[str, Any]) -> dict[str, str]:
    pairs = shlex.split(table["deploy"]["parameters"]["parameter_overrides"])
    return dict(pair.split("=", 1) for pair in pairs)


def _workflow() -> dict[str, Any]:
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    document: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    document["on"] = document.pop(True)
    return document


# --- samconfig -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "expected"),
    [("default", "preview"), ("preview", "preview"), ("production", "production")],
)
def test_each_config_env_deploys_a_complete_stack_for_its_environment(
    environment: str, expected: str
) -> None:
    # SAM does not fall back to [default] for a named environment: each must stand alone.
    table = _samconfig()[environment]
    assert table["global"]["parameters"]["stack_name"]
    deploy = table["deploy"]["parameters"]
    assert set(deploy["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}
    assert deploy["resolve_s3"] is True
    overrides = _overrides(table)
    assert overrides["Environment"] == expected
    parameters = template()["Parameters"]
    assert set(overrides) <= set(parameters)
    assert re.fullmatch(parameters["StageName"]["AllowedPattern"], overrides["StageName"])
    assert table["validate"]["parameters"]["lint"] is True


def test_production_changes_are_always_reviewed_and_named_apart() -> None:
    config = _samconfig()
    assert config["production"]["deploy"]["parameters"]["confirm_changeset"] is True
    names = {
        config[env]["global"]["parameters"]["stack_name"] for env in config if env != "version"
    }
    assert len(names) == 3
    stages = {_overrides(config[env])["StageName"] for env in ("default", "preview", "production")}
    assert len(stages) == 3, "stage names key the bucket and sign-in domain: never shared"


# --- workflow --------------------------------------------------------------------------------


def test_the_workflow_runs_per_pull_request_and_never_for_forks() -> None:
    workflow = _workflow()
    assert workflow["on"] == {
        "pull_request": {"types": ["opened", "synchronize", "reopened", "closed"]}
    }
    assert workflow["permissions"] == {}, "no token scope unless a job asks"
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert "pull_request.number" in workflow["concurrency"]["group"]
    for job in workflow["jobs"].values():
        assert "head.repo.full_name == github.repository" in job["if"]
    assert "pull_request_target" not in WORKFLOW.read_text(encoding="utf-8")


def test_aws_access_is_oidc_from_a_variable_never_a_stored_key() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "secrets." not in text
    assert "aws-access-key-id" not in text
    for name, job in _workflow()["jobs"].items():
        assert job["permissions"]["id-token"] == "write", name
        assert job["permissions"]["contents"] == "read", name
        (credentials,) = [
            s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")
        ]
        assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"


def test_every_action_is_pinned() -> None:
    for job in _workflow()["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+|[0-9a-f]{40})", step["uses"]), step
            if step.get("uses", "").startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False


def test_the_preview_is_built_deployed_published_and_commented() -> None:
    steps = _workflow()["jobs"]["deploy"]["steps"]
    commands = "\n".join(step.get("run", "") for step in steps)
    assert re.search(r"sam build --config-env preview", commands)
    deploy = re.search(
        r"sam deploy --config-env preview(.|\n)*?--no-fail-on-empty-changeset", commands
    )
    assert deploy
    assert '--parameter-overrides "Environment=preview StageName=$STAGE_NAME"' in deploy[0]
    assert _workflow()["env"]["STAGE_NAME"] == "pr-${{ github.event.pull_request.number }}"
    assert "deploy/publish_site.py --stack-name" in commands
    assert any("github-script" in step.get("uses", "") for step in steps)
    assert _workflow()["jobs"]["deploy"]["permissions"]["pull-requests"] == "write"


def test_a_closed_pull_request_empties_then_deletes_its_stack() -> None:
    steps = _workflow()["jobs"]["destroy"]["steps"]
    runs = [step.get("run", "") for step in steps]
    empty = next(i for i, run in enumerate(runs) if "deploy/empty_buckets.py" in run)
    delete = next(i for i, run in enumerate(runs) if "sam delete" in run)
    assert empty < delete
    assert "--no-prompts" in runs[delete]
    assert steps[delete]["if"] == "steps.empty.outputs.stack-exists == 'true'"
    assert _workflow()["jobs"]["destroy"]["if"].startswith("github.event.action == 'closed'")


def test_every_file_the_workflow_names_exists() -> None:
    # A cache key or script path that does not exist fails the job only on GitHub.
    text = WORKFLOW.read_text(encoding="utf-8")
    named = set(re.findall(r"\b(?:deploy|scripts|site|src)/[\w./-]+", text))
    assert named, "the workflow runs the repository's own scripts"
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, f"the workflow names missing files: {missing}"
