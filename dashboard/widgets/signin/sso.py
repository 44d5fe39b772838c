"""Single sign-on through the clinic's identity provider with Streamlit's ``st.login``.

Streamlit runs the OpenID Connect flow and keeps the provider's identity in its own signed,
HTTP-only cookie (``st.user``). That identity alone opens nothing: ``auth`` matches it to an
account in the store (``records.security.sso_accounts``) and opens a server-side session like a
password sign-in does. Configured by the ``[auth]`` section of Streamlit's secrets, which
``kapcds dashboard`` writes from the ``KAPCDS_OIDC_*`` settings (``base.oidc``).
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from base.oidc import oidc_settings

log = logging.getLogger(__name__)


def configured() -> bool:
    """Whether Streamlit has an ``[auth]`` section to sign in with."""
    try:
        if not st.secrets.load_if_toml_exists():
            return False
        section = st.secrets.get("auth")
    except Exception as error:  # noqa: BLE001 - a broken secrets file: no SSO, say why
        log.warning("single sign-on is off: the secrets file cannot be read (%s)", error)
        return False
    return bool(section and section.get("redirect_uri"))


def label() -> str:
    """The provider's name on the sign-in button."""
    try:
        return oidc_settings().label
    except ValueError:
        return "single sign-on"


def identity() -> dict[str, Any] | None:
    """The provider's claims for this browser (None: not signed in there, or no SSO)."""
    if not configured():
        return None
    try:
        if not st.user.is_logged_in:
            return None
        return dict(st.user.to_dict())
    except Exception as error:  # noqa: BLE001 - treat an unreadable identity as none
        log.warning("cannot read the single sign-on identity: %s", error)
        return None


def start() -> None:
    """Send the browser to the identity provider (it comes back signed in there)."""
    st.login()


def end() -> bool:
    """Forget the provider's identity in this browser: Streamlit clears its cookie and sends
    the browser to the provider's sign-out. True when that redirect is on its way (the run
    must then end without ``st.rerun``, which would drop it)."""
    if not configured():
        return False
    try:
        if st.user.is_logged_in:
            st.logout()
            return True
    except Exception as error:  # noqa: BLE001 - our own session is already ended
        log.warning("could not end the single sign-on identity: %s", error)
    return False
