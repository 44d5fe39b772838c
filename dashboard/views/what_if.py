"""What-if explorer (trainees): change what the clinic controls and watch the predictions and
the explanation move; save scenarios, find the smallest change that reaches a target, and see
how one input moves the prediction for this patient and for the cohort.

Patients appear only under a stable pseudonym (de-identified); every widget is built from
``models.contract.schema``. Everything below the starting point is one fragment derived from
the current inputs on every run (issue 23 defect 9): the predictions, the saved scenarios of
this starting point only, the smallest-change table only while its inputs and target are
current, and the dependence chart of the scenario as it is now.
"""

import streamlit as st

from dashboard.charts.explain import shap_waterfall
from dashboard.charts.risk import compare_risks
from dashboard.charts.scenario import contribution_change, dependence_chart
from dashboard.services.lab.quality import greyed_note, shown_outcomes
from dashboard.services.patients import whatif as svc
from dashboard.services.patients.whatif_state import ScenarioBook, StoredResult, search_key
from dashboard.widgets import components, resources
from dashboard.widgets.chart_view import show_chart
from dashboard.widgets.patients import source_attributes
from dashboard.widgets.signin import auth
from dashboard.widgets.tables import percent_column
from models.contract.doses import complete_doses, dose_feature_for, not_applicable
from models.contract.schema import (
    DOSE_FEATURES,
    ESKETAMINE_DOSES_MG,
    FEATURES,
    OUTCOMES,
    ROUTE_DOSE_LIMITS,
    feature,
    outcome,
)
from models.inference.counterfactual import Target, find_counterfactuals
from models.inference.dependence import dependence
from records.security.policy import DEIDENTIFIED

PAGE = "what_if"  # this page's key in records.security.policy (and its URL)
ws = components.start_page(PAGE, "What-if explorer")
PREFIX = "wi_in_"
OUTCOME_NAMES = shown_outcomes(ws.card)  # only outcomes passing the quality gate
GREYED = greyed_note(ws.card)


patients = svc.deidentified_patients(resources.cohort(ws))  # cheap (HMAC per row)
source = st.radio("Start from", ["a de-identified patient", "a blank template"],
                  horizontal=True, key="wi_source")
if source == "a de-identified patient" and not patients.empty:
    pseudo = st.selectbox("Patient (pseudonym)", list(patients.index), key="wi_patient")
    baseline = svc.inputs_from(patients.loc[pseudo])
    auth.audit_view("prediction_view", DEIDENTIFIED, detail=f"what-if from {pseudo}")
    loaded = f"patient:{pseudo}"
else:
    baseline, loaded = svc.inputs_from(None), "template"
st.caption("Trainee view: de-identified patients only (stable pseudonyms; no names, ids or "
           "notes).")

# A new starting point resets every input; so does coming back to this page: Streamlit
# drops the state of widgets a run did not draw, so after another page the inputs would
# otherwise be drawn empty (0: every input refused) while "wi_loaded" is still set. The
# dose in the other route's unit is not drawn either (HAZ-240): its state is gone after a
# route change, which is no reason to reset the scenario (the dose field is drawn empty).
if st.session_state.get("wi_loaded") != loaded or any(
        PREFIX + name not in st.session_state for name in baseline
        if name not in DOSE_FEATURES):
    for name, value in baseline.items():
        st.session_state[PREFIX + name] = value
    st.session_state["wi_name"] = ""  # a name typed for another start is not carried over
    st.session_state["wi_loaded"] = loaded


def _widget(name: str) -> None:
    """One input widget from its schema definition (dose limits follow the chosen route)."""
    spec, key = feature(name), PREFIX + name
    if spec.dtype == "category":
        st.selectbox(spec.label, list(spec.categories), key=key, help=spec.help,
                     format_func=spec.category_label)
    elif spec.dtype == "bool":
        st.checkbox(spec.label, key=key, help=spec.help)
    elif name in DOSE_FEATURES:  # in the route's unit only; out-of-range refused below
        route = st.session_state[PREFIX + "route"]
        if not_applicable(name, route):
            return  # the other route's unit: no field (never a value per kg for esketamine)
        if key not in st.session_state:  # dropped while the other unit was shown: empty
            st.session_state[key] = None
        if name == "esketamine_dose_mg":
            if st.session_state.get(key) not in ESKETAMINE_DOSES_MG:
                st.session_state[key] = None  # chosen, never carried over from mg/kg
            st.selectbox("Dose (mg per session)", [float(v) for v in ESKETAMINE_DOSES_MG],
                         key=key, help=spec.help, placeholder="choose",
                         format_func=lambda mg: f"{mg:g} mg")
        else:
            lo, hi = ROUTE_DOSE_LIMITS[route]
            st.number_input(f"{spec.label} ({spec.unit}, {lo:g}–{hi:g} for this route)",
                            step=0.05, key=key, help=spec.help)
    elif spec.dtype == "int":
        st.number_input(f"{spec.label} ({spec.unit}, {spec.min:g}–{spec.max:g})", step=1,
                        key=key, help=spec.help)
    else:
        st.number_input(f"{spec.label} ({spec.unit}, {spec.min:g}–{spec.max:g})", step=0.5,
                        key=key, help=spec.help)


