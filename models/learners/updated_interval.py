"""The per-patient interval of an updated (recalibrated or revised) outcome model (issue 29,
HAZ-085).

An update maps the parent's log-odds ``z`` to ``b + a * z`` (plus, for a revision, a few
small trees). The parent's interval is ``logit(p) ± z_q * sqrt(s(x)^2 + D^2)``
(``models.learners.uncertainty``); after an update its spread ``s(x)`` is re-estimated:

- each of the parent's bootstrap members is passed through its own update ``(a_k, b_k)``,
  fitted on a bootstrap resample of the clinic's fitting patients (by the caller,
  ``training.updating.intervals.local_intervals``), so the members' spread holds the
  parent's sampling variability scaled by the update and the update's own estimation
  error, which the parent's interval left out;
- the approximation-error term ``D^2`` stays the parent's, measured on its training
  patients: the same disagreement measured on 1,750 local patients was 0.38-0.42 on the
  log-odds scale against actual squared errors of the updated models of 0.23-0.35 (the
  reference regression's own error on few patients dominates it), so it would say more about
  the local sample's size than about the model.

A revision's new trees are in the centre but not in the members (resampling them would
refit the trees per member); a refit gets a full ``ProbabilityInterval`` on the clinic.
Coverage of the generator's true probabilities: tests/model/test_updating_intervals.py.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from models.learners.calibration import sigmoid


class UpdatedInterval:
    """The parent's members, each through its own bootstrap update, plus the parent's
    ``D^2``."""

    def __init__(self, parent: Any, maps: np.ndarray, disagreement: float) -> None:
        self.parent = parent
        self.maps_ = np.asarray(maps, dtype=float)  # (n_members, 2): slope, intercept
        if self.maps_.shape != (len(parent.members_), 2):
            raise ValueError("one (slope, intercept) map per parent member is needed")
        self.disagreement_ = float(disagreement)
        self.level = float(parent.level)

    def compiled_members(self, parallel: bool | None = None) -> list[Any]:
        """The parent's compiled members; with ``parallel`` a private copy of the parent is
        rebuilt with that threading (a Dask twin must not change the shared parent)."""
        if parallel is not None:
            parent = copy.copy(self.parent)
            parent.__dict__.pop("_margins", None)
            parent.__dict__.pop("_stacked", None)
            self.parent = parent
        return self.parent.compiled_members(parallel)

    def member_logits(self, X: pd.DataFrame) -> np.ndarray:
        """Each member's log-odds after its update, shape (n_members, n_rows)."""
        return self.maps_[:, :1] * self.parent.member_logits(X) + self.maps_[:, 1:]

    def half_width(self, X: pd.DataFrame) -> np.ndarray:
        """Half-width on the log-odds scale for each row."""
        spread = self.member_logits(X).std(axis=0, ddof=1)
        z = float(norm.ppf(0.5 + self.level / 2))
        return z * np.sqrt(spread**2 + self.disagreement_)

    def interval(self, X: pd.DataFrame,
                 centre_logit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) probability for each row around the shown (updated) log-odds."""
        half = self.half_width(X)
        centre = np.asarray(centre_logit, dtype=float)
        return sigmoid(centre - half), sigmoid(centre + half)
