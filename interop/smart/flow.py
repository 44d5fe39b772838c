"""The SMART authorisation-code flow: PKCE (S256), ``state``, ``nonce``, code exchange, and the
ID token's validation (issue 26). The cryptography is Authlib's and joserfc's, not ours.

``begin`` makes the authorisation URL and the secrets the callback needs (kept server side
by the caller, never sent to the browser except ``state``). ``complete`` checks the
callback's ``state`` (constant-time), exchanges the code with the PKCE verifier, and
accepts the ID token only with a valid signature from the issuer's JWKS, the expected
``iss``, ``aud`` (our client id), ``nonce`` and an ``exp`` in the future.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import OAuth2Error
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from interop.smart.discovery import SmartConfiguration, get_json
from interop.smart.settings import (
    EHR_SCOPES,
    ID_TOKEN_ALGORITHMS,
    LEEWAY_SECONDS,
    STANDALONE_SCOPES,
    SmartError,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pending:
    """One launch between the redirect to the EHR and its callback (server side only)."""

    config: SmartConfiguration
    client_id: str
    redirect_uri: str
    state: str
    nonce: str
    code_verifier: str = field(repr=False)
    authorization_url: str = field(repr=False)
    standalone: bool = False

    def to_record(self) -> dict[str, Any]:
        """What the callback needs, as JSON for the store (``state`` is its key there)."""
        c = self.config
        return {"config": {"fhir_base": c.fhir_base, "issuer": c.issuer,
                           "authorization_endpoint": c.authorization_endpoint,
                           "token_endpoint": c.token_endpoint, "jwks_uri": c.jwks_uri,
                           "capabilities": list(c.capabilities)},
                "client_id": self.client_id, "redirect_uri": self.redirect_uri,
                "nonce": self.nonce, "code_verifier": self.code_verifier,
                "standalone": self.standalone}

    @classmethod
    def from_record(cls, state: str, record: dict[str, Any]) -> Pending:
        """The launch kept by ``to_record`` (KeyError/TypeError for a malformed record)."""
        c = record["config"]
        config = SmartConfiguration(str(c["fhir_base"]), str(c["issuer"]),
                                    str(c["authorization_endpoint"]), str(c["token_endpoint"]),
                                    str(c["jwks_uri"]), tuple(c.get("capabilities") or ()))
        return cls(config, str(record["client_id"]), str(record["redirect_uri"]), state,
                   str(record["nonce"]), str(record["code_verifier"]), "",
                   bool(record.get("standalone")))


@dataclass(frozen=True)
class Launched:
    """What a completed launch proves: who (``fhir_user``), which patient, and the token."""

    fhir_base: str
    fhir_user: str
    patient: str
    access_token: str = field(repr=False)
    scope: str = ""
    claims: dict[str, Any] = field(default_factory=dict, repr=False)
    app_context: str = ""


def _client(client_id: str, redirect_uri: str, scope: str, state: str | None = None
            ) -> OAuth2Session:
    """A public client (no secret; PKCE is its proof of possession)."""
    return OAuth2Session(client_id, scope=scope, redirect_uri=redirect_uri, state=state,
                         code_challenge_method="S256", token_endpoint_auth_method="none")


def begin(config: SmartConfiguration, client_id: str, redirect_uri: str,
          launch: str | None = None) -> Pending:
    """The authorisation request: EHR launch when ``launch`` is given, else standalone."""
    scope = EHR_SCOPES if launch else STANDALONE_SCOPES
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    extra = {"launch": launch} if launch else {}
    with _client(client_id, redirect_uri, scope) as client:
        url, _ = client.create_authorization_url(
            config.authorization_endpoint, state=state, code_verifier=verifier, nonce=nonce,
            aud=config.fhir_base, **extra)
    log.info("SMART %s launch to %s", "EHR" if launch else "standalone", config.fhir_base)
    return Pending(config, client_id, redirect_uri, state, nonce, verifier, url,
                   standalone=launch is None)


def validate_id_token(id_token: str, config: SmartConfiguration, client_id: str, nonce: str,
                      timeout: float) -> dict[str, Any]:
    """The ID token's claims once signature, iss, aud, nonce and exp hold (SmartError)."""
    keys = get_json(config.jwks_uri, timeout)
    try:
        keyset = KeySet.import_key_set(keys)
        token = jwt.decode(id_token, keyset, algorithms=list(ID_TOKEN_ALGORITHMS))
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS, iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": client_id},
            nonce={"essential": True, "value": nonce}, exp={"essential": True},
        ).validate(token.claims)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        log.warning("SMART ID token refused from %s: %s", config.issuer, error)
        raise SmartError(f"The EHR's identity token was refused ({error}). Nobody was "
                         "signed in.") from None
    return dict(token.claims)


def _exchange(pending: Pending, code: str, timeout: float) -> dict[str, Any]:
    scope = STANDALONE_SCOPES if pending.standalone else EHR_SCOPES
    with _client(pending.client_id, pending.redirect_uri, scope, pending.state) as client:
        client.max_redirects = 0
        try:
            token = client.fetch_token(pending.config.token_endpoint, code=code,
                                       code_verifier=pending.code_verifier, timeout=timeout,
                                       allow_redirects=False)
        except (OAuthError, OAuth2Error, requests.RequestException, ValueError) as error:
            raise SmartError(f"The EHR did not exchange the sign-in code: {error}") from None
    return dict(token)


def complete(pending: Pending, params: Mapping[str, str], timeout: float) -> Launched:
    """Finish the launch from the callback's query parameters (SmartError on any doubt)."""
    if params.get("error"):
        raise SmartError(f"The EHR ended the sign-in: {str(params['error'])[:100]} "
                         f"{str(params.get('error_description') or '')[:200]}".strip())
    if not hmac.compare_digest(str(params.get("state") or ""), pending.state):
        raise SmartError("The EHR's answer does not belong to this sign-in (state differs); "
                         "nothing was accepted.")
    code = str(params.get("code") or "")
    if not code:
        raise SmartError("The EHR's answer has no authorisation code.")
    token = _exchange(pending, code, timeout)
    if not token.get("access_token") or not token.get("id_token"):
        raise SmartError("The EHR's token response lacks an access token or an ID token "
                         "(the openid scope is needed).")
    claims = validate_id_token(str(token["id_token"]), pending.config, pending.client_id,
                               pending.nonce, timeout)
    fhir_user = claims.get("fhirUser") or claims.get("profile")  # "profile": SMART 1.0 name
    if not isinstance(fhir_user, str) or not fhir_user:
        raise SmartError("The EHR's identity token names no fhirUser (the fhirUser scope "
                         "is needed).")
    patient = token.get("patient")
    if not isinstance(patient, str) or not patient:
        raise SmartError("The EHR launched no patient (no patient in the token response).")
    context = token.get("appContext")
    return Launched(pending.config.fhir_base, fhir_user, patient, str(token["access_token"]),
                    str(token.get("scope") or ""), claims,
                    context if isinstance(context, str) else "")
