"""FHIR upload panel of the Data entry page (one call from ``views/data_entry.py``).

Upload a Bundle (.json) or bulk export (.ndjson) → see what was found, what is missing
and the warnings → save with the gaps listed → complete them in the edit form. Nothing is
guessed (issue 7): predictions stay hidden until every model input is filled in.
"""

from __future__ import annotations

import hashlib
import logging

import pandas as pd
import streamlit as st

from dashboard.services.entry.fhir import confirm, describe, open_gaps, parse_upload, save_imports
from dashboard.services.entry.form_errors import FormErrors
from dashboard.services.workspace import Workspace
from dashboard.widgets import components
from dashboard.widgets.entry import forms
from dashboard.widgets.entry.submission import form_instance, renew
from interop.fhir.importer.result import item9_text, suicide_alert
from models.contract.schema import feature
from records.gaps import labels

log = logging.getLogger(__name__)
UPLOAD_KEY = "fhir_upload"  # (file name, bytes): the uploader's file or one handed over
SAVED_KEY = "fhir_saved"
EDIT_PICKER = "edit_patient"  # the Edit patient tab's picker


def _show_results(ws: Workspace, file_name: str, data: bytes) -> None:
    try:
        results = parse_upload(file_name, data)
    except ValueError as error:
        st.error(f"Nothing was imported: {components.plain(error)}", icon=":material/error:")
        return
    st.dataframe(pd.DataFrame([describe(r) for r in results]), hide_index=True,
                 width="stretch")
    for result in results:
        who = components.plain(result.name or f"Patient/{result.fhir_patient_id}")
        alert = suicide_alert(result)
        if alert:  # outside the expander: never folded away
            st.error(f"{who} · {components.plain(alert)}", icon=":material/emergency:")
        with st.expander(f"{who}: {len(result.found)} found, {len(result.missing)} missing, "
                         f"{len(result.warnings)} warning(s)"):
            st.markdown(f"**Found:** {components.plain(labels(result.found) or '-')}")
            if item9_text(result):
                st.markdown(f"**PHQ-9 item 9:** {components.plain(item9_text(result))}")
            st.markdown(f"**Missing (saved as gaps, never guessed):** "
                        f"{components.plain(labels(result.missing) or '-')}")
            for warning in result.warnings:
                st.warning(components.plain(warning), icon=":material/report:")
    general = st.empty()
    form = form_instance("fhir_import")  # one save per rendered panel, whatever the clicks
    if st.button("Save with gaps listed", type="primary", key=form.key("fhir_save")):
        try:
            saved = save_imports(ws, results, file_name, token=form.token,
                                 digest=hashlib.sha256(data).hexdigest())
        except FormErrors as error:
            forms.show_errors(error, {}, general)
            return
        renew(form)
        st.session_state[SAVED_KEY] = saved
        st.session_state[components.PATIENT_KEY] = saved[0].patient_id
        st.session_state.pop(EDIT_PICKER, None)  # the edit form opens the new patient
        st.session_state.pop(UPLOAD_KEY, None)
        st.rerun()


def _show_saved() -> None:
    for item in st.session_state.get(SAVED_KEY, []):
        pid = components.plain(item.patient_id)
        if not item.gaps:
            st.success(f"Saved {pid} (complete).")
            continue
        st.success(f"Saved {pid} with {len(item.gaps)} gap(s): "
                   f"{components.plain(labels(item.gaps))}.")
        if item.blocking:
            st.info(f"Predictions for {pid} stay hidden until these are filled in: "
                    f"{components.plain(labels(item.blocking))}.", icon=":material/block:")
    if st.session_state.get(SAVED_KEY):
        st.page_link("views/data_entry.py", label="Complete the gaps in the Edit patient tab "
                     "(the new patient is selected there)", icon=":material/edit:")


def _confirm_panel(ws: Workspace) -> None:
    """Placeholders the clinician has checked and found right can be confirmed here."""
    patient_id = st.session_state.get(components.PATIENT_KEY)
    if not patient_id:
        return
    gaps, version = open_gaps(ws, str(patient_id))
    if not gaps:
        return
    with st.expander(f"Open gaps of {components.plain(patient_id)} ({len(gaps)})"):
        st.caption("Change a field in the Edit patient tab to fill it in. If the stored "
                   "placeholder is in fact the right value, confirm it here.")
        chosen = st.multiselect("Stored value is correct for", gaps, key="fhir_confirm_fields",
                                format_func=lambda n: feature(n).label)
        form = form_instance(f"fhir_confirm_{patient_id}")
        if st.button("Confirm", key=form.key("fhir_confirm"), disabled=not chosen):
            try:
                confirm(ws, str(patient_id), list(chosen), version, token=form.token)
            except FormErrors as error:
                forms.show_errors(error, {})
            else:
                renew(form)
                st.rerun()


def render(ws: Workspace) -> None:
    """The whole panel: upload, summary, save, what to complete next."""
    st.divider()
    st.header("Import FHIR")
    st.write("Upload a FHIR R4 Bundle (.json) or a bulk export (.ndjson). Inputs the file "
             "lacks are saved as gaps — never guessed — and predictions stay hidden until "
             "you fill them in.")
    upload = st.file_uploader("FHIR file", type=["json", "ndjson"], key="fhir_file")
    payload = (upload.name, upload.getvalue()) if upload else st.session_state.get(UPLOAD_KEY)
    _show_saved()
    if payload:
        _show_results(ws, *payload)
    _confirm_panel(ws)
