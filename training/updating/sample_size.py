"""Riley et al.'s minimum sample size for a binary-outcome prediction model, as a guard
before each updating step runs.

Why not ``pmsampsize`` (PyPI): its only release (0.1.0) requires Python >= 3.12 and this
project supports 3.10+ (the environment runs 3.11), so pip refuses it. The formulas are
short and published, so they are implemented here from the paper:

Riley RD, Ensor J, Snell KIE, et al. Calculating the sample size required for developing a
clinical prediction model. BMJ 2020;368:m441 (binary outcomes, criteria i-iii):

(i)   expected uniform shrinkage S >= 0.9:
      n1 = p / ((S - 1) * ln(1 - R2cs / S))
(ii)  small optimism in the apparent Nagelkerke R² (delta = 0.05):
      S_VH = R2cs / (R2cs + delta * max R2cs),  n2 = p / ((S_VH - 1) * ln(1 - R2cs / S_VH))
      max R2cs = 1 - (phi^phi * (1 - phi)^(1 - phi))^2
(iii) overall risk within +-0.05 (95 %):  n3 = (1.96 / 0.05)^2 * phi * (1 - phi)

``p`` counts the parameters a step estimates besides the intercept; criteria (i)-(ii) only
apply when p >= 1 (recalibration in the large estimates the intercept alone: criterion iii).
The anticipated Cox-Snell R² is taken from the data at hand (the likelihood-ratio R² of the
current model's log-odds, recalibrated, on the fitting patients) and never above
``R2_CAP_SHARE`` of its maximum: an optimistic R² would shrink the required n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SHRINKAGE = 0.9
NAGELKERKE_DELTA = 0.05
RISK_MARGIN = 0.05
R2_CAP_SHARE = 0.5  # the anticipated R2cs is capped at half of its maximum (conservative)
R2_FLOOR = 1e-4


@dataclass(frozen=True)
class SampleSize:
    """Riley criteria for one step: required n per criterion, and whether ``n`` suffices."""

    parameters: int
    prevalence: float
    r2_cs: float
    n_available: int
    events_available: int
    n_shrinkage: int
    n_optimism: int
    n_risk: int

    @property
    def n_required(self) -> int:
        return max(self.n_shrinkage, self.n_optimism, self.n_risk)

    @property
    def events_required(self) -> int:
        return math.ceil(self.n_required * self.prevalence)

    @property
    def sufficient(self) -> bool:
        return self.n_available >= self.n_required

    def describe(self) -> str:
        """The numbers, for refusals and the card."""
        epp = (self.events_available / self.parameters) if self.parameters else float("nan")
        return (f"Riley criteria with {self.parameters} parameter(s), prevalence "
                f"{self.prevalence:.3f}, anticipated R²(Cox-Snell) {self.r2_cs:.3f}: needs "
                f"n >= {self.n_required:,} (shrinkage {self.n_shrinkage:,}, optimism "
                f"{self.n_optimism:,}, overall risk {self.n_risk:,}), i.e. >= "
                f"{self.events_required:,} events; has n = {self.n_available:,} with "
                f"{self.events_available:,} events"
                + (f" ({epp:.1f} per parameter)" if self.parameters else ""))


def max_r2_cs(prevalence: float) -> float:
    """The largest Cox-Snell R² a model can reach at this outcome prevalence."""
    phi = min(max(prevalence, 1e-9), 1 - 1e-9)
    log_null = phi * math.log(phi) + (1 - phi) * math.log(1 - phi)  # per patient
    return 1.0 - math.exp(2.0 * log_null)


def _n_for_shrinkage(parameters: int, r2_cs: float, shrinkage: float) -> int:
    return math.ceil(parameters / ((shrinkage - 1.0) * math.log(1.0 - r2_cs / shrinkage)))


def riley_sample_size(parameters: int, prevalence: float, r2_cs: float, n_available: int,
                      events_available: int) -> SampleSize:
    """Riley et al. 2020 criteria (i)-(iii) for a step estimating ``parameters`` besides
    the intercept."""
    if not 0.0 < prevalence < 1.0:
        raise ValueError(f"prevalence must be between 0 and 1, got {prevalence}")
    ceiling = max_r2_cs(prevalence)
    r2 = min(max(r2_cs, R2_FLOOR), R2_CAP_SHARE * ceiling)
    n_risk = math.ceil((1.96 / RISK_MARGIN) ** 2 * prevalence * (1 - prevalence))
    if parameters < 1:
        n_shrink = n_opt = 0
    else:
        n_shrink = _n_for_shrinkage(parameters, r2, SHRINKAGE)
        s_vh = r2 / (r2 + NAGELKERKE_DELTA * ceiling)
        n_opt = _n_for_shrinkage(parameters, r2, s_vh)
    return SampleSize(parameters, prevalence, r2, n_available, events_available, n_shrink,
                      n_opt, n_risk)


def cox_snell_r2(loglik_model: float, loglik_null: float, n: int) -> float:
    """Cox-Snell R² from the model's and the intercept-only log-likelihoods (sums)."""
    return 1.0 - math.exp(2.0 * (loglik_null - loglik_model) / n)