def _book() -> ScenarioBook:
    book = st.session_state.get("wi_book")
    if not isinstance(book, ScenarioBook):
        book = st.session_state["wi_book"] = ScenarioBook()
    return book


def _predictions(baseline: dict, scenario: dict) -> None:
    """Baseline vs scenario: the table and the explanation of one outcome."""
    st.header("Baseline vs scenario")
    proba = svc.predict(ws.model_set, {"baseline": baseline, "scenario": scenario})
    if GREYED:
        st.markdown(f":gray[{GREYED}]")
    if not OUTCOME_NAMES:
        st.info("No outcome model passes the quality gate: nothing to predict or explain.")
        return
    st.dataframe(svc.prediction_table(proba, ws.card), hide_index=True, key="wi_predictions",
                 column_config={"baseline": percent_column(), "scenario": percent_column(),
                                "change (points)": st.column_config.NumberColumn(
                                    "change (percentage points)", format="%+.0f")})
    source_attributes.panel(ws)
    changes = svc.changed_inputs(baseline, scenario)
    st.caption("Changed: " + ("; ".join(changes) if changes else "nothing yet"))
    name = st.selectbox("Explain outcome", OUTCOME_NAMES, key="wi_explain",
                        format_func=lambda n: outcome(n).label)
    explained = svc.explain_scenarios(ws.model_set, baseline, scenario, name)
    left, right = st.columns(2)
    show_chart(shap_waterfall(
        explained.base_proba * 100, explained.scenario * 100, svc.LABELS,
        title="Scenario explanation (points)"), key="wi_waterfall", where=left)
    show_chart(contribution_change(
        explained.table, title="Each input's effect, baseline vs scenario"),
        key="wi_change", where=right)
    st.dataframe(explained.table, hide_index=True, key="wi_change_table",
                 column_order=("input", "change", "baseline value", "scenario value",
                               "baseline effect", "scenario effect"),  # key columns first
                 column_config={c: st.column_config.NumberColumn(f"{c} (points)", format="%+.1f")
                                for c in ("baseline effect", "scenario effect", "change")})


def _saved_scenarios(baseline: dict, scenario: dict, loaded: str) -> None:
    """Save this scenario; compare those saved from this starting point (and no other)."""
    label = st.text_input("Scenario name", key="wi_name", placeholder="e.g. IM, taper benzo")
    book = _book()
    if st.button("Save scenario", key="wi_save"):
        title = book.save(loaded, label, scenario)
        st.session_state["wi_compare"] = book.newest(loaded)  # listed and compared at once
        st.success(f"Saved '{components.plain(title)}'.")
    st.header("Saved scenarios")
    saved = book.scenarios(loaded)
    if st.session_state.get("wi_compare_for") != loaded:  # another start: its own list
        st.session_state["wi_compare"] = book.newest(loaded)
        st.session_state["wi_compare_for"] = loaded
    if not saved:
        st.info("Save a scenario above to compare up to four side by side (scenarios are "
                "kept for this starting point only).")
        return
    chosen = st.multiselect("Compare (up to four)", list(saved), max_selections=svc.MAX_COMPARED,
                            key="wi_compare")
    if chosen:
        table = svc.compare_table(ws.model_set, baseline, {n: saved[n] for n in chosen},
                                  ws.card)
        proba = svc.predict(ws.model_set, {"baseline": baseline,
                                           **{n: saved[n] for n in chosen}})
        proba = proba.loc[[n for n in proba.index if n in OUTCOME_NAMES]]  # the gate
        show_chart(compare_risks(proba.rename(index={o.name: o.label for o in OUTCOMES})),
                        key="wi_compare_chart")
        st.dataframe(table, key="wi_compare_table")


