"""Sourced effect directions, kept as data: LightGBM monotone constraints and the
counterfactual search's "never raise" rule both read this table.

Only directions that ``clinical-reference.md`` gives with a source are here (§2 for
response, applied to remission too: remission is the same PHQ-9 improvement read at a
lower bar; §3 for the blood-pressure reaction). Directions marked *unsourced* there
(failed antidepressant trials, psychotherapy, support system, route ordering) stay
unconstrained: a constraint is a claim about the world, and an unsourced claim would turn a
default into a rule. A category feature (route, psychotherapy, support system,
hypertension…) cannot take a LightGBM monotone constraint: LightGBM splits categories by
partitions of their codes, which have no order, so an ordered claim on them is refused
here rather than silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from models.contract.schema import feature, outcome

Direction = Literal[1, -1]


@dataclass(frozen=True)
class SourcedDirection:
    """One feature's sourced direction on one outcome (+1: higher raises P(outcome))."""

    outcome: str
    feature: str
    direction: Direction
    source: str
    note: str = ""


_BENEFIT = ("response", "remission")


def _benefit(name: str, direction: Direction, source: str, note: str = "") -> list:
    return [SourcedDirection(o, name, direction, source, note) for o in _BENEFIT]


SOURCED_DIRECTIONS: tuple[SourcedDirection, ...] = (
    *_benefit("bmi", 1, "Niciu 2014; Freeman 2019", "higher BMI -> better (clinical-reference §2)"),
    *_benefit("family_history_aud", 1, "Niciu 2014", "yes -> better (bool coded 0/1)"),
    *_benefit("past_suicide_attempt", -1, "Niciu 2014", "yes -> less improvement by day 7"),
    *_benefit("benzo_dose_mg", -1, "Andrashko 2020; Feeney 2023",
              "> 8 mg diazepam-eq./day weakens response; dose matters, so non-increasing "
              "(flat below 8 mg is allowed)"),
    *_benefit("anxious_depression", 1, "Ionescu 2014", "yes -> better, longer benefit"),
    *_benefit("ace_score", 1, "clinic cohort, n = 224", "higher ACE -> more improvement"),
    SourcedDirection("hypertensive_reaction", "age", 1, "Yale 2024",
                     "older age raises BP-rise risk (OR 1.04 per year; clinical-reference §3)"),
)

# Sourced in the reference but not constrainable here (category features), for the card.
UNCONSTRAINABLE: tuple[tuple[str, str, str], ...] = (
    ("hypertensive_reaction", "hypertension", "existing hypertension raises BP-rise risk "
     "(Yale 2024); a category feature cannot take a monotone constraint"),
    ("response", "route", "IV >= IM > intranasal > oral is an *unsourced* ordering, and a "
     "category feature cannot take a monotone constraint"),
)


def directions_for(outcome_name: str) -> dict[str, Direction]:
    """Feature -> sourced direction for one outcome (empty for unsourced outcomes)."""
    outcome(outcome_name)  # KeyError on an unknown outcome
    return {d.feature: d.direction for d in SOURCED_DIRECTIONS if d.outcome == outcome_name}


def monotone_constraints(outcome_name: str, feature_names: Sequence[str]) -> list[int]:
    """LightGBM's ``monotone_constraints`` vector for ``feature_names`` (in that order)."""
    wanted = directions_for(outcome_name)
    unknown = sorted(set(wanted) - set(feature_names))
    if unknown:
        raise ValueError(f"sourced direction(s) for {outcome_name} name feature(s) the model "
                         f"does not use: {', '.join(unknown)}")
    for name in wanted:
        if feature(name).dtype == "category":
            raise ValueError(f"{name} is a category feature; LightGBM cannot constrain it "
                             "monotonically")
    return [int(wanted.get(name, 0)) for name in feature_names]


def with_monotone(params: dict | None, outcome_name: str,
                  feature_names: Sequence[str]) -> dict:
    """``params`` plus this outcome's monotone constraints (unchanged if it has none)."""
    merged = dict(params or {})
    vector = monotone_constraints(outcome_name, feature_names)
    if any(vector):
        merged["monotone_constraints"] = vector
    return merged


def never_raise() -> frozenset[str]:
    """Modifiable medications the reference says weaken a benefit outcome when higher:
    the counterfactual search may keep or lower them, never start or raise them."""
    return frozenset(d.feature for d in SOURCED_DIRECTIONS
                     if d.direction == -1 and outcome(d.outcome).kind == "benefit"
                     and feature(d.feature).group == "medication"
                     and feature(d.feature).modifiable)
