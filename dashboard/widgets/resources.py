"""Process-wide cached resources: the store engine, the model set, cohort-wide computations.

``st.cache_resource`` keeps one copy per server process: the bootstrap runs once, a model
version is unpickled once, and cohort predictions/explanations are computed once per model
version and store state (the fingerprints), never per rerun. Cached frames are shared
between sessions, so callers must treat them as read-only.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from sqlalchemy import Engine

from base import settings
from dashboard.charts import style
from dashboard.services.cohort import overview as service_cohort
from dashboard.services.patients.followup import FollowupData, load_followup, store_stamp
from dashboard.services.patients.listing import cohort_table
from dashboard.services.startup import Ready, current_version, ensure_ready, warm_up
from dashboard.services.workspace import Workspace, patients_fingerprint, sessions_fingerprint
from models.store.modelset import ModelSet
from models.store.registry import Registry

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner="First start: preparing the clinical store and a model…")
def _ready(home: str) -> Ready:
    """Migrate + seed the store and train a first model if none (once per home folder)."""
    log.info("bootstrapping KAP-CDS in %s", home)
    return ensure_ready()


@st.cache_resource(max_entries=3, show_spinner="Loading the model…")
def _model(registry_dir: str, version: str) -> tuple[ModelSet, dict[str, Any]]:
    """Verify (SHA-256) and unpickle one model version, once, and warm its kernels."""
    model_set, card = Registry(Path(registry_dir)).load(version)
    warm_up(model_set)
    # plotly builds its templates and trace classes on first use (0.7 s of the first chart)
    style.layout(go.Figure(go.Bar(x=[0], y=[0])), "warm-up")
    return model_set, card


def workspace() -> Workspace:
    """The store and the *current* model version (re-read each run, so a promotion shows)."""
    ready = _ready(str(settings.home_dir()))
    version = current_version(ready) or ready.version
    model_set, card = _model(str(ready.registry_dir), version)
    ws = Workspace(ready.engine, model_set, card, version)  # type: ignore[arg-type]
    _prepare_cohort(ws, _store(ws), version)
    return ws


@st.cache_resource(max_entries=2)
def _prepare_cohort(_ws: Workspace, store: str, version: str) -> threading.Thread:
    """Bring the on-disk cohort table up to date in the background, once per model version
    and server: on a fresh server or after a promotion the whole store is predicted while
    the sign-in form is shown, not when the first page asks for it (100,000 patients:
    about a minute on two cores). Pages that need the table wait for it
    (``cohort_cache`` lets one builder per file run)."""
    thread = _Build(_ws, name=f"cohort-{version}")
    thread.start()
    return thread


class _Build(threading.Thread):
    """The background build, which hands its table to the first page that needs it (if the
    store has not changed since it started) instead of that page reading the file it just
    wrote: at 100,000 patients a second and a second copy in memory (issue 31)."""

    def __init__(self, ws: Workspace, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.ws, self.table, self.started_at = ws, None, None

    def run(self) -> None:
        prefetch_summaries(self.ws)
        self.started_at = patients_fingerprint(self.ws.engine)
        self.table = cohort_table(self.ws)

    def take(self, fingerprint: tuple[int, str]) -> pd.DataFrame | None:
        """The built table, once, if built for this store state (else None)."""
        table, self.table = self.table, None
        return table if not self.is_alive() and self.started_at == fingerprint else None


def cohort_pending(ws: Workspace, wait_s: float = 1.0) -> bool:
    """True while the background build of this version's cohort table is still running
    (after waiting up to ``wait_s``): a page can show what needs no prediction meanwhile."""
    thread = _prepare_cohort(ws, _store(ws), ws.version)
    thread.join(timeout=wait_s)
    return thread.is_alive()


WAIT_BELOW = 5_000  # patients: a store this small is built in about a second; wait for it


def cohort_if_built(ws: Workspace) -> pd.DataFrame | None:
    """The cohort table, or None while its background build still runs on a store of at
    least ``WAIT_BELOW`` patients: the page then lists from the store and predicts only what
    it shows (issue 31). Smaller stores wait, as before, so a list never flickers between
    the two forms for the second their build takes."""
    if cohort_pending(ws, wait_s=0) and service_cohort.stored_patients(ws) >= WAIT_BELOW:
        return None
    return cohort(ws)


def _store(ws: Workspace) -> str:
    """The store's URL: part of every cache key, so two stores never share an entry."""
    return ws.engine.url.render_as_string(hide_password=True)


