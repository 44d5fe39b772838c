"""CDS Hooks feedback (CDS Hooks 2.0 §Feedback): which cards the clinic accepted or overrode.

The service records every card it returns (``record_cards``), then the EHR's feedback names
cards by uuid (``record_feedback``); ``override_rates`` counts both per card type for the
monitoring view. A card's type is the part of our own summary before the colon ("KAP
eligibility", "Side-effect risks", …): cards hold no FHIR text, so neither do these rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from records.tables.cds import OUTCOMES, CdsCard, CdsFeedback

MAX_ITEMS = 50  # feedback entries per request (the spec's array is per card shown)
MAX_COMMENT = 1000


class FeedbackError(ValueError):
    """The feedback body breaks the spec; the message names the field (HTTP 400)."""


def card_type(summary: str) -> str:
    """The card's type: our summary's text before the first colon (at most 80 characters)."""
    return summary.split(":", 1)[0].strip()[:80] or "card"


def record_cards(session: Session, service_id: str, cards: Iterable[Mapping[str, Any]],
                 issuer: str, patient_ref: str) -> int:
    """Keep each returned card's uuid, type and indicator (in the caller's transaction)."""
    count = 0
    for card in cards:
        session.add(CdsCard(uuid=str(card["uuid"]), service_id=service_id,
                            card_type=card_type(str(card.get("summary", ""))),
                            indicator=str(card.get("indicator", "info"))[:16],
                            issuer=issuer[:200], patient_ref=patient_ref[:200]))
        count += 1
    return count


def _when(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise FeedbackError(f"{where}.outcomeTimestamp is required (an ISO 8601 instant)")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise FeedbackError(f"{where}.outcomeTimestamp {value[:40]!r} is not an ISO 8601 "
                            "instant") from error
    if moment.tzinfo is None:
        raise FeedbackError(f"{where}.outcomeTimestamp needs a time zone")
    return moment.astimezone(timezone.utc)


def _override(item: Mapping[str, Any], where: str) -> tuple[str | None, str | None, str | None]:
    reason = item.get("overrideReason")
    if reason is None:
        return None, None, None
    if not isinstance(reason, dict):
        raise FeedbackError(f"{where}.overrideReason must be an object")
    coding = reason.get("reason") or {}
    if not isinstance(coding, dict):
        raise FeedbackError(f"{where}.overrideReason.reason must be a Coding")
    comment = reason.get("userComment")
    if comment is not None and not isinstance(comment, str):
        raise FeedbackError(f"{where}.overrideReason.userComment must be text")
    code = coding.get("code")
    display = coding.get("display")
    return (str(code)[:64] if code is not None else None,
            str(display)[:200] if display is not None else None,
            comment[:MAX_COMMENT] if comment else None)


def _entry(item: Any, index: int, service_id: str, issuer: str) -> CdsFeedback:
    where = f"feedback[{index}]"
    if not isinstance(item, dict):
        raise FeedbackError(f"{where} must be an object")
    card = item.get("card")
    if not isinstance(card, str) or not 1 <= len(card) <= 36:
        raise FeedbackError(f"{where}.card must be the uuid of a card this service returned")
    outcome = item.get("outcome")
    if outcome not in OUTCOMES:
        raise FeedbackError(f"{where}.outcome must be one of {', '.join(OUTCOMES)}")
    code, display, comment = _override(item, where)
    if outcome == "accepted" and (code or comment):
        raise FeedbackError(f"{where}.overrideReason is only allowed when overridden")
    accepted = item.get("acceptedSuggestions")
    if accepted is not None and not isinstance(accepted, list):
        raise FeedbackError(f"{where}.acceptedSuggestions must be a list")
    return CdsFeedback(card_uuid=card, service_id=service_id, outcome=outcome,
                       override_code=code, override_display=display, comment=comment,
                       accepted_suggestions=json.dumps(accepted)[:2000] if accepted else None,
                       outcome_at=_when(item.get("outcomeTimestamp"), where),
                       issuer=issuer[:200])


def record_feedback(session: Session, service_id: str, body: Any, issuer: str) -> int:
    """Validate a feedback body and append every entry, all or nothing; the count stored.

    A card this service never returned is refused by name: feedback on an unknown uuid
    would count toward no card type and hide a real override.
    """
    items = body.get("feedback") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise FeedbackError("feedback must be a non-empty list")
    if len(items) > MAX_ITEMS:
        raise FeedbackError(f"at most {MAX_ITEMS} feedback entries per request")
    rows = [_entry(item, i, service_id, issuer) for i, item in enumerate(items)]
    known = set(session.scalars(select(CdsCard.uuid).where(
        CdsCard.uuid.in_([r.card_uuid for r in rows]), CdsCard.service_id == service_id)))
    unknown = [r.card_uuid for r in rows if r.card_uuid not in known]
    if unknown:
        raise FeedbackError(f"card {unknown[0]!r} was not returned by {service_id}")
    session.add_all(rows)
    return len(rows)


def override_rates(session: Session) -> pd.DataFrame:
    """Per card type: cards shown, accepted, overridden, override rate, commonest reason."""
    shown = dict(session.execute(select(CdsCard.card_type, func.count())
                                 .group_by(CdsCard.card_type)).all())
    rows = session.execute(select(CdsCard.card_type, CdsFeedback.outcome,
                                  CdsFeedback.override_display, CdsFeedback.override_code)
                           .join(CdsCard, CdsCard.uuid == CdsFeedback.card_uuid)).all()
    frame = pd.DataFrame(rows, columns=["card_type", "outcome", "display", "code"])
    out = []
    for kind, count in sorted(shown.items()):
        mine = frame[frame["card_type"] == kind]
        accepted = int((mine["outcome"] == "accepted").sum())
        overridden = mine[mine["outcome"] == "overridden"]
        answered = accepted + len(overridden)
        reasons = overridden["display"].fillna(overridden["code"]).dropna()
        out.append({"card type": kind, "shown": int(count), "accepted": accepted,
                    "overridden": len(overridden),
                    "override rate": len(overridden) / answered if answered else None,
                    "commonest reason": reasons.mode().iloc[0] if len(reasons) else None})
    return pd.DataFrame(out, columns=["card type", "shown", "accepted", "overridden",
                                      "override rate", "commonest reason"])
