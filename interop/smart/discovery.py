"""Which EHR the dashboard may talk to, and how: the allow-list check, then the issuer's
``.well-known/smart-configuration`` (SMART App Launch 2.x §Discovery).

The allow-list check comes first and needs no network: a launch link naming any other
``iss`` is refused before a single byte leaves the server (a crafted link must not make
KAP-CDS probe hosts on the clinic's network). Redirects are never followed.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import requests

from interop.smart.settings import SmartError
from records.security.smart_accounts import normalise_issuer

log = logging.getLogger(__name__)

NOT_ALLOWED = ("This EHR ({iss}) is not on the KAP-CDS list of allowed SMART issuers, so "
               "nothing was sent to it. An administrator can add it on the Users page.")


@dataclass(frozen=True)
class SmartConfiguration:
    """What the issuer publishes: where to authorise, exchange the code, and find its keys."""

    fhir_base: str  # the launch's iss: the FHIR server's base URL
    issuer: str  # the OpenID issuer its ID tokens carry (``issuer``, else the FHIR base)
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    capabilities: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def check_allowed(iss: str, allowed: Collection[str]) -> str:
    """The normalised issuer when the admin allowed it; SmartError otherwise (no request)."""
    shown = str(iss or "")[:200]
    try:
        issuer = normalise_issuer(shown)
    except ValueError as error:
        raise SmartError(f"The launch named no usable EHR address: {error}.") from None
    if issuer not in {normalise_issuer(a) for a in allowed}:
        log.warning("SMART launch from an issuer not on the allow-list: %s", issuer)
        raise SmartError(NOT_ALLOWED.format(iss=issuer))
    return issuer


def _endpoint(doc: dict[str, Any], name: str, fhir_base: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value:
        raise SmartError(f"The EHR's smart-configuration ({fhir_base}) has no {name}.")
    try:
        return normalise_issuer(value)  # the same rules as an issuer: https, no user info …
    except ValueError as error:
        raise SmartError(f"The EHR's {name} is not usable: {error}.") from None


def get_json(url: str, timeout: float, headers: dict[str, str] | None = None) -> Any:
    """GET a JSON document without following redirects (SmartError on any failure)."""
    try:
        response = requests.get(url, timeout=timeout, allow_redirects=False,
                                headers={"Accept": "application/json", **(headers or {})})
    except requests.RequestException as error:
        raise SmartError(f"The EHR did not answer at {url[:200]}: {error}") from None
    if response.status_code != 200:
        raise SmartError(f"The EHR answered {response.status_code} at {url[:200]} "
                         "(redirects are not followed).")
    try:
        return response.json()
    except ValueError:
        raise SmartError(f"The EHR sent no JSON at {url[:200]}.") from None


def fetch_configuration(iss: str, allowed: Collection[str], timeout: float) -> SmartConfiguration:
    """The allowed issuer's SMART configuration (SmartError: not allowed, or unusable)."""
    fhir_base = check_allowed(iss, allowed)
    doc = get_json(f"{fhir_base}/.well-known/smart-configuration", timeout)
    if not isinstance(doc, dict):
        raise SmartError(f"The EHR's smart-configuration ({fhir_base}) is not a JSON object.")
    methods = doc.get("code_challenge_methods_supported") or []
    if "S256" not in methods:  # SMART 2.x: S256 is required, "plain" is never used
        raise SmartError(f"The EHR ({fhir_base}) does not offer PKCE with S256.")
    issuer = doc.get("issuer") if isinstance(doc.get("issuer"), str) else fhir_base
    capabilities = tuple(c for c in doc.get("capabilities") or [] if isinstance(c, str))
    return SmartConfiguration(
        fhir_base=fhir_base, issuer=str(issuer).rstrip("/"),
        authorization_endpoint=_endpoint(doc, "authorization_endpoint", fhir_base),
        token_endpoint=_endpoint(doc, "token_endpoint", fhir_base),
        jwks_uri=_endpoint(doc, "jwks_uri", fhir_base), capabilities=capabilities, raw=doc)
