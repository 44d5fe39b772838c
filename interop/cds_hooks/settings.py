"""Settings of the CDS Hooks service, read from the environment when asked (never at import).

| variable | default | meaning |
|---|---|---|
| ``KAPCDS_CDS_HOST`` | ``127.0.0.1`` | address ``kapcds serve-cds`` listens on |
| ``KAPCDS_CDS_PORT`` | ``8765`` | its port |
| ``KAPCDS_CDS_BASE_URL`` | ``http://HOST:PORT`` | URL the EHR calls (JWT ``aud`` = it + path) |
| ``KAPCDS_CDS_ISSUERS`` | (none: every hook call is refused) | JSON file of trusted EHR issuers |
| ``KAPCDS_CDS_DASHBOARD_URL`` | ``http://localhost:8501`` | base of the deep link |
| ``KAPCDS_CDS_FHIR_TIMEOUT`` | ``10`` | seconds per request to the EHR's FHIR server |
| ``KAPCDS_CDS_MAX_TOKEN_AGE`` | ``300`` | longest accepted JWT lifetime (``exp - iat``), seconds |

The issuers file maps each ``iss`` to where its public keys are and which FHIR servers it
may send us to::

    {"https://ehr.example.org": {"jwks_url": "https://ehr.example.org/.well-known/jwks.json",
                                 "fhir_servers": ["https://ehr.example.org/fhir"]}}

Instead of ``jwks_url`` an issuer may give ``jwks`` (a JWK Set inline) or
``public_key_pem``. Without ``fhir_servers`` only ``https`` FHIR servers are fetched from.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_DASHBOARD_URL = "http://localhost:8501"


class CdsSettingsError(ValueError):
    """A CDS Hooks setting is malformed (names the variable or file and the field)."""


@dataclass(frozen=True)
class Issuer:
    """One trusted EHR: where its signing keys are, and the FHIR servers it may name."""

    iss: str
    jwks_url: str | None = None
    jwks: dict[str, Any] | None = None
    public_key_pem: str | None = None
    fhir_servers: tuple[str, ...] = ()


@dataclass(frozen=True)
class CdsSettings:
    """Everything the service needs besides the model registry and the store."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    base_url: str = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    dashboard_url: str = DEFAULT_DASHBOARD_URL
    issuers: dict[str, Issuer] = field(default_factory=dict)
    fhir_timeout: float = 10.0
    max_token_age: int = 300
    # Browser origins allowed by CORS (the spec: browser-based CDS clients need it). Calls
    # carry a bearer JWT, never cookies, so "*" exposes nothing a token does not already.
    cors_origins: tuple[str, ...] = ("*",)


def _issuer(iss: str, raw: Any, where: str) -> Issuer:
    if not isinstance(raw, dict):
        raise CdsSettingsError(f"{where}: issuer {iss!r} must be a JSON object")
    keys = [k for k in ("jwks_url", "jwks", "public_key_pem") if raw.get(k)]
    if len(keys) != 1:
        raise CdsSettingsError(f"{where}: issuer {iss!r} needs exactly one of jwks_url, jwks, "
                               f"public_key_pem (found {', '.join(keys) or 'none'})")
    servers = raw.get("fhir_servers") or []
    if not isinstance(servers, list) or not all(isinstance(s, str) for s in servers):
        raise CdsSettingsError(f"{where}: issuer {iss!r}: fhir_servers must be a list of URLs")
    jwks = raw.get("jwks")
    if jwks is not None and not isinstance(jwks, dict):
        raise CdsSettingsError(f"{where}: issuer {iss!r}: jwks must be a JWK Set object")
    return Issuer(iss, raw.get("jwks_url"), jwks, raw.get("public_key_pem"),
                  tuple(s.rstrip("/") for s in servers))


def load_issuers(path: Path) -> dict[str, Issuer]:
    """The trusted issuers in a JSON file (``CdsSettingsError`` naming what is wrong)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CdsSettingsError(f"KAPCDS_CDS_ISSUERS {path}: cannot read it ({exc})") from exc
    if not isinstance(data, dict):
        raise CdsSettingsError(f"{path}: expected a JSON object of issuer -> settings")
    return {iss: _issuer(iss, raw, str(path)) for iss, raw in data.items()}


def _number(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    try:
        return float(value) if value else default
    except ValueError as exc:
        raise CdsSettingsError(f"{name}={value!r} is not a number") from exc


def cds_settings(host: str | None = None, port: int | None = None) -> CdsSettings:
    """The settings in force (``host``/``port`` from the command line win)."""
    host = host or os.environ.get("KAPCDS_CDS_HOST") or DEFAULT_HOST
    port = port or int(_number("KAPCDS_CDS_PORT", DEFAULT_PORT))
    issuers_file = os.environ.get("KAPCDS_CDS_ISSUERS", "").strip()
    return CdsSettings(
        host=host, port=port,
        base_url=(os.environ.get("KAPCDS_CDS_BASE_URL") or f"http://{host}:{port}").rstrip("/"),
        dashboard_url=(os.environ.get("KAPCDS_CDS_DASHBOARD_URL")
                       or DEFAULT_DASHBOARD_URL).rstrip("/"),
        issuers=load_issuers(Path(issuers_file)) if issuers_file else {},
        fhir_timeout=_number("KAPCDS_CDS_FHIR_TIMEOUT", 10.0),
        max_token_age=int(_number("KAPCDS_CDS_MAX_TOKEN_AGE", 300)),
        cors_origins=tuple(o.strip().rstrip("/") for o in
                           (os.environ.get("KAPCDS_CDS_CORS_ORIGINS") or "*").split(",")
                           if o.strip()))