@st.cache_resource(max_entries=2, show_spinner="Predicting every patient in the store…")
def _cohort(_ws: Workspace, store: str, version: str, fingerprint: tuple[int, str]) -> pd.DataFrame:
    built = _prepare_cohort(_ws, store, version)
    table = built.take(fingerprint) if isinstance(built, _Build) else None
    return cohort_table(_ws) if table is None else table


def cohort(ws: Workspace) -> pd.DataFrame:
    """Every patient with predictions, recomputed only for a new model or changed patients."""
    return _cohort(ws, _store(ws), ws.version, patients_fingerprint(ws.engine))


@st.cache_resource(max_entries=2, show_spinner="Explaining the cohort (global SHAP)…")
def _explanations(_ws: Workspace, _cohort_table: pd.DataFrame, store: str, version: str,
                  fingerprint: tuple[int, str]) -> dict[str, service_cohort.CohortExplanation]:
    return service_cohort.cohort_explanations(_ws, _cohort_table)


def cohort_explanations(ws: Workspace) -> dict[str, service_cohort.CohortExplanation]:
    """Global SHAP per outcome, once per model version and patient set."""
    fingerprint = patients_fingerprint(ws.engine)
    return _explanations(ws, cohort(ws), _store(ws), ws.version, fingerprint)


@st.cache_resource(max_entries=4)
def _alerts(_ws: Workspace, store: str, patients: tuple[int, str], sessions: tuple[int, str],
            only_in_treatment: bool) -> tuple[pd.DataFrame, int]:
    return service_cohort.alerts_overview(_ws, None, only_in_treatment)


def alerts_overview(ws: Workspace, only_in_treatment: bool) -> tuple[pd.DataFrame, int]:
    """Latest-session alerts across patients, recomputed only when the store changes.
    Read from the store's plan and baseline columns, never from the cohort table, so they
    never wait for its build (equal to those from the table: tests/app/test_scaled_reads)."""
    return _alerts(ws, _store(ws), patients_fingerprint(ws.engine),
                   sessions_fingerprint(ws.engine), only_in_treatment)


@st.cache_resource(max_entries=2, show_spinner="Reading follow-up records…")
def _followup(_engine: Engine, url: str, stamp: tuple[int, ...]) -> FollowupData | None:
    return load_followup(_engine)


def followup_data(engine: Engine) -> FollowupData | None:
    """The store's follow-up, summarised once per store state (cached, read-only)."""
    return _followup(engine, str(engine.url), store_stamp(engine))


@st.cache_resource(max_entries=2, show_spinner=False)
def _summaries(_ws: Workspace, store: str, version: str) -> bool:
    """Nested inside a cached function, the calls below show no spinner: this runs in the
    build thread, which has no page to show one on."""
    alerts_overview(_ws, only_in_treatment=True)
    followup_data(_ws.engine)
    return True


def prefetch_summaries(ws: Workspace) -> None:
    """Compute the store-wide summaries the first pages show (Home's and Cohort overview's
    session alerts, the follow-up summary) while the sign-in form is up, before the cohort
    build: at 100,000 patients they took 1.2 s and 1.9 s of the first Home and Cohort
    overview after a (re)start (issue 31). They land in the same caches the pages read; a
    page that asks meanwhile waits for this computation instead of repeating it."""
    try:
        _summaries(ws, _store(ws), ws.version)
    except Exception:  # noqa: BLE001 - only a head start; the page computes it and says why
        log.exception("prefetching the store's summaries failed; pages compute them")
