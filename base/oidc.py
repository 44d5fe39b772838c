"""Single sign-on (OpenID Connect) settings, and the Streamlit ``[auth]`` secrets made from them.

A clinic registers KAP-CDS with its identity provider (Entra ID, Okta, Keycloak, Google
Workspace, …) and gives the result as ``KAPCDS_OIDC_*`` variables. ``kapcds dashboard``
writes them as the ``[auth]`` section Streamlit's ``st.login`` reads, into a 0600 file in the
data folder. Nothing here runs at import time; docs/security.md has worked examples.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from base.files import write_atomically
from base.settings import home_dir

SECRETS_FILE = "streamlit-secrets.toml"
COOKIE_SECRET_FILE = "oidc-cookie-secret"
MATCH_MODES = ("subject", "email", "subject_or_email")


@dataclass(frozen=True)
class OidcSettings:
    """What the clinic's identity provider gave; ``enabled`` once the three required are set."""

    metadata_url: str = ""  # KAPCDS_OIDC_METADATA_URL: …/.well-known/openid-configuration
    client_id: str = ""  # KAPCDS_OIDC_CLIENT_ID
    client_secret: str = ""  # KAPCDS_OIDC_CLIENT_SECRET
    redirect_uri: str = "http://localhost:8501/oauth2callback"  # KAPCDS_OIDC_REDIRECT_URI
    cookie_secret: str = ""  # KAPCDS_OIDC_COOKIE_SECRET (default: a 0600 file, made once)
    label: str = "single sign-on"  # KAPCDS_OIDC_LABEL: the button says "Sign in with …"
    match: str = "subject_or_email"  # KAPCDS_OIDC_MATCH: how an identity finds its account
    prompt: str = ""  # KAPCDS_OIDC_PROMPT: e.g. "login" or "select_account" (optional)

    @property
    def enabled(self) -> bool:
        return bool(self.metadata_url and self.client_id and self.client_secret)

    def missing(self) -> list[str]:
        """The variables still needed (empty when enabled)."""
        needed = {"KAPCDS_OIDC_METADATA_URL": self.metadata_url,
                  "KAPCDS_OIDC_CLIENT_ID": self.client_id,
                  "KAPCDS_OIDC_CLIENT_SECRET": self.client_secret}
        return [name for name, value in needed.items() if not value]


def oidc_settings() -> OidcSettings:
    """The single sign-on settings in force (read on each call)."""
    env = os.environ.get
    match = env("KAPCDS_OIDC_MATCH", "").strip() or "subject_or_email"
    if match not in MATCH_MODES:
        raise ValueError(f"KAPCDS_OIDC_MATCH={match!r}: use one of {', '.join(MATCH_MODES)}")
    return OidcSettings(
        metadata_url=env("KAPCDS_OIDC_METADATA_URL", "").strip(),
        client_id=env("KAPCDS_OIDC_CLIENT_ID", "").strip(),
        client_secret=env("KAPCDS_OIDC_CLIENT_SECRET", "").strip(),
        redirect_uri=env("KAPCDS_OIDC_REDIRECT_URI", "").strip()
        or OidcSettings.redirect_uri,
        cookie_secret=env("KAPCDS_OIDC_COOKIE_SECRET", "").strip(),
        label=env("KAPCDS_OIDC_LABEL", "").strip() or OidcSettings.label,
        match=match,
        prompt=env("KAPCDS_OIDC_PROMPT", "").strip(),
    )


def _cookie_secret(settings: OidcSettings, folder: Path) -> str:
    if settings.cookie_secret:
        return settings.cookie_secret
    path = folder / COOKIE_SECRET_FILE
    if not path.is_file():
        write_atomically(path, secrets.token_urlsafe(48), mode=0o600)
    return path.read_text(encoding="utf-8").strip()


def secrets_toml(settings: OidcSettings, cookie_secret: str) -> str:
    """The ``[auth]`` section for Streamlit (TOML strings written as JSON strings)."""
    lines = ["# Made by `kapcds dashboard` from the KAPCDS_OIDC_* settings; do not edit.",
             "[auth]"]
    values = {"redirect_uri": settings.redirect_uri, "cookie_secret": cookie_secret,
              "client_id": settings.client_id, "client_secret": settings.client_secret,
              "server_metadata_url": settings.metadata_url}
    lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    if settings.prompt:
        lines += ["[auth.client_kwargs]", f"prompt = {json.dumps(settings.prompt)}"]
    return "\n".join(lines) + "\n"


def write_secrets_file(settings: OidcSettings | None = None,
                       folder: Path | None = None) -> Path | None:
    """Write the Streamlit secrets file for single sign-on (None when SSO is not set up)."""
    settings = settings or oidc_settings()
    if not settings.enabled:
        return None
    folder = folder or home_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SECRETS_FILE
    write_atomically(path, secrets_toml(settings, _cookie_secret(settings, folder)), mode=0o600)
    return path
