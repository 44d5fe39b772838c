"""How a predicted risk is worded: probability, place among stored patients, the calibration
evidence from the model card (Wilson interval), the model's test AUC.

Clinical wording, so it lives in the model layer: the dashboard, the PDF report and the
CDS service all say the same thing about the same number. An outcome that fails the quality
gate (``models.clinical.quality_gate``) gets no probability, percentile or calibration bin at all:
``reliable`` is False and ``calibration`` says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from models.clinical.quality_gate import OutcomeQuality, greyed_text, outcome_quality
from models.contract.schema import outcome

WILSON_Z = 1.96


@dataclass(frozen=True)
class OutcomeRisk:
    """One predicted outcome with its honest uncertainty and its place in the cohort."""

    name: str
    label: str
    kind: str
    probability: float  # NaN when the outcome fails the quality gate (withheld)
    percentile: float  # share of stored patients with a lower prediction (0-100), or NaN
    calibration: str  # what held-out patients with similar predictions experienced
    observed: float | None = None
    observed_lo: float | None = None
    observed_hi: float | None = None
    n_similar: int = 0
    auc: str = ""
    similar: str = ""  # the prediction bin the calibration evidence comes from
    reliable: bool = True  # passes the per-outcome quality gate (models.clinical.quality_gate)
    quality: OutcomeQuality | None = None
    interval_lo: float | None = None  # this patient's interval (models.learners.uncertainty)
    interval_hi: float | None = None

    @property
    def interval_text(self) -> str:
        """``46–78%``, or empty for a version without intervals."""
        if self.interval_lo is None or self.interval_hi is None:
            return ""
        return f"{percent_value(self.interval_lo):g}–{percent_value(self.interval_hi):g}%"


def wilson(successes: float, n: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson 95 % interval for a proportion (well-behaved for small n and rates near 0/1)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def percent_value(p: float) -> float:
    """A probability as a percentage for display: whole numbers, one decimal below 1 %.

    More digits would claim a precision no model trained on a few thousand patients has.
    """
    points = float(p) * 100
    return round(points, 1) if abs(points) < 1 else float(round(points))


def percent_values(probabilities: pd.Series) -> pd.Series:
    """``percent_value`` over a column (missing stays missing), for sortable tables."""
    return probabilities.astype(float).map(lambda p: p if p != p else percent_value(p))


def percent_text(p: float | None) -> str:
    """``42%`` (``0.4%`` below one per cent); ``not available`` for a missing value."""
    if p is None or p != p:
        return "not available"
    return f"{percent_value(p):g}%"


def _calibration_bin(card: dict[str, Any], name: str, p: float) -> dict[str, Any] | None:
    report = card.get("evaluation", {}).get("report", {}).get("outcomes", {}).get(name, {})
    for row in report.get("calibration_curve", []):
        last = row["bin_hi"] >= 1.0
        if row["bin_lo"] <= p < row["bin_hi"] or (last and p >= row["bin_lo"]):
            return row
    return None


def _auc_text(card: dict[str, Any], name: str) -> str:
    auc = card.get("metrics", {}).get(name, {}).get("auc", {})
    if auc.get("value") is None:
        return "n/a"
    if auc.get("lo") is None:
        return f"{auc['value']:.2f}"
    return f"{auc['value']:.2f} (95 % CI {auc['lo']:.2f}–{auc['hi']:.2f})"


def outcome_risk(card: dict[str, Any], others: pd.Series | None, name: str,
                 p: float, interval: tuple[float, float] | None = None) -> OutcomeRisk:
    """A prediction with the calibration evidence behind it, from the model card.

    ``others`` are the same outcome's predictions for the stored patients (for the
    percentile; None or empty when there is no cohort to compare with, e.g. a printed report).

    The uncertainty shown is NOT a per-patient confidence interval: it is the observed rate
    (Wilson 95 % CI) among held-out test patients whose predictions fell in the same 10-point
    bin, i.e. how far such a number has been from reality on unseen patients.
    """
    spec = outcome(name)
    quality = outcome_quality(card, name)
    if not quality.reliable:  # greyed: nothing patient-specific, only why (issue 12)
        return OutcomeRisk(name, spec.label, spec.kind, float("nan"), float("nan"),
                           greyed_text(quality), auc=_auc_text(card, name), reliable=False,
                           quality=quality)
    column = others.dropna() if others is not None else pd.Series(dtype=float)
    percentile = float((column < p).mean() * 100) if len(column) else float("nan")
    row = _calibration_bin(card, name, p)
    lo_hi = {} if interval is None else {"interval_lo": float(interval[0]),
                                         "interval_hi": float(interval[1])}
    if row is None:
        return OutcomeRisk(name, spec.label, spec.kind, p, percentile,
                           "no calibration data in this model card", auc=_auc_text(card, name),
                           quality=quality, **lo_hi)
    n, observed = int(row["n"]), float(row["observed"])
    lo, hi = wilson(observed * n, n)
    text = (f"{observed:.0%} ({lo:.0%}–{hi:.0%}) of {n} predicted "
            f"{row['bin_lo']:.0%}–{row['bin_hi']:.0%}")
    return OutcomeRisk(name, spec.label, spec.kind, p, percentile, text, observed, lo, hi, n,
                       _auc_text(card, name), f"{row['bin_lo']:.0%}–{row['bin_hi']:.0%}",
                       quality=quality, **lo_hi)
