"""Compare and promote (model lab): the per-outcome review of a candidate against the
current version, and the promotion itself, refused without an explicit confirmation and a
typed reason (issue 23, defect 7). No Streamlit here; the widget only renders and asks.

The rule is ``models.store.promotion_review`` (shared with ``kapcds promote``); the lab always
asks for a reason, not only when an outcome is greyed or worse, because a promotion
changes what every clinician is shown from their next page load.
"""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy.engine import Engine

from dashboard.services.lab.versions import Comparison, promotion_message
from models.store.promotion_review import PromotionReview, review_promotion
from models.store.registry import Registry
from records.audit.registry_events import promotion_audit
from records.security.policy import Actor

log = logging.getLogger(__name__)


class PromotionRefused(ValueError):
    """The promotion may not go ahead: the message says what is missing."""


def review(candidate: str, candidate_card: dict, current: str | None,
           current_card: dict | None, comparison: Comparison | None) -> PromotionReview:
    """The per-outcome review, with the paired AUC differences when a comparison ran."""
    paired = comparison.auc_differences if comparison is not None else None
    return review_promotion(candidate, candidate_card, current, current_card, paired)


def review_frame(promotion: PromotionReview) -> pd.DataFrame:
    """One row per outcome: AUCs with CIs, calibration, gate now and after, what changes."""
    return pd.DataFrame([change.row() for change in promotion.changes])


def promote(registry: Registry, engine: Engine, actor: Actor, promotion: PromotionReview,
            confirmed: bool, reason: str | None, label: str) -> str:
    """Promote the reviewed candidate and audit it with the reason and the accepted harm;
    ``PromotionRefused`` (nothing changed) without confirmation or reason."""
    problem = promotion.refusal(reason, confirmed, reason_always=True)
    if problem:
        raise PromotionRefused(f"Not promoted: {problem}.")
    # the signed promotion record's audit entry is committed before it takes effect
    registry.promote(promotion.candidate, by=actor.username, reason=" ".join(reason.split()),
                     audit=promotion_audit(engine, actor, promotion.audit_detail(reason)))
    log.info("promoted %s by %s", promotion.candidate, actor.username)
    return promotion_message(promotion.candidate, label, promotion.current)