def _smallest_change(current: dict, loaded: str) -> None:
    """The counterfactual search; its table shows only while inputs and target are current."""
    st.header("Smallest change that reaches a target")
    c1, c2, c3 = st.columns(3)
    goal = c1.selectbox("Outcome", OUTCOME_NAMES, key="wi_cf_outcome",
                        format_func=lambda n: outcome(n).label)
    kind = outcome(goal).kind
    direction = "above" if kind == "benefit" else "below"
    threshold = c2.slider(f"Probability {direction} (%)", 1, 99, 60 if kind == "benefit" else 10,
                          key="wi_cf_threshold")
    c3.caption("Searches only the inputs the clinic controls, within the schema ranges and the "
               "route's dose limits; ranked by the number of inputs changed, then the size of "
               "the change (each number's change as a share of its allowed range, 1 per changed "
               "category). A benzodiazepine dose is only kept or lowered, never started or "
               "raised (clinical-reference §2: higher doses weaken the response).")
    key = search_key(loaded, current, goal, threshold)
    if c3.button("Find options", key="wi_cf_run"):
        st.session_state["wi_cf_result"] = StoredResult(key, find_counterfactuals(
            ws.model_set, current, [Target(goal, direction, threshold / 100)]))
    stored = st.session_state.get("wi_cf_result")
    result = stored.for_key(key) if isinstance(stored, StoredResult) else None
    if result is None:
        if stored is not None:
            st.caption("The inputs or the target changed since the last search: press Find "
                       "options to search again for these.")
        return
    if result.already_met:
        st.success(result.message)
    elif not result.options:
        st.info(result.message, icon=":material/block:")
    else:
        st.caption(f"Target: {result.targets[0].describe()}. {result.message}")
        st.dataframe(svc.options_table(result, ws.card), hide_index=True, key="wi_cf_table",
                     column_config={o.label: percent_column(bar=False) for o in OUTCOMES})


def _dependence(current: dict) -> None:
    """How one input moves the prediction, for the scenario as it is now."""
    st.header("How one input moves the prediction")
    d1, d2 = st.columns(2)
    inputs = [f.name for f in FEATURES if f.model_input
              and not not_applicable(f.name, current.get("route"))]
    dose = dose_feature_for(current.get("route"))  # in the route's own unit
    dep_feature = d1.selectbox("Input", inputs,
                               index=inputs.index(dose if dose in inputs else "route"),
                               key="wi_dep_feature", format_func=lambda n: feature(n).label)
    dep_outcome = d2.selectbox("Outcome", OUTCOME_NAMES, key="wi_dep_outcome",
                               format_func=lambda n: outcome(n).label)
    dep = dependence(ws.model_set, current, resources.cohort(ws), dep_feature, dep_outcome)
    spec = feature(dep_feature)
    show_chart(dependence_chart(
        dep.curve, dep.patient_value, f"{spec.label} {spec.unit}".strip(),
        title=f"P({outcome(dep_outcome).label.lower()}) across the allowed range"),
        key="wi_dep")
    st.caption(f"Thick solid line: this scenario ({spec.label.lower()} = "  # not by colour
               f"{spec.format_value(current.get(dep_feature))}) with only "
               f"{spec.label.lower()} varied (ICE). Dashed line and band: {dep.note} "
               f"({dep.n_cohort}), each with "
               "the same input varied (partial dependence). Beyond the training data's range "
               "the model extrapolates.")


@st.fragment
def explorer(baseline: dict, loaded: str) -> None:
    """Inputs and everything derived from them, rerun together on every change."""
    st.header("What the clinic can change")
    cols = st.columns(3)
    for i, name in enumerate(svc.CLINIC):
        with cols[i % 3]:
            _widget(name)
    with st.expander("What the patient brings", expanded=False):
        cols = st.columns(3)
        for i, name in enumerate(svc.PATIENT):
            with cols[i % 3]:
                _widget(name)
    entered = complete_doses({n: st.session_state.get(PREFIX + n) for n in svc.FEATURE_NAMES})
    problems = svc.scenario_problems(entered)
    if problems:  # never predict from the previous value or a silently moved one
        for problem in problems:
            st.error(problem, icon=":material/error:")
        st.info("The scenario is predicted again, and the charts below drawn again, once "
                "every input is within its allowed range.")
        return
    scenario = svc.inputs_from(entered)
    for sentence in ws.model_set.ood.explain_flags(scenario):
        st.warning(sentence, icon=":material/travel_explore:")
    _predictions(baseline, scenario)
    if not OUTCOME_NAMES:  # every outcome is gated: no target or curve to show
        return
    _saved_scenarios(baseline, scenario, loaded)
    _smallest_change(scenario, loaded)
    _dependence(scenario)


explorer(baseline, loaded)
