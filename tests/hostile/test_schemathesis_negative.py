"""Requests that break the app's own OpenAPI document (schemathesis' negative mode), with a token.

Whatever is wrong with them, the answer is never a 5xx, and it is one of the documented responses
with the documented body. The positive half (`tests/unit/api/test_schemathesis.py`) sends valid
requests; this one sends what the schema forbids: wrong types, missing or extra fields, values
outside their patterns and bounds, in the body, the query, the path and the headers.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection

from tests.hostile.conftest import Api

# Unknown query parameters and headers are ignored, as HTTP APIs do, so a request that differs
# from the schema only by one is rightly answered as the valid request it contains.
EXCLUDED_CHECKS = [negative_data_rejection]

# `/health` has nothing a request could get wrong.
OPERATIONS = [
    ("POST", "/assets"),
    ("GET", "/assets"),
    ("GET", "/assets/{assetId}"),
    ("PATCH", "/assets/{assetId}"),
    ("DELETE", "/assets/{assetId}"),
    ("POST", "/albums"),
    ("GET", "/albums"),
    ("GET", "/albums/{albumId}"),
    ("PATCH", "/albums/{albumId}"),
    ("DELETE", "/albums/{albumId}"),
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_schema_violating_requests_are_answered_as_documented(
    api: Api, method: str, path: str
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operation = schema[path][method]
    statuses: Counter[int] = Counter()
    before = api.stored()

    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        derandomize=True,  # the same requests on every run: CI never flakes on a new one
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case: Any) -> None:
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {api.token}"}, excluded_checks=EXCLUDED_CHECKS
        )
        statuses[response.status_code] += 1

    check()

    assert sum(statuses.values()) > 0, "no request was generated"
    assert all(status < 500 for status in statuses), statuses
    assert any(400 <= status < 500 for status in statuses), statuses
    if method != "POST":
        assert api.stored() == before, "a refused request wrote something"
