"""Issue 23, defect 7: what a promotion would change, outcome by outcome. A candidate lower
on 5 of 6 AUCs whose promotion greys dissociation must name all six, and may go ahead only
with an explicit confirmation and a typed reason (constructed model cards, no training)."""

from __future__ import annotations

import pytest

from base.settings import QUALITY_GATE_MIN_AUC_LOWER
from models.contract.schema import OUTCOMES, outcome
from models.store.promotion_review import MIN_REASON_CHARS, review_promotion

NAMES = [o.name for o in OUTCOMES]
CAL = {"calibration_slope": {"value": 1.0, "lo": 0.8, "hi": 1.2},
       "calibration_intercept": {"value": 0.0, "lo": -0.2, "hi": 0.2}}


def _card(aucs: dict[str, tuple[float, float, float]]) -> dict:
    return {"metrics": {name: {"auc": {"value": v, "lo": lo, "hi": hi}, **CAL}
                        for name, (v, lo, hi) in aucs.items()}}


CURRENT = _card({name: (0.78, 0.72, 0.84) for name in NAMES})
CURRENT["metrics"]["nausea_vomiting"]["auc"] = {"value": 0.58, "lo": 0.52, "hi": 0.64}
WORSE = _card({**{name: (0.74, 0.68, 0.80) for name in NAMES},
               "significant_dissociation": (0.66, 0.58, 0.74),  # lower bound below 0.60
               "nausea_vomiting": (0.58, 0.52, 0.64)})  # as before: not worse, still greyed
BETTER = _card({**{name: (0.80, 0.75, 0.85) for name in NAMES},
                "nausea_vomiting": (0.60, 0.54, 0.66)})


def label(name: str) -> str:
    return outcome(name).label


def test_the_defect_names_the_greyed_outcome_and_every_worse_one() -> None:
    review = review_promotion("cand", WORSE, "cur", CURRENT)
    assert review.greyed == [label("significant_dissociation")]
    assert review.worse == [label(n) for n in NAMES if n != "nausea_vomiting"]
    assert len(review.worse) == 5 and review.needs_reason
    greyed, worse = review.warnings()
    assert greyed.startswith("Would become greyed for every clinician (fails the quality "
                             "gate): Significant dissociation — held-out AUC 0.66 (95 % CI "
                             f"0.58–0.74), lower bound below {QUALITY_GATE_MIN_AUC_LOWER:.2f}")
    assert worse.startswith("Worse than the current version: Response (held-out AUC 0.78 "
                            "(95 % CI 0.72–0.84) → 0.74 (95 % CI 0.68–0.80))")
    for name in review.worse:
        assert name in worse


def test_each_row_shows_both_aucs_calibration_and_the_gate() -> None:
    rows = {c.name: c.row() for c in review_promotion("cand", WORSE, "cur", CURRENT).changes}
    assert list(rows) == NAMES
    row = rows["significant_dissociation"]
    assert row["current AUC (95 % CI)"] == "0.78 (95 % CI 0.72–0.84)"
    assert row["candidate AUC (95 % CI)"] == "0.66 (95 % CI 0.58–0.74)"
    assert row["candidate slope / intercept"] == "1.00 (0.80–1.20) / 0.00 (-0.20–0.20)"
    assert (row["gate now"], row["gate after"], row["change"]) == (
        "shown", "greyed", "becomes greyed, worse")
    assert rows["nausea_vomiting"]["change"] == ""


def test_refused_without_confirmation_then_without_a_reason() -> None:
    review = review_promotion("cand", WORSE, "cur", CURRENT)
    assert "greys or worsens Significant dissociation, Response" in review.refusal(None, False)
    assert "type the reason" in review.refusal(None, True)
    assert "type the reason" in review.refusal("ok", True)
    assert "type the reason" in review.refusal(" " * 20, True)
    assert review.refusal("x" * MIN_REASON_CHARS, True) is None


def test_a_better_candidate_needs_nothing_unless_the_caller_always_asks() -> None:
    review = review_promotion("cand", BETTER, "cur", CURRENT)
    assert (review.greyed, review.worse, review.warnings()) == ([], [], [])
    assert review.refusal(None, False) is None
    assert review.refusal(None, False, reason_always=True) == "confirm the promotion explicitly"
    assert "type the reason" in review.refusal("", True, reason_always=True)
    assert review.refusal("retrained on the spring data", True, reason_always=True) is None


def test_a_paired_drop_counts_as_worse_even_when_the_cards_agree() -> None:
    paired = {"response": (-0.021, -0.035, -0.008), "remission": (0.004, -0.01, 0.02)}
    review = review_promotion("cand", CURRENT, "cur", CURRENT, paired)
    assert review.worse == [label("response")]
    assert "-0.021 (95 % CI -0.035 to -0.008) on the patients neither version saw" in \
        review.warnings()[0]


def test_an_outcome_the_candidate_lacks_is_greyed_and_one_it_adds_is_not_a_loss() -> None:
    candidate = _card({n: (0.80, 0.75, 0.85) for n in NAMES if n != "dropout"})
    candidate["metrics"]["relapse"] = {"auc": {"value": 0.55, "lo": 0.45, "hi": 0.65}}
    review = review_promotion("cand", candidate, "cur", CURRENT)
    assert review.greyed == [label("dropout")]
    assert "the candidate has no model for it" in review.warnings()[0]
    relapse = [c for c in review.changes if c.name == "relapse"][0]
    assert not relapse.becomes_greyed and relapse.row()["gate now"] == "absent"


def test_the_audit_detail_holds_the_reason_and_the_accepted_harm() -> None:
    review = review_promotion("cand", WORSE, "cur", CURRENT)
    detail = review.audit_detail("  needed for the\nnew clinic  ")
    assert detail == ("cand (was cur); reason: needed for the new clinic; becomes greyed: "
                      "Significant dissociation; worse: " + ", ".join(review.worse))


@pytest.mark.parametrize("current_card", [None, {}])
def test_a_first_promotion_has_nothing_to_lose(current_card) -> None:
    review = review_promotion("cand", WORSE, None, current_card)
    assert not review.needs_reason and review.audit_detail(None) == "cand (was none)"
