"""The PDF report and the FHIR Bundle as download buttons (candidate review, progress).

The PDF is built only when the clinician clicks (``st.download_button`` with a callable),
then cached per patient, patient version, sessions and model version, so a second click
is instant and an edit, a recorded decision or a new model gives a fresh report. A patient
with a gap in a model input gets no report: it would print predictions made from placeholders
(issue 7).
"""

from __future__ import annotations

import json
import logging

import pandas as pd
import streamlit as st

from dashboard.services.patients.followup import store_stamp
from dashboard.services.patients.gaps import PREDICTION_GAPS, gap_summary, needs_message
from dashboard.services.patients.shown import record_from_cohort
from dashboard.services.workspace import Workspace, sessions_fingerprint
from models.contract.schema import ID_COLUMN, NAME_COLUMN
from records.audit import trail as audit
from records.db import session_factory
from records.gaps import prediction_blockers
from records.repository import decisions_for, get_patient, sessions_frame
from records.security.policy import IDENTIFIED, may_access

log = logging.getLogger(__name__)
MIME = "application/pdf"


def build_pdf(ws: Workspace, patient_id: str) -> bytes:
    """The report PDF for one stored patient, from the store and the current model."""
    from interop.reports.context import build_report_context
    from interop.reports.decisions import decision_lines
    from interop.reports.followup import followup_lines
    from interop.reports.patient_report import (
        render_patient_report,  # reportlab only when asked for
    )

    with session_factory(ws.engine)() as session:
        patient = get_patient(session, patient_id)
        if patient is None:
            raise KeyError(f"no patient {patient_id!r} in the store")
        needs = prediction_blockers(patient.data_gaps or [])
        if needs:  # the report prints predictions: never from placeholders
            raise ValueError(f"{patient_id}: {needs_message(needs)}")
        row = {**patient.features(), ID_COLUMN: patient.patient_id, NAME_COLUMN: patient.name}
        sessions = sessions_frame(session, patient_id)
        followup = followup_lines(session, patient_id)
        decisions = decision_lines(session, patient_id)  # what the clinician decided
    context = build_report_context(ws.model_set, ws.card, row, sessions,
                                   model_version=ws.version, followup=followup,
                                   decisions=decisions)
    pdf = render_patient_report(context)
    log.info("PDF report for %s (model %s): %d bytes", patient_id, ws.version, len(pdf))
    return pdf


@st.cache_data(max_entries=32, show_spinner=False)  # runs inside the click callback
def _cached_pdf(_ws: Workspace, store: str, patient_id: str, model_version: str,
                patient_version: int, sessions: tuple, followup: tuple[int, ...],
                decisions: tuple[int, ...] = ()) -> bytes:
    """``decisions`` (the patient's decision ids) is only a cache key: a new one, new PDF."""
    return build_pdf(_ws, patient_id)


@st.cache_data(max_entries=32, show_spinner=False)
def _cached_bundle(_ws: Workspace, store: str, patient_id: str, model_version: str,
                   patient_version: int, sessions: tuple[int, str]) -> bytes:
    from interop.fhir.exporter.patient import patient_bundle

    with session_factory(_ws.engine)() as session:
        bundle = patient_bundle(session, patient_id, _ws.model_set, _ws.card, model_version)
    return (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _decision_ids(ws: Workspace, patient_id: str) -> tuple[int, ...]:
    with session_factory(ws.engine)() as session:
        return tuple(d.id for d in decisions_for(session, patient_id))


def _patient_version(ws: Workspace, patient_id: str) -> int:
    with session_factory(ws.engine)() as session:
        patient = get_patient(session, patient_id)
        return int(patient.version) if patient is not None else 0


def render(ws: Workspace, cohort: pd.DataFrame, patient_id: str | None,
                  key: str) -> None:
    """A 'Download PDF report' button for ``patient_id`` (or why there is none)."""
    if patient_id is None or patient_id not in cohort.index:
        return
    actor = getattr(ws, "actor", None)
    if actor is None or not may_access(actor.role, IDENTIFIED):  # the PDF names the patient
        return
    needs = list(cohort.loc[patient_id].get(PREDICTION_GAPS, []) or [])
    if needs:
        st.caption(gap_summary(needs, "No PDF report yet (it prints predictions)") + ".")
        return
    store = ws.engine.url.render_as_string(hide_password=True)
    # the cache keys are read on click only: counting every stored session took ~1 s of
    # Candidate review at 100,000 patients (issue 31)
    version = _patient_version(ws, patient_id)

    def data() -> bytes:  # runs on click only; every export is audited when signed in
        sessions = sessions_fingerprint(ws.engine)
        pdf = _cached_pdf(ws, store, patient_id, ws.version, version, sessions,
                          store_stamp(ws.engine),  # follow-up recorded: a new PDF
                          _decision_ids(ws, patient_id))  # so does a decision
        audit.record_now(ws.engine, actor, "export", IDENTIFIED, patient_id=patient_id,
                         detail=f"PDF report, model {ws.version}")
        with session_factory(ws.engine)() as session:  # the printed prediction, monitored
            if record_from_cohort(session, ws.version, cohort, patient_id, "report",
                                  actor.username):
                session.commit()
        return pdf

    def bundle() -> bytes:  # the same patient as FHIR R4, sessions included; audited
        text = _cached_bundle(ws, store, patient_id, ws.version, version,
                              sessions_fingerprint(ws.engine))
        audit.record_now(ws.engine, actor, "export", IDENTIFIED, patient_id=patient_id,
                         detail=f"FHIR Bundle, model {ws.version}")
        return text

    left, right = st.columns(2)
    left.download_button("Download PDF report", data, file_name=f"{patient_id}-report.pdf",
                         mime=MIME, key=key, icon=":material/picture_as_pdf:",
                         on_click="ignore")
    right.download_button("Download FHIR Bundle", bundle, file_name=f"{patient_id}-fhir.json",
                          mime="application/fhir+json", key=f"{key}_fhir",
                          icon=":material/data_object:", on_click="ignore",
                          help="FHIR R4: screening values, every dosing session (LOINC "
                          "Observations) and the predictions that pass the quality gate; "
                          "`kapcds import-fhir` reads it back whole.")
