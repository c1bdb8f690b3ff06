"""The one settings object: read from the environment, validated, with a clear message."""

from __future__ import annotations

import pytest

from assets.settings import ApiSettings, SettingsError, WorkerSettings, load_settings

REQUIRED = {
    "ASSETS_TABLE_NAME": "assets",
    "ASSET_BUCKET_NAME": "bucket",
    "ASSET_BASE_URL": "https://d123.cloudfront.net/assets/",
    "COGNITO_USER_POOL_ID": "eu-west-1_AbCdEf123",
    "COGNITO_CLIENT_ID": "client-a, client-b,,",
}


SIGNING_KEY = {
    "CLOUDFRONT_KEY_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:key-AbC123",
    "CLOUDFRONT_KEY_PAIR_ID": "K2JCJMDEHXQW5F",
}
"""What the default (`signed`) delivery needs besides REQUIRED."""


def _environment(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    for name, value in {**SIGNING_KEY, **values}.items():
        monkeypatch.setenv(name, value)


def test_api_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, **REQUIRED)
    settings = load_settings(ApiSettings)
    assert settings.COGNITO_CLIENT_ID == ("client-a", "client-b")
    assert settings.ASSET_BASE_URL == "https://d123.cloudfront.net/assets"
    assert (
        settings.cognito_issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
    )
    assert settings.jwks_url == settings.cognito_issuer + "/.well-known/jwks.json"
    assert (settings.MAX_UPLOAD_BYTES, settings.UPLOAD_FORM_TTL_SECONDS) == (10 * 1024 * 1024, 300)
    assert settings.MAX_PENDING_UPLOADS == 20
    assert settings.CORS_ALLOW_ORIGINS == ()


def test_overrides_and_jwks_url(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(
        monkeypatch,
        **REQUIRED,
        COGNITO_JWKS_URL="http://127.0.0.1:5000/pool/.well-known/jwks.json",
        MAX_UPLOAD_BYTES="2048",
        UPLOAD_FORM_TTL_SECONDS="120",
        MAX_PENDING_UPLOADS="3",
        CORS_ALLOW_ORIGINS="http://127.0.0.1:8000",
    )
    settings = load_settings(ApiSettings)
    assert settings.jwks_url == "http://127.0.0.1:5000/pool/.well-known/jwks.json"
    assert (settings.MAX_UPLOAD_BYTES, settings.UPLOAD_FORM_TTL_SECONDS) == (2048, 120)
    assert settings.MAX_PENDING_UPLOADS == 3
    assert settings.CORS_ALLOW_ORIGINS == ("http://127.0.0.1:8000",)


def test_the_worker_needs_no_cognito(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, ASSETS_TABLE_NAME="t", ASSET_BUCKET_NAME="b")
    settings = load_settings(WorkerSettings)
    assert settings.MAX_IMAGE_PIXELS == 40_000_000
    assert settings.PUBLISH_MODE == "sanitized"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAX_UPLOAD_BYTES", "0", "MAX_UPLOAD_BYTES"),
        ("MAX_UPLOAD_BYTES", "lots", "MAX_UPLOAD_BYTES"),
        ("UPLOAD_FORM_TTL_SECONDS", "86400", "UPLOAD_FORM_TTL_SECONDS"),
        ("COGNITO_USER_POOL_ID", "not a pool", "COGNITO_USER_POOL_ID"),
        ("COGNITO_CLIENT_ID", " , ", "COGNITO_CLIENT_ID"),
    ],
)
def test_invalid_values_are_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    _environment(monkeypatch, **{**REQUIRED, name: value})
    with pytest.raises(SettingsError, match=message):
        load_settings(ApiSettings)


def test_every_missing_variable_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in REQUIRED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(SettingsError) as raised:
        load_settings(ApiSettings)
    message = str(raised.value)
    for name in ("AWS_REGION", *REQUIRED):
        assert f"{name} is required" in message


def test_delivery_defaults_to_signed_urls_of_an_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, **REQUIRED)
    settings = load_settings(ApiSettings)
    assert settings.ASSET_DELIVERY == "signed"
    assert settings.SIGNED_URL_TTL_SECONDS == 3600
    assert settings.CLOUDFRONT_KEY_SECRET_ARN == SIGNING_KEY["CLOUDFRONT_KEY_SECRET_ARN"]
    assert settings.CDN_DISTRIBUTION_ID == "", "no CDN to invalidate unless one is named"


def test_signed_delivery_without_its_key_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _environment(monkeypatch, **REQUIRED, CLOUDFRONT_KEY_SECRET_ARN="", CLOUDFRONT_KEY_PAIR_ID="")
    with pytest.raises(SettingsError) as raised:
        load_settings(ApiSettings)
    assert str(raised.value) == (
        "ApiSettings: invalid environment: "
        "CLOUDFRONT_KEY_SECRET_ARN is required when ASSET_DELIVERY is signed; "
        "CLOUDFRONT_KEY_PAIR_ID is required when ASSET_DELIVERY is signed"
    )
    # Public delivery signs nothing, so it needs no key.
    monkeypatch.setenv("ASSET_DELIVERY", "public")
    assert load_settings(ApiSettings).ASSET_DELIVERY == "public"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ASSET_DELIVERY", "private"),
        ("SIGNED_URL_TTL_SECONDS", "0"),
        ("SIGNED_URL_TTL_SECONDS", "86401"),
    ],
)
def test_invalid_delivery_values_are_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    _environment(monkeypatch, **{**REQUIRED, name: value})
    with pytest.raises(SettingsError, match=name):
        load_settings(ApiSettings)
