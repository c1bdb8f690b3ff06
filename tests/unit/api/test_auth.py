"""Every way a bearer token can be wrong is a 401 with a JSON body; the right ones pass."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jose import jws
from jose.utils import base64url_encode

from api.logs import logger
from api.security import CognitoTokenVerifier, JwksCache, KeysUnavailable, TokenRejected
from assets.aws import AwsClients
from testbed.tokens import (
    DROP,
    TokenForge,
    foreign_private_pem,
    moto_private_jwk,
    moto_public_jwks,
)
from tests.unit.api.conftest import (
    JwksServer,
    Pool,
    Resources,
    User,
    build_app,
    make_settings,
    sign_in,
)


def _segment(data: dict[str, Any]) -> str:
    return base64url_encode(json.dumps(data).encode()).decode()


def _assert_unauthorized(response: Any, *, token_given: bool = True) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    if token_given:
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    body = response.json()
    assert body["code"] == "unauthorized"
    assert isinstance(body["error"], str)
    assert body["error"]


def _alg_none(forge: TokenForge) -> str:
    return f"{_segment({'alg': 'none', 'kid': 'dummy'})}.{_segment(forge.claims())}."


def _hs256_with_public_key(forge: TokenForge) -> str:
    """The classic key-confusion attack: HMAC keyed with the RSA public key."""
    public = moto_public_jwks()["keys"][0]
    secret = json.dumps(public).encode()
    signing_input = f"{_segment({'alg': 'HS256', 'kid': 'dummy'})}.{_segment(forge.claims())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64url_encode(signature).decode()}"


def _tampered(forge: TokenForge) -> str:
    header, _, signature = forge.sign(forge.claims()).split(".")
    payload = _segment(forge.claims(sub="someone-else"))
    return f"{header}.{payload}.{signature}"


def _with_stray_character(forge: TokenForge) -> str:
    """A valid token with a character outside base64url in its payload (a lenient decoder skips it)."""
    header, payload, signature = forge.sign(forge.claims()).split(".")
    return f"{header}.{payload[:10]}*{payload[10:]}.{signature}"


def _signed_payload(forge: TokenForge, payload: bytes) -> str:
    """A correctly signed JWS whose payload is not a claims object."""
    token: str = jws.sign(payload, moto_private_jwk(), headers={"kid": "dummy"}, algorithm="RS256")
    return token


INVALID_TOKENS: dict[str, Callable[[TokenForge], str]] = {
    "garbage": lambda forge: "not-a-token",
    "two parts": lambda forge: "abc.def",
    "four parts": lambda forge: "a.b.c.d",
    "three empty parts": lambda forge: "..",
    "header not json": lambda forge: "e30x.e30.e30",
    "alg none": _alg_none,
    "HS256 signed with the public key": _hs256_with_public_key,
    "RS256 with a key not in the JWKS": lambda forge: forge.sign(
        forge.claims(), key=foreign_private_pem()
    ),
    "unknown kid": lambda forge: forge.sign(
        forge.claims(), key=foreign_private_pem(), headers={"kid": "rotated-away"}
    ),
    "missing kid": lambda forge: forge.sign(forge.claims(), headers={}),
    "kid not a string": lambda forge: forge.sign(forge.claims(), headers={"kid": 7}),
    "expired": lambda forge: forge.sign(forge.claims(exp=int(time.time()) - 5)),
    "no exp": lambda forge: forge.sign(forge.claims(exp=DROP)),
    "exp as a string": lambda forge: forge.sign(forge.claims(exp=str(int(time.time()) + 600))),
    "exp null": lambda forge: forge.sign(forge.claims(exp=None)),
    "exp a float": lambda forge: forge.sign(forge.claims(exp=time.time() + 600.5)),
    "wrong issuer": lambda forge: forge.sign(
        forge.claims(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other")
    ),
    "no issuer": lambda forge: forge.sign(forge.claims(iss=DROP)),
    "ID token for another client": lambda forge: forge.sign(forge.claims(aud="another-client")),
    "ID token with aud as a list": lambda forge: forge.sign(forge.claims(aud=[forge.client_id])),
    "access token for another client": lambda forge: forge.sign(
        forge.claims("access", client_id="another-client")
    ),
    "access token carrying only aud": lambda forge: forge.sign(
        forge.claims("access", client_id=DROP, aud=forge.client_id)
    ),
    "token_use refresh": lambda forge: forge.sign(forge.claims("refresh", aud=forge.client_id)),
    "no token_use": lambda forge: forge.sign(forge.claims(token_use=DROP)),
    "no sub": lambda forge: forge.sign(forge.claims(sub=DROP)),
    "sub not a string": lambda forge: forge.sign(forge.claims(sub=42)),
    "tampered payload": _tampered,
    "iat far in the future": lambda forge: forge.sign(
        forge.claims(iat=int(time.time()) + 10 * 365 * 86400, exp=int(time.time()) + 3600)
    ),
    "iat beyond the leeway": lambda forge: forge.sign(forge.claims(iat=int(time.time()) + 120)),
    "exp of 10**30": lambda forge: forge.sign(forge.claims(exp=10**30)),
    "lifetime a second over 24 h": lambda forge: forge.sign(
        forge.claims(iat=int(time.time()), exp=int(time.time()) + 86401)
    ),
    "no iat": lambda forge: forge.sign(forge.claims(iat=DROP)),
    "iat a float": lambda forge: forge.sign(forge.claims(iat=time.time())),
    "iat a string": lambda forge: forge.sign(forge.claims(iat=str(int(time.time())))),
    "exp before iat": lambda forge: forge.sign(
        forge.claims(iat=int(time.time()) + 20, exp=int(time.time()) + 10)
    ),
    "nbf in the future": lambda forge: forge.sign(forge.claims(nbf=int(time.time()) + 600)),
    "jti not a string": lambda forge: forge.sign(forge.claims(jti=7)),
    "signature truncated": lambda forge: forge.sign(forge.claims())[:-8],
    "signature not base64url": lambda forge: forge.sign(forge.claims())[:-4] + "!!!!",
    "payload with a stray character": lambda forge: _with_stray_character(forge),
    "payload not a JSON object": lambda forge: _signed_payload(forge, b"[1, 2]"),
    "header not a JSON object": lambda forge: "W10." + forge.sign(forge.claims()).split(".", 1)[1],
}


@pytest.mark.parametrize("case", INVALID_TOKENS)
def test_invalid_token_is_401(client: TestClient, forge: TokenForge, case: str) -> None:
    # GIVEN a token that is wrong in exactly one way
    token = INVALID_TOKENS[case](forge)
    # WHEN it is presented on every authenticated route
    for method, path in (
        ("GET", "/assets"),
        ("POST", "/assets"),
        ("GET", "/assets/307d0b55-05d1-4c0f-a0fb-4c3e1083e3df"),
        ("DELETE", "/assets/307d0b55-05d1-4c0f-a0fb-4c3e1083e3df"),
    ):
        response = client.request(
            method,
            path,
            headers={"Authorization": f"Bearer {token}"},
            json={"contentType": "image/png"} if method == "POST" else None,
        )
        # THEN the answer is 401 with a JSON body, never a 500
        _assert_unauthorized(response)


@pytest.mark.parametrize(
    "header", [None, "", "Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer ", "bearer"]
)
def test_missing_or_non_bearer_authorization_is_401(client: TestClient, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.get("/assets", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "unauthorized"


def test_moto_issued_id_and_access_tokens_pass(client: TestClient, alice: User) -> None:
    for kind in ("id", "access"):
        response = client.get("/assets", headers=alice.auth(kind))
        assert response.status_code == 200, response.text
        assert response.json() == {"assets": []}


def test_hosted_ui_id_token_with_at_hash_is_accepted_alone(
    client: TestClient, forge: TokenForge
) -> None:
    token = forge.sign(forge.claims(at_hash="pH8-4Zs5Jr2dQ_ilD5I6Gw"))
    response = client.get("/assets", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


def test_token_times_within_what_cognito_issues_pass(client: TestClient, forge: TokenForge) -> None:
    now = int(time.time())
    for claims in (
        forge.claims(iat=now + 25, exp=now + 3600),  # clock skew inside the leeway
        forge.claims(iat=now, exp=now + 86400),  # the longest lifetime Cognito issues
        forge.claims(iat=now - 3000, exp=now + 600, nbf=now - 3000, jti="a-token-id"),
    ):
        response = client.get("/assets", headers={"Authorization": f"Bearer {forge.sign(claims)}"})
        assert response.status_code == 200, (claims, response.text)


def test_every_configured_client_is_accepted(
    pool: Pool, aws: Resources, jwks_server: JwksServer, clients: AwsClients
) -> None:
    settings = make_settings(
        pool, aws, COGNITO_CLIENT_ID=f" {pool.client_id} , {pool.other_client_id}"
    )
    assert settings.COGNITO_CLIENT_ID == (pool.client_id, pool.other_client_id)
    with TestClient(build_app(settings, jwks_server, clients)) as client:
        for client_id in (pool.client_id, pool.other_client_id):
            user = sign_in(pool, "carol@example.test", client_id)
            for kind in ("id", "access"):
                assert client.get("/assets", headers=user.auth(kind)).status_code == 200


def test_the_jwks_is_fetched_once_per_process(
    client: TestClient, alice: User, bob: User, jwks_server: JwksServer
) -> None:
    for _ in range(5):
        assert client.get("/assets", headers=alice.auth()).status_code == 200
        assert client.get("/assets", headers=bob.auth("access")).status_code == 200
    assert jwks_server.fetches == 1


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _verifier(forge: TokenForge, server: JwksServer, clock: _Clock) -> CognitoTokenVerifier:
    import httpx

    http = httpx.Client(transport=httpx.MockTransport(server.handle))
    return CognitoTokenVerifier(
        issuer=forge.issuer,
        client_ids=[forge.client_id],
        jwks=JwksCache("https://jwks.example.test/jwks.json", http=http, clock=clock),
    )


def test_unknown_kid_refetches_at_most_once_per_10_seconds(forge: TokenForge) -> None:
    server, clock = JwksServer(), _Clock()
    verifier = _verifier(forge, server, clock)
    assert verifier.verify(forge.sign(forge.claims())).sub
    assert server.fetches == 1
    stranger = forge.sign(forge.claims(), key=foreign_private_pem(), headers={"kid": "new-key"})
    # an unknown kid right after a fetch: no second fetch within 10 s
    for _ in range(20):
        with pytest.raises(TokenRejected):
            verifier.verify(stranger)
    assert server.fetches == 1
    clock.now += 10.5
    with pytest.raises(TokenRejected):
        verifier.verify(stranger)
    with pytest.raises(TokenRejected):
        verifier.verify(stranger)
    assert server.fetches == 2


def test_a_rotated_key_is_picked_up_by_the_refetch(forge: TokenForge) -> None:
    # GIVEN the pool publishes a new key after our first fetch
    server, clock = JwksServer(), _Clock()
    verifier = _verifier(forge, server, clock)
    verifier.verify(forge.sign(forge.claims()))
    new_key = dict(moto_public_jwks()["keys"][0], kid="rotated")
    server.document = {"keys": [*moto_public_jwks()["keys"], new_key]}
    clock.now += 11
    # WHEN a token signed under the new kid arrives THEN one refetch finds it
    token = forge.sign(forge.claims(), headers={"kid": "rotated"})
    assert verifier.verify(token).token_use == "id"
    assert server.fetches == 2


def test_jwks_unreachable_is_503_not_401(
    client: TestClient, alice: User, jwks_server: JwksServer
) -> None:
    jwks_server.fail = True
    response = client.get("/assets", headers=alice.auth())
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"


def test_jwks_url_never_comes_from_the_token(forge: TokenForge) -> None:
    server, clock = JwksServer(), _Clock()
    verifier = _verifier(forge, server, clock)
    token = forge.sign(
        forge.claims(),
        key=foreign_private_pem(),
        headers={"kid": "x", "jku": "https://evil.example/jwks.json"},
    )
    with pytest.raises(TokenRejected):
        verifier.verify(token)
    assert server.fetches == 1  # only our URL, once


def test_malformed_jwks_document_means_keys_unavailable(forge: TokenForge) -> None:
    server, clock = JwksServer(document={"not": "a jwks"}), _Clock()
    with pytest.raises(KeysUnavailable):
        _verifier(forge, server, clock).verify(forge.sign(forge.claims()))


def test_one_log_line_per_request_and_never_the_token(
    client: TestClient, alice: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="asset-api")
    client.get("/assets", headers=alice.auth())
    client.get("/assets", headers={"Authorization": "Bearer " + alice.id_token[:-4] + "AAAA"})
    lines = [logger.registered_formatter.format(record) for record in caplog.records]
    requests = [json.loads(line) for line in lines if '"message":"request"' in line]
    assert [(entry["route"], entry["status"]) for entry in requests] == [
        ("/assets", 200),
        ("/assets", 401),
    ]
    assert all(entry["requestId"] for entry in requests)
    everything = "\n".join(lines)
    assert alice.id_token not in everything
    assert alice.id_token.split(".")[2] not in everything


def test_a_remembered_token_is_still_refused_once_expired(forge: TokenForge) -> None:
    # GIVEN a token verified once (and remembered so a polling page is not re-verified each time)
    server = JwksServer()
    now = [time.time()]
    import httpx

    verifier = CognitoTokenVerifier(
        issuer=forge.issuer,
        client_ids=[forge.client_id],
        jwks=JwksCache(
            "https://jwks.example.test/jwks.json",
            http=httpx.Client(transport=httpx.MockTransport(server.handle)),
        ),
        clock=lambda: now[0],
    )
    token = forge.sign(forge.claims(exp=int(now[0]) + 60))
    assert verifier.verify(token).token_use == "id"
    assert verifier.verify(token).token_use == "id"
    # WHEN its exp passes THEN it is refused, remembered or not
    now[0] += 61
    with pytest.raises(TokenRejected):
        verifier.verify(token)


def test_only_tokens_that_passed_are_remembered(forge: TokenForge) -> None:
    server, clock = JwksServer(), _Clock()
    verifier = _verifier(forge, server, clock)
    bad = forge.sign(forge.claims(aud="another-client"))
    for _ in range(3):
        with pytest.raises(TokenRejected):
            verifier.verify(bad)


# --- keys the pool withdraws (issue 15, finding 6) --------------------------------------------


def _rotated_only() -> dict[str, Any]:
    """The pool's JWKS once it has rotated: a new key, and moto's `dummy` key withdrawn."""
    return {"keys": [dict(moto_public_jwks()["keys"][0], kid="rotated")]}


def test_a_withdrawn_key_stops_being_trusted_within_the_hour(forge: TokenForge) -> None:
    # GIVEN a warm process that verified (and remembered) a token signed by `dummy`
    server, clock = JwksServer(), _Clock()
    verifier = _verifier(forge, server, clock)
    remembered = forge.sign(forge.claims(exp=int(time.time()) + 7200))
    assert verifier.verify(remembered).sub
    # WHEN the pool withdraws `dummy`, and an hour passes with requests coming in
    server.document = _rotated_only()
    clock.now += 3599
    assert verifier.verify(remembered).sub  # inside the hour: the keys it has
    assert server.fetches == 1
    clock.now += 2
    # THEN the remembered token and new tokens under `dummy` are refused, after one refetch
    with pytest.raises(TokenRejected):
        verifier.verify(remembered)
    with pytest.raises(TokenRejected):
        verifier.verify(forge.sign(forge.claims(jti="new")))
    assert verifier.verify(forge.sign(forge.claims(), headers={"kid": "rotated"})).sub
    assert server.fetches == 2


def test_remembered_verifications_do_not_survive_a_refetch_that_drops_their_key(
    forge: TokenForge,
) -> None:
    # GIVEN a remembered token under `dummy`
    server, clock = JwksServer(), _Clock()
    verifier = _verifier(forge, server, clock)
    remembered = forge.sign(forge.claims())
    assert verifier.verify(remembered).sub
    # WHEN a token under a new kid makes the cache refetch, and `dummy` is gone from the set
    server.document = _rotated_only()
    clock.now += 11
    assert verifier.verify(forge.sign(forge.claims(), headers={"kid": "rotated"})).sub
    assert server.fetches == 2
    # THEN the remembered token is refused at once, without waiting for the hourly refresh
    with pytest.raises(TokenRejected):
        verifier.verify(remembered)


def test_the_hourly_refresh_fetches_once_and_keeps_the_keys_when_the_pool_is_unreachable(
    forge: TokenForge,
) -> None:
    server, clock = JwksServer(), _Clock()
    verifier = _verifier(forge, server, clock)
    token = forge.sign(forge.claims())
    assert verifier.verify(token).sub
    # many requests inside the hour: no refetch
    for _ in range(50):
        clock.now += 60
        verifier.verify(token)
    assert server.fetches == 1
    # past the hour, with the pool's endpoint failing: one attempt, the keys it had still serve
    server.fail = True
    clock.now += 600
    for _ in range(20):
        assert verifier.verify(forge.sign(forge.claims(jti="fresh"))).sub
    assert server.fetches == 2
    # the next attempt waits for the refetch limit (10 s), then the restored endpoint is read
    server.fail = False
    clock.now += 5
    verifier.verify(token)
    assert server.fetches == 2
    clock.now += 6
    verifier.verify(token)
    assert server.fetches == 3
    # and the schedule starts again from that fetch
    clock.now += 3000
    verifier.verify(token)
    assert server.fetches == 3


def test_renewing_forgets_remembered_tokens_and_refetches_on_the_next_request(
    forge: TokenForge,
) -> None:
    # GIVEN a verifier as a SnapStart snapshot holds it: keys fetched, a token remembered
    server, clock = JwksServer(), _Clock()
    verifier = _verifier(forge, server, clock)
    token = forge.sign(forge.claims())
    verifier.verify(token)
    server.document = _rotated_only()
    # WHEN it is renewed (the restore hook) THEN the next request refetches, whatever the clock
    verifier.renew()
    with pytest.raises(TokenRejected):
        verifier.verify(token)
    assert server.fetches == 2
