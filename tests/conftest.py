"""Fixtures every test shares: fake AWS credentials and no way to reach real AWS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}
_UNSET = ("AWS_PROFILE", "AWS_ENDPOINT_URL")


@pytest.fixture(autouse=True, scope="session")
def _fake_aws_credentials() -> Iterator[None]:
    """No test may use a developer's real credentials, profile or endpoint."""
    with pytest.MonkeyPatch.context() as patch:
        for name in _UNSET:
            patch.delenv(name, raising=False)
        for name, value in AWS_TEST_ENV.items():
            patch.setenv(name, value)
        yield
