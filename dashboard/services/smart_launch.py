"""SMART App Launch for the dashboard, without Streamlit (issue 26).

``begin_launch`` turns an EHR launch (``iss`` + ``launch``) or a standalone sign-in into
the authorisation request, refusing (and auditing) an issuer that is not on the admin's
allow-list before any request. ``finish_launch`` completes it: the callback is checked and
the code exchanged (``interop.smart.flow``), the verified ``fhirUser`` is matched to an
account (``records.security.smart_accounts``; unknown: refused and audited), the launched
patient is read from the EHR with the access token and saved through the same importer as
the FHIR upload (``interop.fhir.importer``), and a sign-in session is opened like any other
(``records.security.signin_sessions``, method ``oidc``: SMART's sign-in is OpenID Connect).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine

from dashboard.services.signin import sso_login_key
from interop.fhir.importer.batch import import_fhir
from interop.fhir.importer.result import suicide_alert
from interop.fhir.importer.store import store_import
from interop.notify.urgent import UrgentAlert, push_urgent
from interop.smart import flow
from interop.smart.discovery import check_allowed, fetch_configuration
from interop.smart.fhir_read import read_patient
from interop.smart.settings import SmartError, SmartSettings
from records.audit import trail as audit
from records.db import session_factory
from records.errors import RecordError
from records.security import signin_sessions as sessions
from records.security import smart_pending
from records.security.policy import IDENTIFIED, SECURITY, AccessDenied, Actor, require_category
from records.security.smart_accounts import Issuer, list_issuers, smart_sign_in
from records.tables.clinical import utcnow

log = logging.getLogger(__name__)
SOURCE_FORMAT = "FHIR R4 (SMART launch)"
UNKNOWN_USER = ("The EHR signed you in as {who}, but no KAP-CDS account is mapped to that "
                "user on {iss}. Ask an administrator to map it on the Users page.")
NO_PATIENTS = ("Signed in, but the {role} role may not open patient records, so the launched "
               "patient was not imported.")


@dataclass(frozen=True)
class Landing:
    """A completed launch: the session token and what to open (notes for the clinician)."""

    token: str = field(repr=False)
    username: str
    role: str
    patient_id: str | None = None
    notes: list[str] = field(default_factory=list)
    created: bool = False
    app_context: str = ""
    alert: str | None = None  # the importer's suicide-risk alert: never folded away


def allowed_issuers(engine: Engine) -> list[Issuer]:
    """The allow-listed issuers (for the standalone sign-in buttons)."""
    with session_factory(engine)() as session:
        return list_issuers(session)


def begin_launch(engine: Engine, iss: str, launch: str | None,
                 settings: SmartSettings) -> flow.Pending:
    """The authorisation request for ``iss`` (SmartError, audited, when it is not allowed)."""
    issuers = {i.issuer: i for i in allowed_issuers(engine)}
    try:
        fhir_base = check_allowed(iss, issuers)
    except SmartError as error:
        audit.record_now(engine, Actor("smart:?", None), "login", SECURITY, outcome="failure",
                         detail=f"smart: issuer {str(iss)[:200]!r} is not allowed; nothing sent")
        raise error
    config = fetch_configuration(fhir_base, issuers, settings.timeout_s)
    return flow.begin(config, issuers[fhir_base].client_id, settings.redirect_uri, launch)


def _import(engine: Engine, actor: Actor, launched: flow.Launched,
            timeout: float) -> tuple[str, bool, list[str], str | None]:
    """Read and save the launched patient (the FHIR upload's importer); audited."""
    bundle, notes = read_patient(launched.fhir_base, launched.patient, launched.access_token,
                                 timeout)
    report = import_fhir(bundle, source=f"SMART launch {launched.fhir_base}")
    if not report.results:
        raise ValueError("; ".join(report.lines()) or "the EHR sent no usable Patient")
    result = report.results[0]
    with session_factory(engine)() as session:
        stored = store_import(session, result, commit=False, source_format=SOURCE_FORMAT)
        pid, alert = stored.patient.patient_id, suicide_alert(result)
        audit.record(session, actor, "import", IDENTIFIED, patient_id=pid,
                     detail=f"SMART launch from {launched.fhir_base} (Patient/"
                            f"{launched.patient}); {'new' if stored.created else 'updated'}; "
                            f"gaps: {', '.join(stored.patient.data_gaps or []) or 'none'}"
                            + (f"; alert shown: {alert}" if alert else ""))
        session.commit()
    if alert and stored.created:  # a first import's alert reaches on-call too (HAZ-009)
        push_urgent(engine, actor, UrgentAlert(pid, f"SMART launch ({launched.fhir_base})",
                                               alert, utcnow()))
    return pid, stored.created, [*notes, *result.warnings], alert


def keep_pending(engine: Engine, pending: flow.Pending, binding: str, seconds: int) -> None:
    """Keep a launch in the store until its callback (any replica may receive it)."""
    with session_factory(engine)() as session:
        smart_pending.keep(session, pending.state, binding, pending.to_record(), seconds)
        session.commit()


def take_pending(engine: Engine, state: str) -> tuple[flow.Pending, str] | None:
    """The launch begun with ``state`` and its binding hash, used up; None when unknown,
    used or expired (or its stored record is malformed: refused, never guessed)."""
    with session_factory(engine)() as session:
        found = smart_pending.take(session, state)
        session.commit()
    if found is None:
        return None
    try:
        return flow.Pending.from_record(state, found[0]), found[1]
    except (KeyError, TypeError, ValueError):
        log.error("a stored SMART launch record is malformed: refused")
        return None


def finish_launch(engine: Engine, pending: flow.Pending, params: Mapping[str, str],
                  settings: SmartSettings, client: str | None = None) -> Landing:
    """Complete the launch: sign in the mapped account and open the launched patient."""
    launched = flow.complete(pending, params, settings.timeout_s)
    with session_factory(engine)() as session:
        result = smart_sign_in(session, launched.fhir_base, launched.fhir_user)
    if not result.ok:
        raise SmartError(UNKNOWN_USER.format(who=launched.fhir_user[:200],
                                             iss=launched.fhir_base))
    actor = Actor(result.username, result.role)
    patient_id, created, notes, alert = None, False, [], None
    try:
        require_category(actor.role, IDENTIFIED)
    except AccessDenied:
        notes = [NO_PATIENTS.format(role=actor.role)]
    else:
        try:
            patient_id, created, notes, alert = _import(engine, actor, launched,
                                                        settings.timeout_s)
        except (SmartError, RecordError, ValueError) as error:  # signed in all the same
            log.warning("SMART launch: patient %s not imported: %s", launched.patient, error)
            audit.record_now(engine, actor, "import", IDENTIFIED, outcome="failure",
                             detail=f"SMART launch from {launched.fhir_base}: {error}"[:500])
            notes = [f"The launched patient could not be opened: {error}"]
    with session_factory(engine)() as session:
        token = sessions.start(session, actor.username, "oidc", client=client,
                               sso_login=sso_login_key(launched.claims))
        session.commit()
    return Landing(token, actor.username, actor.role or "", patient_id, notes, created,
                   launched.app_context, alert)
