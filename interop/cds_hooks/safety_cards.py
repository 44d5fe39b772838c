"""CDS Hooks cards that must never be missed: suicide risk, session alerts, stale inputs.

Issue 23: a prefetch holding PHQ-9 item 9 = 3 got only ``info`` cards that never named it,
and a blood pressure from 2012 was used without saying how old it was. Here a positive item
9 (from a QuestionnaireResponse, a panel or an item Observation) is a ``critical`` card with
the suicide-risk wording the dashboard uses (``models.clinical.session_alerts``); the stored
patient's latest-session alerts are cards too (high → ``critical``, warning → ``warning``);
and every dated input older than the clinic's limit (``base.settings.clinical_limits``,
*unsourced* defaults) is named with its date, so an old value is never used silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from base.settings import ClinicalLimits, clinical_limits
from models.clinical.session_alerts import SUICIDE_RISK, item9_alert, suicide_risk_message
from models.contract import schema

VITALS = ("systolic_bp", "diastolic_bp", "heart_rate", "bmi")
SCALES = ("phq9_baseline", "gad7_baseline")
CardMaker = Callable[..., dict[str, Any]]


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else "an unknown date (undated)"


def stale_inputs(observed: Mapping[str, datetime | None], today: date,
                 limits: ClinicalLimits | None = None) -> list[tuple[str, datetime | None]]:
    """(feature, when) of every dated input older than its limit, and every undated one."""
    limits = limits or clinical_limits()
    out = []
    for name, when in observed.items():
        days = (limits.stale_vitals_days if name in VITALS
                else limits.stale_scales_days if name in SCALES else None)
        if days is None:
            continue
        if when is None or when.date() < today - timedelta(days=days):
            out.append((name, when))
    return out


def stale_text(stale: list[tuple[str, datetime | None]]) -> str:
    """``Systolic BP from 2012-03-04, PHQ-9 from …`` (lower-case labels kept as the schema's)."""
    return ", ".join(f"{schema.feature(n).label} from {_day(w)}" for n, w in stale)


def stale_card(stale: list[tuple[str, datetime | None]], version: str | None,
               make: CardMaker, limits: ClinicalLimits | None = None) -> dict[str, Any]:
    """One ``warning`` card naming each stale input and its date."""
    limits = limits or clinical_limits()
    return make(f"Old inputs used: {stale_text(stale)}"[:139],
                f"These inputs are older than the clinic's limit (vital signs "
                f"{limits.stale_vitals_days} days, PHQ-9/GAD-7 {limits.stale_scales_days} "
                f"days; unsourced defaults, settings KAPCDS_STALE_VITALS_DAYS and "
                f"KAPCDS_STALE_SCALES_DAYS) and were used as they are: {stale_text(stale)}. "
                "Measure them again before relying on the screen or the predictions.",
                "warning", version)


def item9_card(item9: int, when: datetime | None, version: str | None,
               make: CardMaker) -> dict[str, Any]:
    """The ``critical`` suicide-risk card for a positive PHQ-9 item 9."""
    return make(f"Suicide risk: PHQ-9 item 9 = {item9} on {_day(when)}",
                f"**{SUICIDE_RISK}**: {suicide_risk_message(item9)}. Answered on "
                f"{_day(when)} in the EHR's PHQ-9. Follow the clinic's suicide-risk "
                "protocol before any ketamine decision.", "critical", version)


def session_alert_cards(alerts: list[Any], version: str | None,
                        make: CardMaker) -> list[dict[str, Any]]:
    """A card per alert of the stored patient's latest session (the progress page's alerts)."""
    return [make(f"Session {a.session_number} alert: {a.kind}",
                 f"**{a.kind}** ({a.severity}): {a.message}. From the KAP-CDS record of "
                 f"{a.patient_id}, latest session.",
                 "critical" if a.severity == "high" else "warning", version) for a in alerts]


def safety_cards(item9: int | None, item9_at: datetime | None, alerts: list[Any],
                 observed: Mapping[str, datetime | None], today: date, version: str | None,
                 make: CardMaker) -> list[dict[str, Any]]:
    """Every safety card for one call, most urgent first."""
    cards = []
    if item9 is not None and item9_alert(item9):
        cards.append(item9_card(int(item9), item9_at, version, make))
    cards += sorted(session_alert_cards(alerts, version, make),
                    key=lambda c: c["indicator"] != "critical")
    stale = stale_inputs(observed, today)
    if stale:
        cards.append(stale_card(stale, version, make))
    return cards
