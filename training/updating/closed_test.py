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
