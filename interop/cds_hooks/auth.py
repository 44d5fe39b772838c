"""CDS Hooks request authentication: the EHR's signed JWT bearer token.

As the specification describes: the EHR signs a JWT (asymmetric keys only) whose ``iss``
is a trusted issuer, ``aud`` is the called service's URL, with ``exp``, ``iat`` and a
unique ``jti``. Keys come from the issuer's configured JWKS URL, inline JWK Set or PEM;
a ``jku`` header is never followed. Unsigned (``alg: none``), HMAC-signed, expired,
replayed, wrongly addressed or unknown-issuer tokens are refused.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt

from interop.cds_hooks.settings import CdsSettings, Issuer

log = logging.getLogger(__name__)
ALGORITHMS = ("ES384", "RS384", "ES256", "RS256", "ES512", "RS512", "PS384")
LEEWAY_SECONDS = 30


class AuthError(Exception):
    """The request is not authenticated; the message says why (safe to return)."""


@dataclass(frozen=True)
class Caller:
    """Who called: the issuer (the EHR), its client id and the token id."""

    iss: str
    sub: str
    jti: str


class ReplayGuard:
    """Remembers token ids until they expire, so a captured token cannot be re-sent."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def check(self, iss: str, jti: str, exp: float) -> None:
        now = time.time()
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if v > now - LEEWAY_SECONDS}
            if (iss, jti) in self._seen:
                raise AuthError(f"token jti {jti[:40]!r} was already used")
            self._seen[(iss, jti)] = exp


class KeyResolver:
    """The signing key for a token, from the issuer's configuration (JWKS clients cached)."""

    def __init__(self) -> None:
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()

    def key(self, issuer: Issuer, header: dict[str, Any], token: str) -> Any:
        if issuer.public_key_pem:
            return issuer.public_key_pem
        kid = header.get("kid")
        if issuer.jwks is not None:
            keys = jwt.PyJWKSet.from_dict(issuer.jwks).keys
            matches = [k for k in keys if kid is None or k.key_id == kid]
            if not matches:
                raise AuthError(f"no key with kid {kid!r} in the JWKS of {issuer.iss}")
            return matches[0].key
        with self._lock:
            client = self._clients.setdefault(
                issuer.iss, jwt.PyJWKClient(str(issuer.jwks_url), cache_keys=True, lifespan=300))
        try:
            return client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientError as exc:
            raise AuthError(f"cannot get the signing key of {issuer.iss}: {exc}") from exc


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        return jwt.get_unverified_header(token), jwt.decode(
            token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise AuthError(f"malformed JWT: {exc}") from exc


def authenticate(authorization: str | None, audience: str, settings: CdsSettings,
                 keys: KeyResolver, replay: ReplayGuard) -> Caller:
    """Verify the ``Authorization: Bearer <JWT>`` header of one hook call."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise AuthError("missing Authorization: Bearer <JWT> header")
    token = authorization[7:].strip()
    header, claims = _unverified(token)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise AuthError(f"JWT alg {json.dumps(alg)[:20]} is not accepted (asymmetric "
                        f"signatures only: {', '.join(ALGORITHMS)})")
    iss = claims.get("iss")
    issuer = settings.issuers.get(iss) if isinstance(iss, str) else None
    if issuer is None:
        raise AuthError(f"issuer {json.dumps(iss)[:80]} is not trusted")
    try:
        verified = jwt.decode(token, keys.key(issuer, header, token), algorithms=[alg],
                              audience=audience, issuer=issuer.iss, leeway=LEEWAY_SECONDS,
                              options={"require": ["iss", "aud", "exp", "iat", "jti"]})
    except jwt.PyJWTError as exc:
        raise AuthError(f"JWT rejected: {exc}") from exc
    if float(verified["exp"]) - float(verified["iat"]) > settings.max_token_age:
        raise AuthError(f"JWT lifetime exceeds {settings.max_token_age} s")
    replay.check(issuer.iss, str(verified["jti"]), float(verified["exp"]))
    return Caller(issuer.iss, str(verified.get("sub") or ""), str(verified["jti"]))
