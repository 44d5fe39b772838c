"""The per-outcome quality gate: does an outcome model rank patients well enough to show?

The rule (issue 12, clinical-reference §7): an outcome is *reliable* when the lower bound of
the 95 % bootstrap interval of its ROC AUC on held-out test patients (from the model card) is
at least ``base.settings.QUALITY_GATE_MIN_AUC_LOWER`` (0.60, the "fails to discriminate" /
"poor" boundary of Hosmer & Lemeshow's rule of thumb). An outcome without that evidence in
the card is not reliable either. A gated outcome is shown greyed with ``UNRELIABLE``, and
with no probability for the patient, percentile, calibration bin, explanation or waterfall.

Clinical rule, so it lives in the model layer: every page, the PDF report, the CLI and the
CDS Hooks cards ask this module, and so say the same thing about the same outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from base.settings import QUALITY_GATE_MIN_AUC_LOWER

UNRELIABLE = "this model does not reliably rank patients for this outcome"
RULE = ("An outcome's predictions are shown only when the lower bound of the 95 % bootstrap "
        "interval of its ROC AUC on held-out test patients is at least {threshold:.2f} (the "
        "'fails to discriminate' boundary of the Hosmer & Lemeshow rule of thumb). Below it "
        "the outcome is shown greyed, with no patient-level probability, percentile, "
        "calibration bin or explanation.")


@dataclass(frozen=True)
class OutcomeQuality:
    """The gate's verdict on one outcome of a model card."""

    name: str
    reliable: bool
    reason: str  # one sentence a clinician can read
    auc: float | None
    lo: float | None
    hi: float | None
    threshold: float = QUALITY_GATE_MIN_AUC_LOWER
    prevalence: float | None = None  # the outcome's rate among the held-out test patients

    @property
    def auc_text(self) -> str:
        """``0.54 (95 % CI 0.49–0.59)``, or ``n/a``."""
        if self.auc is None:
            return "n/a"
        if self.lo is None or self.hi is None:
            return f"{self.auc:.2f}"
        return f"{self.auc:.2f} (95 % CI {self.lo:.2f}–{self.hi:.2f})"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number  # NaN is no evidence


def outcome_quality(card: Mapping[str, Any] | None, name: str,
                    threshold: float = QUALITY_GATE_MIN_AUC_LOWER) -> OutcomeQuality:
    """The gate's verdict on outcome ``name`` from the card's held-out test AUC."""
    metrics = ((card or {}).get("metrics") or {}).get(name) or {}
    auc = metrics.get("auc") or {}
    value, lo, hi = _number(auc.get("value")), _number(auc.get("lo")), _number(auc.get("hi"))
    prevalence = _number(metrics.get("prevalence"))
    if value is None or lo is None:
        return OutcomeQuality(name, False, f"{UNRELIABLE}: the model card holds no held-out "
                              "test AUC with a confidence interval", value, lo, hi, threshold,
                              prevalence)
    quality = OutcomeQuality(name, lo >= threshold, "", value, lo, hi, threshold, prevalence)
    if quality.reliable:
        reason = (f"ranks patients: held-out test AUC {quality.auc_text}, lower bound at "
                  f"least {threshold:.2f}")
    else:
        reason = (f"{UNRELIABLE}: held-out test AUC {quality.auc_text}, lower bound below "
                  f"{threshold:.2f}")
    return OutcomeQuality(name, quality.reliable, reason, value, lo, hi, threshold, prevalence)


def gate_table(card: Mapping[str, Any] | None,
               names: Iterable[str] | None = None) -> dict[str, OutcomeQuality]:
    """Verdicts for ``names`` (default: every outcome with metrics in the card)."""
    names = list(names) if names is not None else list((card or {}).get("metrics") or {})
    return {name: outcome_quality(card, name) for name in names}


def reliable_outcomes(card: Mapping[str, Any] | None, names: Iterable[str]) -> list[str]:
    """The names among ``names`` that pass the gate, in order."""
    return [name for name in names if outcome_quality(card, name).reliable]


def gate_for(card: Mapping[str, Any] | None) -> Callable[[str], bool]:
    """The gate as a predicate on outcome names (what ``interop.cds_hooks.cards`` takes)."""
    verdicts: dict[str, bool] = {}

    def reliable(name: str) -> bool:
        if name not in verdicts:
            verdicts[name] = outcome_quality(card, name).reliable
        return verdicts[name]

    return reliable


def card_section(metrics: Mapping[str, Any],
                 threshold: float = QUALITY_GATE_MIN_AUC_LOWER) -> dict[str, Any]:
    """The ``quality_gate`` entry of a model card: the rule, the threshold, each verdict."""
    card = {"metrics": metrics}
    return {"metric": "lower bound of the 95 % bootstrap CI of the held-out test ROC AUC",
            "threshold": threshold, "rule": RULE.format(threshold=threshold),
            "outcomes": {name: {"reliable": q.reliable, "reason": q.reason}
                         for name, q in ((n, outcome_quality(card, n, threshold))
                                         for n in metrics)}}


def greyed_text(quality: OutcomeQuality) -> str:
    """What a clinician reads in place of a gated outcome's prediction."""
    rate = ("" if quality.prevalence is None else
            f" Overall, it happened to {quality.prevalence:.0%} of held-out test patients.")
    return (f"Not shown: {UNRELIABLE} (held-out test AUC {quality.auc_text}; the gate needs "
            f"a lower bound of at least {quality.threshold:.2f}).{rate}")


def withhold_unreliable(frame: pd.DataFrame, card: Mapping[str, Any] | None,
                        names: Iterable[str], withhold: bool = True) -> pd.DataFrame:
    """A ``models.inference.predict.predict_frame``-style table with the gate applied.

    For each outcome in ``names`` an ``<outcome>_reliable`` column (True/False) follows
    ``<outcome>_probability``; for a gated outcome the probability, its interval,
    ``<outcome>_base`` and every ``<outcome>__shap__<feature>`` cell are emptied (withheld,
    not estimated) unless ``withhold`` is False (model evaluation: the numbers stay, the flag
    still says False).
    """
    out = frame.copy()
    flags: dict[str, bool] = {}
    for name in names:
        column = f"{name}_probability"
        if column not in out.columns:
            continue
        flags[column] = outcome_quality(card, name).reliable
        if withhold and not flags[column]:
            withheld = [c for c in out.columns if c in (column, f"{name}_base",
                        f"{name}_interval_lo", f"{name}_interval_hi")
                        or c.startswith(f"{name}__shap__")]
            out[withheld] = np.nan
    order: list[str] = []
    for column in out.columns:
        order.append(column)
        if column in flags:
            order.append(column.removesuffix("_probability") + "_reliable")
    reliable = pd.DataFrame({c.removesuffix("_probability") + "_reliable": v
                             for c, v in flags.items()}, index=out.index)
    return pd.concat([out, reliable], axis=1)[order]
