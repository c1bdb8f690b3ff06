"""Cognito JWT verification: the RS256 signature over the pool's keys, then every claim Cognito sets.

The signature is checked with `cryptography`, as python-jose's own backend does it, and the JOSE
encodings are python-jose's (`jose.utils`). jose's JWK and JWS modules are not imported: they load
its whole backend (EC, AES key wrap, X.509 certificates), a tenth of a second of every cold start
for the one algorithm Cognito uses. Each check jose made is made here, stricter where jose is
lenient (base64url with stray characters, an `exp` as a numeric string, a float `iat` or `nbf`),
and those it leaves to the caller as well: Cognito's `token_use`, `client_id` for access tokens,
and token times (an `iat` from the future, a lifetime longer than Cognito issues).

The pool's keys are refetched on a schedule, so a key the pool withdraws stops being trusted within
the hour, and verifications remembered under it are forgotten with it.
"""

from __future__ import annotations

import binascii
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jose.utils import base64_to_long, base64url_decode

ALGORITHM = "RS256"
JWKS_TIMEOUT_SECONDS = 3.0
MIN_REFETCH_INTERVAL_SECONDS = 10.0
JWKS_MAX_AGE_SECONDS = 3600.0
"""How long a fetched key set is trusted before a request refetches it."""
MAX_TOKEN_LENGTH = 16 * 1024
VERIFIED_CACHE_SIZE = 512
IAT_LEEWAY_SECONDS = 30
"""How far in the future `iat` may be: clock skew between Cognito and this function, no more."""
MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600
"""Cognito issues ID and access tokens for 5 minutes to 1 day: `exp - iat` beyond it is forged."""

