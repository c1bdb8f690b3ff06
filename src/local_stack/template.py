"""Reading `template.yaml`: cfn-lint's decoder for the YAML, SAM's own rule for `Globals`.

The local stack and the template tests read the template through this module only, so they
cannot disagree on what a function's properties are.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"
SERVERLESS_FUNCTION = "AWS::Serverless::Function"


class TemplateError(ValueError):
    """The template lacks, or hides behind an intrinsic, a property the local stack derives."""


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain data, short-form tags (`!Ref`, `!GetAtt a.b`) in their long forms."""
    from cfnlint.decode import decode  # a second's import: only when a template is read

    if not path.exists():
        raise TemplateError(f"{path} does not exist; the local stack builds what it declares")
    document, problems = decode(str(path))
    if problems or not isinstance(document, dict):
        found = "; ".join(str(problem) for problem in problems) or "not a mapping"
        raise TemplateError(f"{path} is not a readable CloudFormation template: {found}")
    # A JSON round trip drops cfn-lint's position-carrying node classes: plain dicts and lists.
    plain: dict[str, Any] = json.loads(json.dumps(document))
    return plain


def function_properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """A SAM function's properties with `Globals.Function` applied as `sam build` applies it.

    SAM's translator does the merge: maps merge (the function's keys win), lists add up, except
    where SAM says otherwise (`Architectures` is replaced, not added to).
    """
    from samtranslator.model.exceptions import ExceptionWithMessage
    from samtranslator.plugins.globals.globals import Globals

    resource = template.get("Resources", {}).get(logical_id)
    if not isinstance(resource, dict) or resource.get("Type") != SERVERLESS_FUNCTION:
        raise TemplateError(f"template.yaml has no resource {logical_id} ({SERVERLESS_FUNCTION})")
    local = copy.deepcopy(resource.get("Properties", {}))
    try:
        merged: dict[str, Any] = Globals(copy.deepcopy(template)).merge(
            SERVERLESS_FUNCTION, local, logical_id, resource.get("IgnoreGlobals")
        )
    except ExceptionWithMessage as error:
        raise TemplateError(f"template.yaml Globals: {error.message}") from error
    return merged
