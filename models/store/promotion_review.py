"""What promoting a candidate version would change for clinicians, outcome by outcome
(issue 23, defect 7: a candidate lower on 5 of 6 AUCs, whose promotion greyed out the
dissociation model for every clinician, was promoted with one tick and no word of either).

Both model cards are compared: each outcome's held-out test AUC with its 95 % CI (each
version on its own test patients), calibration slope and intercept, and the quality gate's
verdict. When the caller has a paired comparison on patients neither version saw (the
model lab's), its AUC differences count too. Every outcome that would become greyed or get
worse is named; such a promotion needs an explicit confirmation and a typed reason, which
goes into the audit trail. The dashboard and ``kapcds promote`` both ask this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from models.clinical.quality_gate import OutcomeQuality, outcome_quality
from models.contract.followup_schema import RELAPSE
from models.contract.schema import OUTCOMES
from models.store.card_text import format_ci

MIN_REASON_CHARS = 10  # a reason is a sentence, not "ok": enough to say why
Paired = Mapping[str, tuple[float, float, float]]  # outcome → (difference, lo, hi) in AUC


def _label(name: str) -> str:
    known = {o.name: o.label for o in (*OUTCOMES, RELAPSE)}
    return known.get(name, name)


@dataclass(frozen=True)
class OutcomeChange:
    """One outcome, current version against candidate."""

    name: str
    current: OutcomeQuality | None  # None: the current version has no such outcome
    candidate: OutcomeQuality | None
    current_metrics: dict[str, Any] = field(default_factory=dict)
    candidate_metrics: dict[str, Any] = field(default_factory=dict)
    paired: tuple[float, float, float] | None = None  # candidate − current, 95 % CI

    @property
    def label(self) -> str:
        return _label(self.name)

    @property
    def becomes_greyed(self) -> bool:
        """Shown to clinicians now, greyed (or gone) after the promotion."""
        return bool(self.current and self.current.reliable and
                    not (self.candidate and self.candidate.reliable))

    @property
    def worse(self) -> bool:
        """Lower held-out AUC than the current version, or lower on the paired patients."""
        lower_card = (self.current is not None and self.candidate is not None and
                      self.current.auc is not None and self.candidate.auc is not None and
                      self.candidate.auc < self.current.auc)
        return lower_card or (self.paired is not None and self.paired[0] < 0)

    def why_worse(self) -> str:
        """The figures that make this outcome worse, in words."""
        parts = []
        if self.current and self.candidate and self.current.auc is not None and \
                self.candidate.auc is not None and self.candidate.auc < self.current.auc:
            parts.append(f"held-out AUC {self.current.auc_text} → {self.candidate.auc_text}")
        if self.paired is not None and self.paired[0] < 0:
            diff, lo, hi = self.paired
            parts.append(f"{diff:+.3f} (95 % CI {lo:+.3f} to {hi:+.3f}) on the patients "
                         "neither version saw")
        return "; ".join(parts)

    def row(self) -> dict[str, str]:
        """The comparison as text cells (a table row on the page and in the CLI)."""
        def gate(q: OutcomeQuality | None) -> str:
            return "absent" if q is None else "shown" if q.reliable else "greyed"

        change = ", ".join(word for word, flag in (("becomes greyed", self.becomes_greyed),
                                                   ("worse", self.worse)) if flag)
        paired = ("" if self.paired is None else
                  f"{self.paired[0]:+.3f} ({self.paired[1]:+.3f} to {self.paired[2]:+.3f})")
        return {"outcome": self.label,
                "current AUC (95 % CI)": self.current.auc_text if self.current else "absent",
                "candidate AUC (95 % CI)": (self.candidate.auc_text if self.candidate
                                            else "absent"),
                "paired AUC difference": paired,
                "current slope / intercept": _calibration(self.current_metrics),
                "candidate slope / intercept": _calibration(self.candidate_metrics),
                "gate now": gate(self.current), "gate after": gate(self.candidate),
                "change": change}


def _calibration(metrics: Mapping[str, Any]) -> str:
    if not metrics:
        return "absent"
    return (f"{format_ci(metrics.get('calibration_slope'), 2)} / "
            f"{format_ci(metrics.get('calibration_intercept'), 2)}")


@dataclass(frozen=True)
class PromotionReview:
    """Everything a promotion would change, and what it needs before it may go ahead."""

    candidate: str
    current: str | None
    changes: list[OutcomeChange]

    @property
    def greyed(self) -> list[str]:
        return [c.label for c in self.changes if c.becomes_greyed]

    @property
    def worse(self) -> list[str]:
        return [c.label for c in self.changes if c.worse]

    @property
    def needs_reason(self) -> bool:
        """Whether the promotion greys an outcome or makes one worse."""
        return bool(self.greyed or self.worse)

    def warnings(self) -> list[str]:
        """One sentence per kind of harm, naming every outcome concerned."""
        lines = []
        greyed = [c for c in self.changes if c.becomes_greyed]
        if greyed:
            lines.append("Would become greyed for every clinician (fails the quality gate): "
                         + "; ".join(f"{c.label} — {_gate_words(c.candidate)}"
                                     for c in greyed) + ".")
        worse = [c for c in self.changes if c.worse]
        if worse:
            lines.append("Worse than the current version: " + "; ".join(
                f"{c.label} ({c.why_worse()})" for c in worse) + ".")
        return lines

    def refusal(self, reason: str | None, confirmed: bool,
                reason_always: bool = False) -> str | None:
        """Why the promotion may not go ahead yet (None: it may). A promotion that greys
        or worsens an outcome (or any, with ``reason_always``) needs ``confirmed`` and a
        reason of at least ``MIN_REASON_CHARS`` characters."""
        if not (reason_always or self.needs_reason):
            return None
        if not confirmed:
            if not self.needs_reason:
                return "confirm the promotion explicitly"
            named = self.greyed + [w for w in self.worse if w not in self.greyed]
            return f"this promotion greys or worsens {', '.join(named)}: confirm it explicitly"
        if len((reason or "").strip()) < MIN_REASON_CHARS:
            return (f"type the reason for this promotion (at least {MIN_REASON_CHARS} "
                    "characters); it goes into the audit trail")
        return None

    def audit_detail(self, reason: str | None) -> str:
        """The ``model_promotion`` entry's detail: what, replacing what, why, and the harm
        the promoter accepted."""
        text = f"{self.candidate} (was {self.current or 'none'})"
        if reason and reason.strip():
            text += f"; reason: {' '.join(reason.split())}"
        if self.greyed:
            text += f"; becomes greyed: {', '.join(self.greyed)}"
        if self.worse:
            text += f"; worse: {', '.join(self.worse)}"
        return text[:2000]


def _gate_words(quality: OutcomeQuality | None) -> str:
    if quality is None:
        return "the candidate has no model for it"
    return (f"held-out AUC {quality.auc_text}, lower bound below {quality.threshold:.2f}"
            if quality.auc is not None else "no held-out AUC in the candidate's card")


def review_promotion(candidate: str, candidate_card: Mapping[str, Any], current: str | None,
                     current_card: Mapping[str, Any] | None,
                     paired: Paired | None = None) -> PromotionReview:
    """Compare the two cards outcome by outcome (``paired``: AUC differences candidate −
    current on patients neither version saw, keyed by outcome name, when available)."""
    cand_metrics = candidate_card.get("metrics") or {}
    cur_metrics = (current_card or {}).get("metrics") or {}
    order = [o.name for o in (*OUTCOMES, RELAPSE)]
    names = [n for n in order if n in cand_metrics or n in cur_metrics]
    names += sorted((set(cand_metrics) | set(cur_metrics)) - set(names))
    changes = [OutcomeChange(
        name, outcome_quality(current_card, name) if name in cur_metrics else None,
        outcome_quality(candidate_card, name) if name in cand_metrics else None,
        dict(cur_metrics.get(name) or {}), dict(cand_metrics.get(name) or {}),
        (paired or {}).get(name)) for name in names]
    return PromotionReview(candidate, current, changes)
