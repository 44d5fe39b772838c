"""Model lab → Compare and promote: the per-outcome review of the candidate against the
current version, the outcomes it would grey or make worse named in a warning, and the
promotion itself behind an explicit confirmation and a typed reason (issue 23, defect 7).
The rule and the audit live in ``dashboard.services.lab.promotion``."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from dashboard.services.lab import promotion as lab_promotion
from models.store.promotion_review import MIN_REASON_CHARS, PromotionReview
from models.store.registry import Registry
from records.security.policy import Actor


def render_review(review: PromotionReview) -> None:
    """The comparison table and, when anything gets worse, a warning naming each outcome."""
    st.markdown("**Per outcome: current → candidate** (held-out test AUC of each version on "
                "its own test patients, calibration slope / intercept with 95 % CIs, the "
                "quality gate's verdict; the paired AUC difference on the patients neither "
                "version saw, when the comparison above ran)")
    st.dataframe(lab_promotion.review_frame(review), hide_index=True, key="ml_review")
    for line in review.warnings():
        st.error(line, icon=":material/warning:")
    if not review.needs_reason:
        st.caption("No outcome would become greyed or get worse.")


def render_promote(review: PromotionReview, registry: Registry, engine: Engine, actor: Actor,
                   label: str, rounds: int) -> None:
    """Confirmation, reason and the button; a refused promotion says why and changes
    nothing. Fresh keys per candidate and per promotion, so nothing carries over."""
    candidate = review.candidate
    harm = (" although it greys or worsens the outcomes named above"
            if review.needs_reason else "")
    confirm = st.checkbox(f"I have reviewed version {candidate} and want clinicians to use "
                          f"it{harm}", key=f"ml_confirm_{rounds}_{candidate}")
    reason = st.text_area(f"Reason for promoting (at least {MIN_REASON_CHARS} characters; "
                          "kept in the audit trail)", key=f"ml_reason_{rounds}_{candidate}",
                          height=80)
    if st.button("Promote to current", key="ml_promote", disabled=not confirm):
        try:
            message = lab_promotion.promote(registry, engine, actor, review, confirm, reason,
                                            label)
        except lab_promotion.PromotionRefused as refused:
            st.error(str(refused), icon=":material/block:")
            return
        st.session_state["ml_promoted"] = message
        st.session_state["ml_promotions"] = rounds + 1
        st.rerun()  # the banner and "Current version" now name the promoted version
