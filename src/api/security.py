"""Cognito JWT verification: what python-jose checks, and what it leaves to the caller.

python-jose verifies the signature, the algorithm allow-list, `iss` and `exp`; it does not know
Cognito's `token_use`, does not check `client_id` (access tokens have no `aud`), accepts an `exp`
given as a numeric string and crashes on a null one. The checks below close those gaps.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from jose import jwk, jwt
from jose.backends.base import Key

ALGORITHM = "RS256"
JWKS_TIMEOUT_SECONDS = 3.0
MIN_REFETCH_INTERVAL_SECONDS = 10.0
MAX_TOKEN_LENGTH = 16 * 1024
VERIFIED_CACHE_SIZE = 512


class TokenRejected(Exception):
    """The bearer token is not acceptable; the message is safe to log, never the token."""


class KeysUnavailable(Exception):
    """The user pool's JWKS could not be fetched and no keys are cached: nothing can be verified."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: `sub` owns the assets it creates."""

    sub: str
    token_use: Literal["id", "access"]
    client_id: str


class JwksCache:
    """The pool's signing keys, fetched once per process; an unknown `kid` refetches at most every 10 s."""

    def __init__(
        self,
        url: str,
        http: httpx.Client | None = None,
        *,
        min_refetch_interval: float = MIN_REFETCH_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._http = http
        self._min_interval = min_refetch_interval
        self._clock = clock
        self._keys: dict[str, Key] = {}
        self._last_fetch: float | None = None
        self._lock = threading.Lock()
        self.fetch_count = 0

    def key_for(self, kid: str) -> Key | None:
        """The verification key for `kid`, refetching the JWKS if the rate limit allows."""
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            key = self._keys.get(kid)
            if key is not None:
                return key
            now = self._clock()
            if self._last_fetch is not None and now - self._last_fetch < self._min_interval:
                if not self._keys:
                    raise KeysUnavailable("the user pool's signing keys are unavailable")
                return None
            self._last_fetch = now
            self._refresh()
            return self._keys.get(kid)

    def _refresh(self) -> None:
        self.fetch_count += 1
        try:
            if self._http is None:
                self._http = httpx.Client(timeout=JWKS_TIMEOUT_SECONDS)
            response = self._http.get(self._url, timeout=JWKS_TIMEOUT_SECONDS)
            response.raise_for_status()
            keys = _parse_jwks(response.json())
        except (httpx.HTTPError, ValueError) as error:
            if not self._keys:
                raise KeysUnavailable(f"cannot fetch the JWKS: {error}") from error
            return  # keep serving the keys we have; the pool rotates keys slowly
        self._keys = keys


def _parse_jwks(document: Any) -> dict[str, Key]:
    """RSA signing keys by `kid`; anything else in the set is ignored."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK set")
    keys: dict[str, Key] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        if (
            not isinstance(kid, str)
            or entry.get("kty") != "RSA"
            or entry.get("use", "sig") != "sig"
            or entry.get("alg", ALGORITHM) != ALGORITHM
        ):
            continue
        try:
            keys[kid] = jwk.construct(entry, ALGORITHM)
        except Exception:  # noqa: BLE001, S112 - one malformed key must not hide the others
            continue
    return keys


class CognitoTokenVerifier:
    """Verifies Cognito ID and access tokens for one user pool and a set of app clients."""

    def __init__(
        self,
        *,
        issuer: str,
        client_ids: Collection[str],
        jwks: JwksCache,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuer = issuer
        self._client_ids = frozenset(client_ids)
        self._jwks = jwks
        self._clock = clock
        # A token that passed every check stays valid until its `exp`: the same string seen again
        # (a page polling its status) skips the RSA verification, never the expiry check.
        self._verified: OrderedDict[str, tuple[Principal, int]] = OrderedDict()
        self._verified_lock = threading.Lock()

    @property
    def jwks(self) -> JwksCache:
        return self._jwks

    def verify(self, token: str) -> Principal:
        """The caller a token proves, or TokenRejected; KeysUnavailable if no key can be had."""
        cached = self._verified.get(token)
        if cached is not None:
            principal, exp = cached
            if exp > self._clock():
                return principal
        principal, exp = self._verify(token)
        with self._verified_lock:
            self._verified[token] = (principal, exp)
            if len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, int]:
        if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise TokenRejected("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except Exception as error:
            raise TokenRejected("malformed token header") from error
        if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
            raise TokenRejected("token algorithm must be RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("token has no key id")
        key = self._jwks.key_for(kid)
        if key is None:
            raise TokenRejected("token signed by an unknown key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                options={
                    "verify_aud": False,  # checked below: `aud` for ID, `client_id` for access
                    "verify_at_hash": False,  # hosted-UI ID tokens are used without the access token
                    "require_exp": True,
                    "leeway": 0,
                },
            )
        except Exception as error:
            raise TokenRejected("token failed verification") from error
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> tuple[Principal, int]:
        exp = claims.get("exp")
        if type(exp) is not int or exp <= self._clock():
            raise TokenRejected("token expiry is missing, malformed or past")
        if claims.get("iss") != self._issuer:
            raise TokenRejected("token issuer mismatch")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenRejected("token has no subject")
        token_use = claims.get("token_use")
        if token_use == "id":  # noqa: S105 - a claim value, not a secret
            client_id = claims.get("aud")
        elif token_use == "access":  # noqa: S105
            client_id = claims.get("client_id")
        else:
            raise TokenRejected("token_use must be id or access")
        if not isinstance(client_id, str) or client_id not in self._client_ids:
            raise TokenRejected("token issued for another client")
        return Principal(sub=sub, token_use=token_use, client_id=client_id), exp
