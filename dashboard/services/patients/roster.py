"""Candidate review before the store's cohort table exists (issue 31).

A fresh server (or a newly promoted model) predicts every stored patient in the background:
about a minute at 100,000 patients. Until that build is done, the list is paged by the
store itself (a count and one page of ids, searched on id and name there), and only the
rows a page shows (plus the open patient) are read and predicted, by the same
``cohort_rows`` the build uses, so each shown row is the row the finished table will hold.
Whatever needs every patient (the eligibility and risk filters, a prediction's percentile
in the store, the store's risk distribution) is reported as not yet computed, never
estimated from the rows at hand.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from dashboard.services.lab.quality import shown_outcomes
from dashboard.services.patients.listing import (
    PAGE_SIZE,
    PERCENTILE_PENDING,
    cohort_rows,
    page_count,
    patient_list,
)
from dashboard.services.workspace import Workspace
from models.contract.schema import OUTCOMES
from records.db import session_factory
from records.frames import matching_count, matching_ids, patients_frame

log = logging.getLogger(__name__)

COMPUTING = PERCENTILE_PENDING  # what a value that needs every patient shows meanwhile


def filters_need_cohort(statuses: Sequence[str] | None, risk_outcome: str | None,
                        risk_above: float) -> bool:
    """True when a filter needs every patient's screen or predicted risk: it can only be
    applied once the cohort table is built."""
    return bool(statuses) or bool(risk_outcome and risk_above > 0)


@dataclass
class StorePage:
    """One page of the store's patients matching a search, predicted now."""

    total: int  # patients in the store
    matching: int  # of them, those the search matches
    ids: list[str]  # this page's, in id order
    listed: pd.DataFrame  # ``patient_list`` of the page
    rows: pd.DataFrame  # cohort rows of the page and of ``reachable`` (indexed by id)
    reachable: pd.Index  # the page and the kept patients that still match the search


def store_page(ws: Workspace, search: str, page: int, kept: Sequence[str | None] = (),
               empty: bool = False, size: int = PAGE_SIZE) -> StorePage:
    """Page ``page`` (1-based, past the end: the last) of the patients whose id or name
    contains ``search``; ``kept`` are patients a picker may keep open off the page (an
    earlier choice, a link), reachable when they exist and match. ``empty``: a filter that
    needs every patient is set, so nothing is listed yet."""
    text = search.strip().lower()
    with session_factory(ws.engine)() as session:
        total = matching_count(session)
        matching = 0 if empty else (total if not text else matching_count(session, text))
        page = min(max(1, page), page_count(matching, size))
        ids = [] if not matching else matching_ids(session, text, offset=(page - 1) * size,
                                                   limit=size)
        wanted = [pid for pid in dict.fromkeys(kept) if pid and pid not in ids]
        extra = [] if empty or not wanted else matching_ids(session, text, among=wanted)
    rows = rows_now(ws, [*ids, *extra])
    return StorePage(total, matching, ids, _listed(rows, ids, ws.card), rows,
                     pd.Index([*ids, *extra]))


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


def _listed(rows: pd.DataFrame, ids: list[str], card: dict | None) -> pd.DataFrame:
    """``patient_list`` of the page (its columns, empty, when nothing is listed)."""
    if not ids or rows.empty:
        shown = shown_outcomes(card)
        return pd.DataFrame(columns=["Patient", "Name", "Eligibility",
                                     *[o.label for o in OUTCOMES if o.name in shown],
                                     "Unusual inputs"])
    return patient_list(rows.loc[ids], card)