_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


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
    """The pool's signing keys: fetched on first use, refetched once they are an hour old, and
    when an unknown `kid` arrives; never more often than every 10 s."""

    def __init__(
        self,
        url: str,
        http: httpx.Client | None = None,
        *,
        min_refetch_interval: float = MIN_REFETCH_INTERVAL_SECONDS,
        max_age: float = JWKS_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._http = http
        self._owns_http = http is None
        self._min_interval = min_refetch_interval
        self._max_age = max_age
        self._clock = clock
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._last_fetch: float | None = None
        self._refresh_due: float | None = None
        self._lock = threading.Lock()
        self.fetch_count = 0
        self.generation = 0
        """Counts the changes of the key set, so holders of derived state know to revisit it."""

    def key_for(self, kid: str) -> rsa.RSAPublicKey | None:
        """The verification key for `kid`, refetching the JWKS if the rate limit allows."""
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            key = self._keys.get(kid)
            if key is not None:
                return key
            if not self._may_fetch():
                if not self._keys:
                    raise KeysUnavailable("the user pool's signing keys are unavailable")
                return None
            self._refresh()
            return self._keys.get(kid)

    def has(self, kid: str) -> bool:
        """Whether `kid` is in the key set as last fetched."""
        return kid in self._keys

    def refresh_if_due(self) -> None:
        """Refetch the key set once it is older than its maximum age (rate limit permitting).

        Costs a clock read until then. A failed refetch keeps the keys it had and is retried no
        sooner than the rate limit allows: the pool rotates keys slowly, and refusing every
        caller while its endpoint hiccups would be worse.
        """
        due = self._refresh_due
        if due is None or self._clock() < due:
            return
        with self._lock:
            due = self._refresh_due
            if due is None or self._clock() < due or not self._may_fetch():
                return
            self._refresh()

    def renew(self) -> None:
        """Forget when the keys were fetched and every open connection: the next request that
        needs a key refetches the set over a new connection (after a SnapStart restore, the
        snapshot's fetch time and sockets mean nothing)."""
        with self._lock:
            self._last_fetch = None
            if self._keys:
                self._refresh_due = float("-inf")
            if self._owns_http and self._http is not None:
                self._http.close()
                self._http = None

    def _may_fetch(self) -> bool:
        now = self._clock()
        if self._last_fetch is not None and now - self._last_fetch < self._min_interval:
            return False
        self._last_fetch = now
        return True

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
        if keys.keys() != self._keys.keys():
            self.generation += 1
        self._keys = keys
        self._refresh_due = self._clock() + self._max_age


def _parse_jwks(document: Any) -> dict[str, rsa.RSAPublicKey]:
    """RSA signing keys by `kid`; anything else in the set is ignored."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK set")
    keys: dict[str, rsa.RSAPublicKey] = {}
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
            numbers = rsa.RSAPublicNumbers(base64_to_long(entry["e"]), base64_to_long(entry["n"]))
            keys[kid] = numbers.public_key()
        except Exception:  # noqa: BLE001, S112 - one malformed key must not hide the others
            continue
    return keys


def _decode_segment(segment: str) -> bytes:
    """A base64url segment (no padding, nothing outside the alphabet), decoded."""
    if not _SEGMENT.fullmatch(segment):
        raise ValueError("not base64url")
    try:
        return base64url_decode(segment.encode("ascii"))
    except binascii.Error as error:
        raise ValueError("not base64url") from error


def _json_object(segment: str) -> dict[str, Any]:
    document = json.loads(_decode_segment(segment))
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document


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
        # A token that passed every check stays valid until its `exp`, while the key that signed
        # it is in the pool's set: the same string seen again (a page polling its status) skips
        # the RSA verification, never the expiry check.
        self._verified: OrderedDict[str, tuple[Principal, int, str]] = OrderedDict()
        self._verified_lock = threading.Lock()
        self._generation = jwks.generation

    @property
    def jwks(self) -> JwksCache:
        return self._jwks

    def verify(self, token: str) -> Principal:
        """The caller a token proves, or TokenRejected; KeysUnavailable if no key can be had."""
        self._jwks.refresh_if_due()
        if self._jwks.generation != self._generation:
            self._forget_withdrawn_keys()
        cached = self._verified.get(token)
        if cached is not None:
            principal, exp, _ = cached
            if exp > self._clock():
                return principal
        principal, exp, kid = self._verify(token)
        with self._verified_lock:
            self._verified[token] = (principal, exp, kid)
            if len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        return principal

    def renew(self) -> None:
        """Forget every remembered verification, and the keys' fetch time and connections."""
        with self._verified_lock:
            self._verified.clear()
        self._jwks.renew()

    def _forget_withdrawn_keys(self) -> None:
        with self._verified_lock:
            self._generation = self._jwks.generation
            withdrawn = [
                token for token, (_, _, kid) in self._verified.items() if not self._jwks.has(kid)
            ]
            for token in withdrawn:
                del self._verified[token]

    def _verify(self, token: str) -> tuple[Principal, int, str]:
        if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise TokenRejected("malformed token")
        header_segment, payload_segment, signature_segment = token.split(".")
        try:
            header = _json_object(header_segment)
        except ValueError as error:
            raise TokenRejected("malformed token header") from error
        if header.get("alg") != ALGORITHM:
            raise TokenRejected("token algorithm must be RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("token has no key id")
        key = self._jwks.key_for(kid)
        if key is None:
            raise TokenRejected("token signed by an unknown key")
        try:
            signature = _decode_segment(signature_segment)
            key.verify(
                signature,
                f"{header_segment}.{payload_segment}".encode("ascii"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            claims = _json_object(payload_segment)
        except (InvalidSignature, ValueError) as error:
            raise TokenRejected("token failed verification") from error
        principal, exp = self._principal(claims)
        return principal, exp, kid

    def _principal(self, claims: dict[str, Any]) -> tuple[Principal, int]:
        now = self._clock()
        if claims.get("iss") != self._issuer:
            raise TokenRejected("token issuer mismatch")
        exp = claims.get("exp")
        if type(exp) is not int or exp <= now:
            raise TokenRejected("token expiry is missing, malformed or past")
        # Cognito sets `iat` on every token; without it the lifetime below cannot be bounded.
        iat = claims.get("iat")
        if type(iat) is not int or iat > now + IAT_LEEWAY_SECONDS:
            raise TokenRejected("token issue time is missing, malformed or in the future")
        if not 0 < exp - iat <= MAX_TOKEN_LIFETIME_SECONDS:
            raise TokenRejected("token lifetime is longer than Cognito issues")
        nbf = claims.get("nbf")
        if nbf is not None and (type(nbf) is not int or nbf > now):
            raise TokenRejected("token is not valid yet")
        jti = claims.get("jti")
        if jti is not None and not isinstance(jti, str):
            raise TokenRejected("token id is malformed")
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
