"""Candidate review before the store's cohort table exists (issue 31).

A fresh server (or a newly promoted model) predicts every stored patient in the background:
about a minute at 100,000 patients. Until that build is done, the list is read from the
store as ids and names only, and only the rows a page shows (plus the open patient) are
predicted, by the same ``cohort_rows`` the build uses, so each shown row is the row the
finished table will hold. Whatever needs every patient (the eligibility and risk filters,
a prediction's percentile in the store, the store's risk distribution) is reported as
not yet computed, never estimated from the rows at hand.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from dashboard.services.lab.quality import shown_outcomes
from dashboard.services.patients.listing import (
    PERCENTILE_PENDING,
    cohort_rows,
    patient_list,
    search_mask,
)
from dashboard.services.workspace import Workspace
from models.contract.schema import ID_COLUMN, OUTCOMES
from records.db import session_factory
from records.frames import patient_names, patients_frame

log = logging.getLogger(__name__)

COMPUTING = PERCENTILE_PENDING  # what a value that needs every patient shows meanwhile


def store_roster(ws: Workspace) -> pd.DataFrame:
    """Every stored patient's id and name, indexed by id in id order (no prediction)."""
    with session_factory(ws.engine)() as session:
        names = patient_names(session)
    return names.set_index(pd.Index(names[ID_COLUMN], name=None), drop=False)


def search_roster(roster: pd.DataFrame, search: str = "") -> pd.DataFrame:
    """Patients whose id or name contains ``search`` (as ``find_patients`` matches it)."""
    text = search.strip().lower()
    return roster if not text else roster[search_mask(roster, text)]


def filters_need_cohort(statuses: Sequence[str] | None, risk_outcome: str | None,
                        risk_above: float) -> bool:
    """True when a filter needs every patient's screen or predicted risk: it can only be
    applied once the cohort table is built."""
    return bool(statuses) or bool(risk_outcome and risk_above > 0)


def rows_now(ws: Workspace, patient_ids: Sequence[str]) -> pd.DataFrame:
    """Cohort rows of these patients only, read and predicted now (indexed by id, id order)."""
    ids = list(dict.fromkeys(str(pid) for pid in patient_ids))
    if not ids:
        return pd.DataFrame()
    with session_factory(ws.engine)() as session:
        patients = patients_frame(session, patient_ids=ids)
    if patients.empty:
        return pd.DataFrame()
    table = cohort_rows(ws, patients)
    log.debug("predicted %d shown patient(s) before the cohort table", len(table))
    return table


def page_listing(ws: Workspace, page_ids: Sequence[str],
                 card: dict | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shown page before the cohort table exists: the compact list
    (``patient_list``'s columns) and the predicted rows behind it."""
    rows = rows_now(ws, page_ids)
    if rows.empty:
        shown = shown_outcomes(card)
        columns = ["Patient", "Name", "Eligibility",
                   *[o.label for o in OUTCOMES if o.name in shown], "Unusual inputs"]
        return pd.DataFrame(columns=columns), rows
    return patient_list(rows.loc[[str(pid) for pid in page_ids]], card), rows
