"""An urgent alert is pushed to the clinic's on-call address, not only shown on a page.

A suicide-risk answer (PHQ-9 item 9 > 0, C-SSRS ideation ≥ 3) recorded at a session, in a
patient's questionnaire or in an imported record raises an alert that the pages show; but a
page shows it only to someone who looks (HAZ-009, HAZ-180). Here the same alert is e-mailed
to ``KAPCDS_URGENT_ALERT_EMAIL`` (one or more addresses) through the clinic's SMTP server.

The message carries the pseudonymous patient id, what was answered and where to look —
never the name (e-mail leaves the clinic's systems). Every attempt is audited
(``urgent_alert_push``: success, or failure with the reason), and a failure never undoes
or hides the record that raised the alert: it is already committed and shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from base.clock import clinic_text
from base.proms_settings import smtp_settings, urgent_alert_recipients
from interop.patient_app.delivery import send_email
from records.audit import trail
from records.security.policy import IDENTIFIED, Actor

log = logging.getLogger(__name__)
ACTION = "urgent_alert_push"


@dataclass(frozen=True)
class UrgentAlert:
    """What raised the alert, for whom and when (no name: the id is enough to look it up)."""

    patient_id: str
    source: str  # "session 9", "patient questionnaire (PHQ-9)", "FHIR import"
    finding: str  # the alert's wording, e.g. models.clinical.session_alerts wording
    raised_at: datetime


@dataclass(frozen=True)
class PushOutcome:
    """Who was e-mailed, or why nobody was."""

    sent_to: tuple[str, ...]
    problem: str | None = None


def message(alert: UrgentAlert) -> tuple[str, str]:
    """Subject and body of the on-call e-mail."""
    subject = f"URGENT: suicide-risk alert for patient {alert.patient_id}"
    body = (f"An urgent suicide-risk alert was raised for patient {alert.patient_id} "
            f"({alert.source}, {clinic_text(alert.raised_at)}):\n\n{alert.finding}\n\n"
            "Open KAP-CDS (Home, or Treatment progress for this patient), contact the patient "
            "today and acknowledge the alert with what was done.\n\n"
            "This message was sent automatically; replies are not read.\n")
    return subject, body


def push_urgent(engine: Engine, actor: Actor, alert: UrgentAlert) -> PushOutcome:
    """E-mail ``alert`` to every on-call address; audit the attempt. Never raises."""
    try:
        recipients = urgent_alert_recipients()
        if not recipients:
            outcome = PushOutcome((), "no on-call address is set (KAPCDS_URGENT_ALERT_EMAIL)")
        else:
            subject, body = message(alert)
            smtp = smtp_settings()
            for address in recipients:
                send_email(smtp, address, subject, body)
            outcome = PushOutcome(tuple(recipients))
    except Exception as error:  # noqa: BLE001 - reported and audited, never raised
        outcome = PushOutcome((), f"{type(error).__name__}: {error}"[:500])
    _audit(engine, actor, alert, outcome)
    return outcome


def _audit(engine: Engine, actor: Actor, alert: UrgentAlert, outcome: PushOutcome) -> None:
    what = f"{alert.source}: {alert.finding}"[:800]
    try:
        if outcome.problem is None:
            trail.record_now(engine, actor, ACTION, IDENTIFIED, patient_id=alert.patient_id,
                             detail=f"e-mailed to {', '.join(outcome.sent_to)}; {what}")
            log.info("urgent alert of %s e-mailed to on-call", alert.patient_id)
        else:
            trail.record_now(engine, actor, ACTION, IDENTIFIED, patient_id=alert.patient_id,
                             outcome="failure", detail=f"not sent: {outcome.problem}; {what}")
            log.error("urgent alert of %s NOT e-mailed: %s", alert.patient_id,
                      outcome.problem)
    except Exception:  # noqa: BLE001 - the alert itself is stored and shown regardless
        log.exception("could not audit the urgent-alert push for %s", alert.patient_id)
