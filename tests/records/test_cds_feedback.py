"""CDS Hooks feedback in the store: cards kept, feedback validated, counted per card type."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from records.cds_feedback import (
    FeedbackError,
    card_type,
    override_rates,
    record_cards,
    record_feedback,
)
from records.errors import AppendOnlyError
from records.tables.cds import CdsFeedback

SERVICE = "kapcds-order-sign"


def _cards() -> list[dict]:
    return [{"uuid": str(uuid.uuid4()), "summary": "KAP eligibility: not eligible",
             "indicator": "critical"},
            {"uuid": str(uuid.uuid4()), "summary": "Side-effect risks: BP reaction 12%",
             "indicator": "info"}]


def _override(card: str, code: str = "benefit-outweighs-risk") -> dict:
    return {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-12-07T10:00:00Z",
            "overrideReason": {"reason": {"code": code, "display": "Benefit outweighs risk",
                                          "system": "https://kapcds.example/override"},
                               "userComment": "discussed with the patient"}}


def test_feedback_is_stored_and_counted_per_card_type(db: Session) -> None:
    cards = _cards()
    record_cards(db, SERVICE, cards, "https://ehr.example", "Patient/123")
    db.commit()
    stored = record_feedback(db, SERVICE, {"feedback": [
        _override(cards[0]["uuid"]),
        {"card": cards[1]["uuid"], "outcome": "accepted",
         "outcomeTimestamp": "2026-12-07T10:01:00+01:00"}]}, "https://ehr.example")
    db.commit()
    assert stored == 2
    rates = override_rates(db).set_index("card type")
    assert rates.loc["KAP eligibility", "overridden"] == 1
    assert rates.loc["KAP eligibility", "override rate"] == 1.0
    assert rates.loc["KAP eligibility", "commonest reason"] == "Benefit outweighs risk"
    assert rates.loc["Side-effect risks", "accepted"] == 1
    assert rates.loc["Side-effect risks", "override rate"] == 0.0
    row = db.scalars(select(CdsFeedback).where(CdsFeedback.outcome == "overridden")).one()
    assert row.comment == "discussed with the patient"


@pytest.mark.parametrize(("body", "message"), [
    ({}, "non-empty list"),
    ({"feedback": [{"card": "x", "outcome": "maybe",
                    "outcomeTimestamp": "2026-12-07T10:00:00Z"}]}, "feedback[0].outcome"),
    ({"feedback": [{"card": "x", "outcome": "accepted"}]}, "outcomeTimestamp is required"),
    ({"feedback": [{"card": "x", "outcome": "accepted",
                    "outcomeTimestamp": "2026-12-07T10:00:00"}]}, "needs a time zone"),
    ({"feedback": [{"card": 7, "outcome": "accepted",
                    "outcomeTimestamp": "2026-12-07T10:00:00Z"}]}, "feedback[0].card"),
])
def test_bad_feedback_names_the_field(db: Session, body: dict, message: str) -> None:
    with pytest.raises(FeedbackError, match=message.replace("[", r"\[").replace("]", r"\]")):
        record_feedback(db, SERVICE, body, "https://ehr.example")


def test_feedback_on_a_card_never_returned_is_refused_and_nothing_is_stored(db: Session) -> None:
    cards = _cards()
    record_cards(db, SERVICE, cards, "https://ehr.example", "Patient/123")
    db.commit()
    with pytest.raises(FeedbackError, match="was not returned"):
        record_feedback(db, SERVICE, {"feedback": [_override(cards[0]["uuid"]),
                                                   _override(str(uuid.uuid4()))]},
                        "https://ehr.example")
    db.rollback()
    assert db.scalars(select(CdsFeedback)).all() == []


def test_feedback_rows_are_append_only(db: Session) -> None:
    cards = _cards()
    record_cards(db, SERVICE, cards, "https://ehr.example", "Patient/123")
    record_feedback(db, SERVICE, {"feedback": [_override(cards[0]["uuid"])]},
                    "https://ehr.example")
    db.commit()
    row = db.scalars(select(CdsFeedback)).one()
    row.outcome = "accepted"
    with pytest.raises(AppendOnlyError):
        db.commit()
    db.rollback()
    with pytest.raises(Exception, match="append-only"):
        db.execute(text("DELETE FROM cds_feedback"))
        db.commit()


def test_card_type_is_our_summary_before_the_colon() -> None:
    assert card_type("KAP eligibility: not eligible") == "KAP eligibility"
    assert card_type("Open the KAP-CDS candidate review") == "Open the KAP-CDS candidate review"
