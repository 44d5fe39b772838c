"""SMART App Launch in the store: the issuer allow-list and fhirUser -> account (issue 26).

An EHR launch names its issuer (``iss``); the dashboard asks this module whether the admin
allowed it *before* any request leaves the server, so a crafted launch link cannot make
KAP-CDS call an arbitrary host. After the EHR's authorisation server has proved who the
user is (a signed ID token with ``fhirUser``), ``smart_sign_in`` finds the account an
administrator mapped to that EHR user on that issuer; no mapping, no access. Every change
and every attempt is audited (``smart_issuer``, ``smart_identity``, ``login`` with detail
``smart …``). Writers flush and audit; the caller commits.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from records.audit import trail as audit
from records.errors import DuplicateRecordError, RecordNotFoundError
from records.security.policy import SECURITY, Actor
from records.security.users import SignIn, get_user
from records.tables.clinical import utcnow
from records.tables.security import User
from records.tables.smart import SmartIdentity, SmartIssuer

log = logging.getLogger(__name__)

FHIR_USER = re.compile(r"^(Practitioner|PractitionerRole|Person|Patient|RelatedPerson)"
                       r"/[A-Za-z0-9\-.]{1,64}$")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def normalise_issuer(url: str) -> str:
    """The issuer as it is compared: no trailing slash; https (http only on loopback, for
    tests and a local sandbox); no user info, query or fragment. ValueError otherwise."""
    text = (url or "").strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"issuer {text[:200]!r} is not an http(s) URL")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ValueError(f"issuer {text[:200]!r} must use https")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(f"issuer {text[:200]!r} has user info, a query or a fragment")
    return text


def normalise_fhir_user(issuer: str, fhir_user: str) -> str:
    """``Practitioner/123`` from ``Practitioner/123`` or ``{issuer}/Practitioner/123``.

    A fhirUser URL on another server is refused (ValueError): an identity is only ever
    trusted on the issuer that asserted it.
    """
    value = (fhir_user or "").strip()
    if "://" in value:
        prefix = normalise_issuer(issuer) + "/"
        if not value.startswith(prefix):
            raise ValueError(f"fhirUser {value[:200]!r} is not on {issuer}")
        value = value[len(prefix):]
    if not FHIR_USER.match(value):
        raise ValueError(f"fhirUser {value[:200]!r} is not a FHIR reference such as "
                         "Practitioner/123")
    return value


@dataclass(frozen=True)
class Issuer:
    """An allow-listed issuer as the dashboard uses it."""

    issuer: str
    client_id: str
    label: str


def list_issuers(session: Session) -> list[Issuer]:
    """The allow-list, by label."""
    rows = session.scalars(select(SmartIssuer).order_by(SmartIssuer.label, SmartIssuer.issuer))
    return [Issuer(r.issuer, r.client_id, r.label) for r in rows]


def allowed_issuer(session: Session, url: str) -> Issuer | None:
    """The allow-list entry for ``url`` (None when it is not listed or not a valid URL)."""
    try:
        issuer = normalise_issuer(url)
    except ValueError:
        return None
    row = session.scalars(select(SmartIssuer).where(SmartIssuer.issuer == issuer)).first()
    return None if row is None else Issuer(row.issuer, row.client_id, row.label)


def add_issuer(session: Session, url: str, client_id: str, actor: Actor,
               label: str = "") -> Issuer:
    """Allow an EHR issuer with the client id it registered KAP-CDS under (audited)."""
    issuer, client = normalise_issuer(url), (client_id or "").strip()[:200]
    if not client:
        raise ValueError("a client id is needed (the EHR gives it when KAP-CDS is registered)")
    if allowed_issuer(session, issuer) is not None:
        raise DuplicateRecordError(f"issuer {issuer} is already allowed")
    name = (label or "").strip()[:80] or (urlsplit(issuer).hostname or issuer)[:80]
    session.add(SmartIssuer(issuer=issuer, client_id=client, label=name,
                            added_by=actor.username, added_at=utcnow()))
    session.flush()
    audit.record(session, actor, "smart_issuer", SECURITY,
                 detail=f"allowed {issuer} (client id {client}, label {name})")
    return Issuer(issuer, client, name)


def remove_issuer(session: Session, url: str, actor: Actor) -> None:
    """Take an issuer off the allow-list with its fhirUser mappings (audited)."""
    issuer = normalise_issuer(url)
    if allowed_issuer(session, issuer) is None:
        raise RecordNotFoundError(f"issuer {issuer} is not allowed")
    gone = session.execute(delete(SmartIdentity).where(SmartIdentity.issuer == issuer))
    session.execute(delete(SmartIssuer).where(SmartIssuer.issuer == issuer))
    session.flush()
    audit.record(session, actor, "smart_issuer", SECURITY,
                 detail=f"removed {issuer} and its {gone.rowcount or 0} fhirUser mapping(s)")


@dataclass(frozen=True)
class Mapping:
    """One EHR user on one issuer and the account it signs in as."""

    issuer: str
    fhir_user: str
    username: str


def list_identities(session: Session) -> list[Mapping]:
    """Every fhirUser mapping, by issuer and fhirUser."""
    rows = session.execute(select(SmartIdentity, User.username)
                           .join(User, User.id == SmartIdentity.user_id)
                           .order_by(SmartIdentity.issuer, SmartIdentity.fhir_user))
    return [Mapping(r[0].issuer, r[0].fhir_user, r[1]) for r in rows]


def map_identity(session: Session, url: str, fhir_user: str, username: str,
                 actor: Actor) -> Mapping:
    """Let ``fhir_user`` on an allowed issuer sign in as ``username`` (audited)."""
    listed = allowed_issuer(session, url)
    if listed is None:
        raise RecordNotFoundError(f"issuer {url[:200]!r} is not on the SMART allow-list")
    who = normalise_fhir_user(listed.issuer, fhir_user)
    user = get_user(session, username)
    if user is None:
        raise RecordNotFoundError(f"no user {username!r}")
    if _identity(session, listed.issuer, who) is not None:
        raise DuplicateRecordError(f"{who} on {listed.issuer} is already mapped")
    session.add(SmartIdentity(issuer=listed.issuer, fhir_user=who, user_id=user.id,
                              added_by=actor.username, added_at=utcnow()))
    session.flush()
    audit.record(session, actor, "smart_identity", SECURITY,
                 detail=f"{who} on {listed.issuer} signs in as {user.username}")
    return Mapping(listed.issuer, who, user.username)


def unmap_identity(session: Session, url: str, fhir_user: str, actor: Actor) -> None:
    """Remove one fhirUser mapping (audited)."""
    issuer = normalise_issuer(url)
    row = _identity(session, issuer, normalise_fhir_user(issuer, fhir_user))
    if row is None:
        raise RecordNotFoundError(f"{fhir_user[:200]!r} on {issuer} is not mapped")
    session.delete(row)
    session.flush()
    audit.record(session, actor, "smart_identity", SECURITY,
                 detail=f"removed {row.fhir_user} on {issuer}")


def _identity(session: Session, issuer: str, fhir_user: str) -> SmartIdentity | None:
    return session.scalars(select(SmartIdentity).where(SmartIdentity.issuer == issuer,
                                                       SmartIdentity.fhir_user == fhir_user)
                           ).one_or_none()


def _refused(session: Session, shown: str, why: str) -> SignIn:
    session.rollback()
    audit.record(session, Actor(f"smart:{shown}"[:64], None), "login", SECURITY,
                 outcome="failure", detail=f"smart: {why}")
    session.commit()
    log.info("SMART launch refused for %s: %s", shown, why)
    return SignIn(False, f"smart:{shown}"[:64], reason="disabled" if "disabled" in why
                  else "no_account")


def smart_sign_in(session: Session, issuer: str, fhir_user: object) -> SignIn:
    """The account the verified ``fhirUser`` of ``issuer`` maps to; audited and committed
    (a refusal too, with the reason)."""
    shown = str(fhir_user or "?")[:120]
    try:
        who = normalise_fhir_user(issuer, str(fhir_user or ""))
    except ValueError as error:
        return _refused(session, shown, str(error))
    row = _identity(session, normalise_issuer(issuer), who)
    user = None if row is None else session.get(User, row.user_id)
    if user is None:
        return _refused(session, f"{who}@{issuer}", f"no account is mapped to {who} on {issuer}")
    if not user.active:
        return _refused(session, f"{who}@{issuer}", "the account is disabled")
    user.last_login_at = utcnow()
    session.flush()
    audit.record(session, Actor(user.username, user.role), "login", SECURITY,
                 detail=f"smart {who} on {issuer}")
    session.commit()
    log.info("SMART launch sign-in for %s (%s on %s)", user.username, who, issuer)
    return SignIn(True, user.username, user.role)
