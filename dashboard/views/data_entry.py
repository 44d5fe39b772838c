"""Data entry: add or edit a patient with a form built from the schema, or import CSV files
all-or-nothing with a row-by-row error table."""

import streamlit as st

from dashboard.services.entry.followup import import_followup_csv
from dashboard.services.entry.form_errors import FormErrors, SamePersonErrors, StaleEditError
from dashboard.services.entry.writes import create_patient, import_csv, load_for_edit, save_patient
from dashboard.widgets import components, resources
from dashboard.widgets.entry import fhir_panel, forms
from dashboard.widgets.entry.submission import form_instance, renew

PAGE = "data_entry"  # this page's key in records.security.policy (and its URL)
ws = components.start_page(PAGE, "Data entry")
cohort = resources.cohort(ws)

flash = st.session_state.pop("de_flash", None)
if flash:
    st.success(flash)
add_tab, edit_tab, import_tab = st.tabs(["Add patient", "Edit patient", "Import CSV"])

with add_tab:
    add = form_instance("add_patient")  # one token per rendered form: one patient per click
    add_prefix = add.key("add")
    with st.form(add.key("add_patient")):
        general = st.empty()
        c1, c2 = st.columns(2)
        name = c1.text_input("Name", key=f"{add_prefix}_name",
                             help="The patient's (synthetic) name.")
        name_slot = c1.empty()
        same_name = st.session_state.pop("de_same_name_message", None)
        if same_name:
            with name_slot.container():
                components.field_errors([same_name])
        patient_id = c2.text_input("Patient id (optional)", key=f"{add_prefix}_id",
                                   help="Leave empty for the next free KAP-xxxxx id.")
        id_slot = c2.empty()
        st.caption("Every field starts empty: enter each value for this patient. Nothing is "
                   "assumed, not even \"no\" for a history item.")
        values, slots = forms.patient_fields({}, add_prefix)
        on_file = st.session_state.get(add.key("same_name_on_file"))
        different: list[str] = []
        if on_file:  # shown once the store found the name: the clinician decides
            if st.checkbox(components.plain(f"A different person: not {', '.join(on_file)}"),
                           key=f"{add_prefix}_different_from_{'_'.join(on_file)}"):
                different = list(on_file)
        if st.form_submit_button("Add patient", type="primary"):
            try:
                new_id = create_patient(ws, {**values, "name": name,
                                             "patient_id": patient_id.strip() or None},
                                        token=add.token, different_from=different)
            except SamePersonErrors as error:
                st.session_state[add.key("same_name_on_file")] = [
                    m.patient_id for m in error.matches]
                st.session_state["de_same_name_message"] = error.by_field["name"][0]
                st.rerun()  # draw the confirmation box; every typed value is kept
            except FormErrors as error:
                forms.show_errors(error, {**slots, "name": name_slot, "patient_id": id_slot},
                                  general)
            else:
                renew(add)  # the form is drawn empty; a late second click reaches no button
                st.session_state["de_flash"] = (f"Saved {new_id}. Patient {new_id} added; the "
                                                 "form is empty for the next patient.")
                st.session_state[components.PATIENT_KEY] = new_id
                st.rerun()

with edit_tab:
    edit_id = components.patient_picker(cohort, cohort.index, key="edit_patient",
                                        label="Patient to edit")
    if edit_id is not None:
        stored, current_version = load_for_edit(ws, edit_id)
        opened = st.session_state.setdefault("edit_opened", {})
        base_version = opened.setdefault(edit_id, current_version)
        st.caption(f"Editing version {base_version} (stored: version {current_version}).")
        if current_version != base_version:
            st.info("This patient was changed after you opened it.")
        prefix = f"edit_{edit_id}_{base_version}"
        edit = form_instance(f"edit_{edit_id}")
        with st.form(edit.key(f"edit_form_{edit_id}")):
            general = st.empty()
            name = st.text_input("Name", value=stored["name"], key=f"{prefix}_name")
            name_slot = st.empty()
            values, slots = forms.patient_fields(stored, prefix)
            if st.form_submit_button("Save changes", type="primary"):
                try:
                    version = save_patient(ws, edit_id, {**values, "name": name},
                                           expected_version=base_version, token=edit.token)
                except StaleEditError as error:
                    general.error("Not saved: someone else saved this patient first. "
                                  f"{components.plain(error)}",
                                  icon=":material/sync_problem:")
                except FormErrors as error:
                    forms.show_errors(error, {**slots, "name": name_slot}, general)
                else:
                    opened[edit_id] = version
                    renew(edit)
                    st.session_state["de_flash"] = f"Patient {edit_id} saved (version {version})."
                    st.rerun()
        if current_version != base_version and st.button("Reload the stored version",
                                                         key=f"reload_{edit_id}"):
            opened[edit_id] = current_version
            st.rerun()

with import_tab:
    st.write("Upload new patients (patients.csv), sessions (sessions.csv) or both. Every row "
             "is checked first; if any row has a problem, nothing is imported.")
    c1, c2 = st.columns(2)
    patients_file = c1.file_uploader("Patients CSV", type=["csv"], key="imp_patients")
    sessions_file = c2.file_uploader("Sessions CSV", type=["csv"], key="imp_sessions")
    csv_form = form_instance("csv_import")
    if st.button("Import", type="primary", key=csv_form.key("imp_go")):
        outcome = import_csv(
            ws, (patients_file.name, patients_file.getvalue()) if patients_file else None,
            (sessions_file.name, sessions_file.getvalue()) if sessions_file else None,
            token=csv_form.token)
        if outcome.ok:
            renew(csv_form)
            st.success(("These files were already imported: " if outcome.repeated else
                        "Imported ") + f"{outcome.patients} patients and {outcome.sessions} "
                       "sessions" + (" (nothing imported twice)." if outcome.repeated else "."))
        else:
            st.error(f"Nothing was imported: {len(outcome.errors)} problem(s). Fix the rows "
                     "below and upload again.", icon=":material/error:")
            st.dataframe(outcome.errors, hide_index=True, width="stretch")
    st.markdown("**Follow-up after the series**")
    st.write("Follow-up visits (patient_id; day_after_series and/or visit_at; any of phq9, "
             "gad7, craving_score, moca, blunting_score, urinary_symptoms, notes; an empty "
             "cell is a screen not done) and, with a kind column, maintenance doses (route and "
             "its dose: dose_mg_per_kg for ketamine, esketamine_dose_mg — 28, 56 or 84 mg, "
             "never per kg — for intranasal esketamine). All or nothing, like the files "
             "above.")
    followup_file = st.file_uploader("Follow-up CSV", type=["csv"], key="imp_followup")
    fu_form = form_instance("followup_import")
    import_followup = st.button("Import follow-up", key=fu_form.key("imp_fu_go"))
    if import_followup and followup_file is None:
        st.error("Choose a follow-up CSV file first: nothing was imported.",
                 icon=":material/upload_file:")
    elif import_followup and followup_file is not None:
        outcome = import_followup_csv(ws, (followup_file.name, followup_file.getvalue()),
                                      token=fu_form.token)
        if outcome.ok:
            renew(fu_form)
            st.success(("This file was already imported: " if outcome.repeated else
                        "Imported ") + f"{outcome.sessions} follow-up row(s)" +
                       (" (nothing imported twice)." if outcome.repeated else "."))
        else:
            st.error(f"Nothing was imported: {len(outcome.errors)} problem(s). Fix the rows "
                     "below and upload again.", icon=":material/error:")
            st.dataframe(outcome.errors, hide_index=True, width="stretch")
    fhir_panel.render(ws)
