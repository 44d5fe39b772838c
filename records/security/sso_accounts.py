"""Single sign-on: which account an identity provider's sign-in belongs to (issue 15).

The provider proves who someone is; the ``users`` table still decides whether they have an
account and which role it has. An identity is matched by its OIDC subject (``sub``, bound
to the account) or, when the provider says the address is verified, by e-mail; the first
e-mail match binds the subject, so a later sign-in with another subject and the same e-mail
is refused. No account, no access. Every attempt is audited like a password sign-in
(action ``login``, detail starting ``sso``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from records.audit import trail as audit
from records.errors import DuplicateRecordError, RecordNotFoundError
from records.security.policy import SECURITY, Actor
from records.security.users import SignIn, get_user, normalise_email
from records.tables.clinical import utcnow
from records.tables.security import User

log = logging.getLogger(__name__)

MATCH_MODES = ("subject", "email", "subject_or_email")


def set_sso(session: Session, username: str, actor: Actor, email: str | None = None,
            subject: str | None = None) -> User:
    """Set the e-mail and/or OIDC subject an account is matched by ("" clears one)."""
    user = get_user(session, username)
    if user is None:
        raise RecordNotFoundError(f"no user {username!r}")
    if email is not None:
        value = normalise_email(email)
        other = value and session.scalars(select(User).where(User.email == value)).first()
        if other and other.id != user.id:
            raise DuplicateRecordError(f"e-mail {value} already belongs to {other.username}")
        user.email = value
    if subject is not None:
        user.sso_subject = subject.strip()[:255] or None
    session.flush()
    audit.record(session, actor, "user_sso", SECURITY,
                 detail=f"{user.username}: e-mail {user.email or '-'}, "
                        f"subject {'set' if user.sso_subject else '-'}")
    return user


def _claim(claims: Mapping[str, object], name: str) -> str:
    value = claims.get(name)
    return value.strip() if isinstance(value, str) else ""


def match_account(session: Session, claims: Mapping[str, object],
                  mode: str = "subject_or_email") -> tuple[User | None, str]:
    """The account for these ID-token claims, and why none ("" when found)."""
    if mode not in MATCH_MODES:
        raise ValueError(f"unknown match mode {mode!r}; use one of {', '.join(MATCH_MODES)}")
    subject, email = _claim(claims, "sub"), _claim(claims, "email").lower()
    if subject and mode != "email":
        user = session.scalars(select(User).where(User.sso_subject == subject)).one_or_none()
        if user is not None:
            return user, ""
    if mode == "subject":
        return None, "no account with this subject"
    if not email:
        return None, "the provider sent no e-mail address"
    if claims.get("email_verified") is not True:  # issue 24: "false", 0 or absent are not
        return None, "the provider has not verified the e-mail address"
    user = session.scalars(select(User).where(User.email == email)).one_or_none()
    if user is None:
        return None, "no account with this e-mail address"
    if user.sso_subject and subject and user.sso_subject != subject:
        return None, "the account is bound to another identity"
    if subject and not user.sso_subject:
        user.sso_subject = subject[:255]  # bound on the first sign-in
    return user, ""


def sso_sign_in(session: Session, claims: Mapping[str, object],
                mode: str = "subject_or_email") -> SignIn:
    """Check an identity-provider sign-in against the accounts; audited and committed."""
    user, why = match_account(session, claims, mode)
    shown = (_claim(claims, "email") or _claim(claims, "sub") or "?")[:60]
    if user is not None and not user.active:
        user, why = None, "the account is disabled"
    if user is None:
        session.rollback()  # nothing bound for a refused sign-in
        audit.record(session, Actor(f"sso:{shown}", None), "login", SECURITY,
                     outcome="failure", detail=f"sso: {why}")
        session.commit()
        log.info("single sign-on refused for %s: %s", shown, why)
        return SignIn(False, f"sso:{shown}",
                      reason="disabled" if "disabled" in why else "no_account")
    user.last_login_at = utcnow()
    session.flush()
    audit.record(session, Actor(user.username, user.role), "login", SECURITY, detail="sso")
    session.commit()
    log.info("single sign-on for %s", user.username)
    return SignIn(True, user.username, user.role)
