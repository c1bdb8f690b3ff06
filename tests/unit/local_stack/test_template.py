"""The one template reader: cfn-lint's decoder and SAM's own `Globals` rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local_stack.template import TemplateError, function_properties, load_template

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 10
    Architectures: [arm64]
    Layers: [!Ref SharedLayer]
    Environment:
      Variables:
        SHARED: from-globals
        OVERRIDDEN: from-globals
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Architectures: [x86_64]
      Layers: [!GetAtt Other.Arn]
      Environment:
        Variables:
          OVERRIDDEN: from-function
"""


@pytest.fixture
def template(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    return load_template(path)


def test_globals_merge_as_sam_merges_them(template: dict[str, Any]) -> None:
    merged = function_properties(template, "Fn")
    assert merged["Timeout"] == 10
    # Maps merge, the function's keys winning; lists add up ...
    assert merged["Environment"]["Variables"] == {
        "SHARED": "from-globals",
        "OVERRIDDEN": "from-function",
    }
    assert merged["Layers"] == [{"Ref": "SharedLayer"}, {"Fn::GetAtt": ["Other", "Arn"]}]
    # ... except where SAM says otherwise: a function's Architectures replace the Globals'.
    assert merged["Architectures"] == ["x86_64"]


def test_an_unreadable_template_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("Resources:\n  A: {Type: x\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"broken\.yaml is not a readable"):
        load_template(path)
    with pytest.raises(TemplateError, match=r"nope\.yaml does not exist"):
        load_template(tmp_path / "nope.yaml")
