"""Choosing the updating step: Vergouwe et al.'s closed testing procedure (Stat Med 2017;
36:4529-39), on the log-likelihoods of the fitting patients.

The nested chain current ⊂ intercept ⊂ logistic ⊂ revision is tested as Vergouwe does:

1. The most extensive step the data may support (``allowed``: the Riley guard passed) is
   tested against the current model (likelihood ratio, df = its parameter count). Not
   significant: keep the current model.
2. Otherwise the simplest step that is itself significantly better than the current model
   and not significantly worse than the most extensive one is chosen.

``refit`` is not nested in the chain (a new forest, not more terms on the old one), so it
is considered last: chosen only when allowed and significantly better than the chain's
choice (df = the difference in parameter counts; its log-likelihood is cross-fitted, see
``training.updating.steps``).

Multiplicity across outcomes: an update asks one question of a version, "does it need
updating on this clinic?", once per outcome. Each outcome's closed test at 5 % would update
some outcome of a well-calibrated six-outcome version about 1 - 0.95^6 = 26 % of the time,
so the first step of every outcome (its ``gate``) is judged by Holm's step-down procedure
(``holm_levels``) and the rest of that outcome's closed test runs at the level Holm gave
it. This keeps the family-wise chance of a needless update at 5 % (Holm 1979).
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import chi2

ALPHA = 0.05
CHAIN = ("intercept", "logistic", "revision")


@dataclass(frozen=True)
class Comparison:
    """One likelihood-ratio test: ``bigger`` against ``smaller``."""

    bigger: str
    smaller: str
    statistic: float
    df: int
    p_value: float

    def text(self) -> str:
        return (f"{self.bigger} vs {self.smaller}: LR {self.statistic:.2f} on {self.df} df, "
                f"p = {self.p_value:.3g}")


@dataclass(frozen=True)
class Choice:
    """The chosen step (``"current"`` = keep the current version) and why."""

    step: str
    reason: str
    tests: tuple[Comparison, ...]


def lr_test(bigger: str, ll_big: float, df_big: int, smaller: str, ll_small: float,
            df_small: int) -> Comparison:
    """Likelihood-ratio test of a model with ``df_big`` parameters against one with fewer."""
    statistic = max(0.0, 2.0 * (ll_big - ll_small))
    df = max(1, df_big - df_small)
    return Comparison(bigger, smaller, statistic, df, float(chi2.sf(statistic, df)))


def gate_test(current_ll: float, fits: dict[str, tuple[float, int]]) -> Comparison | None:
    """The first test of an outcome's closed test: its most extensive supported step (the
    chain's top, or refit alone) against the current model; None when no step is supported."""
    chain = [s for s in CHAIN if s in fits]
    top = chain[-1] if chain else ("refit" if "refit" in fits else None)
    return None if top is None else lr_test(top, *fits[top], "current", current_ll, 0)


def holm_levels(p_values: dict[str, float], alpha: float = ALPHA) -> dict[str, float]:
    """Holm's step-down levels: the k-th smallest p-value (0-based) is judged at
    alpha / (m - k) until one fails; that one and every later one get the level at which
    the first failed (so none of them is significant)."""
    levels: dict[str, float] = {}
    order = sorted(p_values, key=p_values.get)
    stopped: float | None = None
    for k, name in enumerate(order):
        level = alpha / (len(order) - k)
        if stopped is None and p_values[name] >= level:
            stopped = level
        levels[name] = level if stopped is None else stopped
    return levels


def choose_step(current_ll: float, fits: dict[str, tuple[float, int]],
                alpha: float = ALPHA) -> Choice:
    """``fits``: step -> (log-likelihood, df) for every step the data may support."""
    chain = [s for s in CHAIN if s in fits]
    tests: list[Comparison] = []
    choice, reason = "current", "no updating step is supported by the data (sample size)"
    if chain:
        top = chain[-1]
        gate = lr_test(top, *fits[top], "current", current_ll, 0)
        tests.append(gate)
        if gate.p_value >= alpha:
            reason = (f"the most extensive supported step ({top}) is not significantly "
                      f"better than the current version ({gate.text()})")
        else:
            choice, reason = top, f"{gate.text()}; simpler steps are significantly worse"
            for step in chain[:-1]:
                better = lr_test(step, *fits[step], "current", current_ll, 0)
                worse = lr_test(top, *fits[top], step, *fits[step])
                tests += [better, worse]
                if better.p_value < alpha and worse.p_value >= alpha:
                    choice = step
                    reason = (f"{step} is the simplest step significantly better than the "
                              f"current version ({better.text()}) and not significantly "
                              f"worse than {top} ({worse.text()})")
                    break
    if "refit" in fits:
        base_ll, base_df = (current_ll, 0) if choice == "current" else fits[choice]
        versus = lr_test("refit", *fits["refit"], choice, base_ll, base_df)
        tests.append(versus)
        if versus.p_value < alpha:
            choice, reason = "refit", f"a refit beats {versus.smaller} ({versus.text()})"
    return Choice(choice, reason, tuple(tests))
