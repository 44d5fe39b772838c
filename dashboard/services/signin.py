"""Signing in and out of the dashboard, and checking a browser's session (no Streamlit here).

A sign-in (password or single sign-on) opens a server-side session in the store and hands
back its opaque token, which is all the browser keeps. ``resolve`` checks the token on
every run: a time-out, an ended session (signed out in any tab, revoked) or a disabled
account turn into a ``Resolved`` without an actor and the sentence to show. Time-outs and
sign-outs are audited here, like the sign-ins themselves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine

from base.settings import security_settings
from records.audit import trail as audit
from records.db import session_factory
from records.security import signin_sessions as sessions
from records.security.policy import SECURITY, Actor
from records.security.sso_accounts import sso_sign_in
from records.security.users import SignIn, authenticate

SSO_LOGIN_CLAIMS = ("iss", "sub", "aud", "iat", "exp", "nonce", "auth_time")
ENDED = {
    "sign_out": "You are signed out.",
    "revoked": "An administrator ended this session. Please sign in again.",
    "disabled": "This account is no longer active.",
}


@dataclass(frozen=True)
class Resolved:
    """The signed-in actor for a token, or why there is none (``message`` to show)."""

    actor: Actor | None
    message: str | None = None
    status: str = "unknown"


def timeout_message() -> str:
    """What a timed-out user reads."""
    minutes = security_settings().session_idle_minutes
    return f"Signed out after {minutes} minutes without activity. Please sign in again."


def _message(status: str, reason: str | None) -> str:
    if status == "timeout" or reason == "timeout":
        return timeout_message()
    return ENDED.get(reason or "", "You are signed out.")


def resolve(engine: Engine, token: str | None) -> Resolved:
    """Who ``token`` signs in, checked against the store (ends idle and disabled sessions)."""
    if not token:
        return Resolved(None)
    with session_factory(engine)() as session:
        check = sessions.check(session, token)
        if check.status in ("timeout", "disabled"):
            action = "session_timeout" if check.status == "timeout" else "logout"
            audit.record(session, Actor(check.username or "?", check.role), action, SECURITY,
                         detail=_message(check.status, check.end_reason))
        session.commit()
    if check.ok:
        return Resolved(Actor(check.username or "?", check.role), status="ok")
    if check.status == "unknown":
        return Resolved(None, "Your session is no longer known. Please sign in again.",
                        "unknown")
    return Resolved(None, _message(check.status, check.end_reason), check.status)


def password_sign_in(engine: Engine, username: str, password: str,
                     client: str | None = None,
                     address: str | None = None) -> tuple[SignIn, str | None]:
    """Check a password sign-in from ``address`` (throttled per address); on success open
    a session and return its token."""
    with session_factory(engine)() as session:
        result = authenticate(session, username, password, source=address)
        if not result.ok:
            return result, None
        token = sessions.start(session, result.username, "password", client=client)
        session.commit()
    return result, token


def client_address(ip: str | None, headers: Mapping[str, str] | None) -> str | None:
    """The address sign-in throttling counts under: the connection's own, or, when it
    comes from this machine's reverse proxy and ``KAPCDS_TRUST_PROXY_HEADERS=1``, the
    proxy's ``X-Real-IP`` (or the last ``X-Forwarded-For`` hop). Without that setting a
    proxied dashboard counts every client as one address (documented)."""
    if ip in ("127.0.0.1", "::1") and security_settings().trust_proxy_headers and headers:
        real = (headers.get("X-Real-IP") or "").strip()
        forwarded = (headers.get("X-Forwarded-For") or "").split(",")[-1].strip()
        return (real or forwarded or ip)[:60]
    return ip


def sso_login_key(claims: Mapping[str, object]) -> str:
    """One identity-provider login (issuer, subject, issue time, nonce …) as a digest."""
    data = {name: claims.get(name) for name in SSO_LOGIN_CLAIMS}
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sso_sign_in_session(engine: Engine, claims: Mapping[str, object], mode: str,
                        client: str | None = None) -> tuple[SignIn | None, str | None]:
    """Open a session for an identity-provider login (None, None: that login has ended).

    A login whose session already ended (signed out, timed out, revoked) never opens
    another one: the user has to sign in at the provider again.
    """
    key = sso_login_key(claims)
    with session_factory(engine)() as session:
        if sessions.sso_login_state(session, key) == "ended":
            return None, None
        result = sso_sign_in(session, claims, mode)
        if not result.ok:
            return result, None
        token = sessions.start(session, result.username, "oidc", client=client, sso_login=key)
        session.commit()
    return result, token


def sign_out(engine: Engine, token: str | None, actor: Actor) -> None:
    """End the session everywhere it is used (every tab of the browser) and audit it."""
    with session_factory(engine)() as session:
        if token:
            sessions.end(session, token, "sign_out", by=actor.username)
        audit.record(session, actor, "logout", SECURITY, detail="You are signed out.")
        session.commit()
