"""Model lab (data scientists): train in the background on sample, generated or uploaded
data or the clinic's own patients; update a version on the clinic's patients (issue 29);
evaluate a version (ROC/PR, calibration, decision curve, subgroups, global SHAP);
compare a candidate with the current version and promote it explicitly."""

import pandas as pd
import streamlit as st

from base import settings
from dashboard.charts.evaluation import calibration, decision_curve, roc_pr
from dashboard.charts.explain import importance_bar
from dashboard.services.lab import jobs as lab_jobs
from dashboard.services.lab import promotion as lab_promotion
from dashboard.services.lab import updating as lab_updating
from dashboard.services.lab import versions as lab
from dashboard.widgets import components
from dashboard.widgets.chart_view import show_chart
from dashboard.widgets.entry.submission import form_instance, renew
from dashboard.widgets.lab import clinic_update, governance_card, jobs_panel, promotion
from models.clinical.quality_gate import outcome_quality
from models.contract.schema import OUTCOMES, outcome
from models.store.card_text import render_card_markdown
from models.store.registry import Registry
from records.audit.trail import record_now
from records.security.policy import MODEL, Actor

PAGE = "model_lab"  # this page's key in records.security.policy (and its URL)
ws = components.start_page(PAGE, "Model lab")
registry = Registry(settings.default_registry_dir())
OUTCOME_NAMES = [o.name for o in OUTCOMES]
CLINIC = lab_updating.CLINIC_SOURCE  # issue 29: kapcds train --from-store


def _actor() -> Actor:
    """The signed-in user (``components.start_page`` has checked their role)."""
    return ws.actor  # type: ignore[return-value]


@st.cache_resource(max_entries=4, show_spinner="Loading the model version…")
def _load(root: str, version: str) -> tuple:
    return Registry(root).load(version)


train_tab, eval_tab, compare_tab, card_tab = st.tabs(["Train", "Evaluate", "Compare and promote",
                                                     "Governance card"])

with train_tab:
    clinic_update.take_handoff([row["id"] for row in registry.versions()])
    source = st.radio("Training data", ["data_samples/", "generate a synthetic cohort",
                                        "upload a CSV pair", CLINIC], horizontal=True,
                      key="ml_source")
    knobs: dict[str, float] = {}
    if source == "generate a synthetic cohort":
        g1, g2 = st.columns(2)
        n_patients = g1.number_input("Patients", 200, 20_000, 2000, 100, key="ml_n")
        gen_seed = g2.number_input("Generator seed", 0, 10**9, 1, key="ml_gen_seed")
        cols = st.columns(len(lab.KNOBS))
        for col, (name, label) in zip(cols, lab.KNOBS.items(), strict=True):
            knobs[name] = col.number_input(label, value=lab.default_knobs()[name], step=0.05,
                                           format="%.2f", key=f"ml_knob_{name}")
    elif source == "upload a CSV pair":
        up1, up2 = st.columns(2)
        patients_file = up1.file_uploader("patients.csv", type="csv", key="ml_up_patients")
        sessions_file = up2.file_uploader("sessions.csv", type="csv", key="ml_up_sessions")
        st.caption("Files are read as CSV text and validated row by row; nothing is used if "
                   "any row is invalid, and uploads are never unpickled.")
    elif source == CLINIC:
        st.caption("The store's ended series (outcomes by the monitoring's definitions), the "
                   "most recent 30 % as the test split; the same training as `kapcds train "
                   "--from-store`.")
    st.markdown("**Hyperparameters** (defaults from `models.learners.estimators.DEFAULT_PARAMS`)")
    params: dict[str, float] = {}
    cols = st.columns(len(lab.TUNABLE))
    for col, (name, why) in zip(cols, lab.TUNABLE.items(), strict=True):
        default = lab.default_params()[name]
        step = 1 if isinstance(default, int) else 0.01
        params[name] = col.number_input(name, value=default, step=step, help=why,
                                        key=f"ml_param_{name}")
    t1, t2 = st.columns(2)
    seed = t1.number_input("Split/training seed", 0, 10**6, 0, key="ml_seed")
    n_boot = t2.number_input("Bootstrap resamples (CIs)", 10, 1000, 200, 10, key="ml_boot")

    train_form = form_instance("ml_train")  # one job per click: a double click queues one
    if st.button("Train in the background", key=train_form.key("ml_train"), type="primary"):
        data: object = None
        if source == CLINIC:
            st.session_state["ml_job"] = lab_updating.submit_train(
                ws.engine, _actor().username, params, int(n_boot), int(seed),
                token=train_form.token)
            renew(train_form)
            record_now(ws.engine, _actor(), "model_training", MODEL,
                       detail=f"lab job {st.session_state['ml_job']} queued from the store")
        elif source == "data_samples/":
            data, described = True, {"source": "data_samples/"}
        elif source == "generate a synthetic cohort":
            data = True  # the worker generates the cohort from this spec
            described = {"source": "generated", "n": int(n_patients), "seed": int(gen_seed),
                         "effect_settings": knobs}
        elif patients_file is None or sessions_file is None:
            st.error("Upload both patients.csv and sessions.csv.")
        else:
            data = lab.uploaded_data(patients_file.getvalue(), sessions_file.getvalue())
            described = {"source": f"upload {patients_file.name}"}
            if isinstance(data, pd.DataFrame):
                st.error(f"{len(data)} problem(s) in the upload; nothing was used.")
                st.dataframe(data, hide_index=True, key="ml_upload_errors")
                data = None
        if data is not None:
            job_id = lab_jobs.submit(
                ws.engine, _actor().username, str(described["source"]), described,
                {"params": params, "seed": int(seed), "n_bootstrap": int(n_boot)},
                upload=data if isinstance(data, tuple) else None, token=train_form.token)
            renew(train_form)
            st.session_state["ml_job"] = job_id
            record_now(ws.engine, _actor(), "model_training", MODEL,
                       detail=f"lab job {job_id} queued from {described['source']}")

    st.markdown("**Update a version on this clinic's patients**")
    versions_now = [row["id"] for row in registry.versions()]
    queued = clinic_update.render_form(ws.engine, _actor().username, versions_now,
                                       lab.version_labels(registry), registry.current_version())
    if queued:
        st.session_state["ml_job"] = queued
        record_now(ws.engine, _actor(), "model_update", MODEL,
                   detail=f"lab job {queued} queued: {st.session_state['ml_upd_method']} on "
                   "the store")
    st.markdown("**Training jobs** (every user's; they run in a worker process, so closing "
                "the browser or restarting the dashboard does not stop them)")
    jobs_panel.render(ws.engine)

versions = [row["id"] for row in registry.versions()]
current = registry.current_version()
labels = lab.version_labels(registry)  # id — data, n patients, date, who trained it
# Bumped by each promotion: the version selectors and the confirmation get fresh keys, so
# none of them shows (or keeps ticked) what it held before the promotion.
rounds = st.session_state.setdefault("ml_promotions", 0)

with eval_tab:
    e1, e2 = st.columns(2)
    newest = versions[::-1]
    version = e1.selectbox("Version", newest, key=f"ml_eval_version_{rounds}",
                           index=newest.index(current) if current in newest else 0,
                           format_func=lambda v: labels[v] + (" (current)" if v == current
                                                              else ""))
    name = e2.selectbox("Outcome", OUTCOME_NAMES, key="ml_eval_outcome",
                        format_func=lambda n: outcome(n).label)
    model_set, card = _load(str(registry.root), version)
    report = card.get("evaluation", {}).get("report", {}).get("outcomes", {}).get(name)
    if report is None:
        st.info("This version's card holds no evaluation report for this outcome.")
    else:
        summary = lab.calibration_summary(report)
        for col, (label, text) in zip(st.columns(len(summary)), summary.items(), strict=True):
            col.metric(label, text.split(" ")[0], help=f"95 % CI {text}")
        st.caption(f"Metrics, calibration, decision curve and subgroups: the card's report on "
                   f"{report['n']:,} held-out test patients (95 % bootstrap CIs).")
        quality = outcome_quality(card, name)
        verdict = "shown to clinicians" if quality.reliable else "greyed for clinicians"
        (st.caption if quality.reliable else st.warning)(
            f"Quality gate: {verdict} — {quality.reason}.")
        with st.expander("Quality gate, every outcome of this version"):
            st.dataframe(lab.gate_verdicts(card), hide_index=True, key="ml_gate")
        try:
            data = lab.evaluation_data(model_set, card)
        except ValueError as missing:
            data = lab.EvalData(str(missing), {}, {})
            st.info(f"No ROC/PR curves: {missing}")
        if name in data.y:
            show_chart(roc_pr({version: lab.curves(data.y[name], data.p[name])}), key="ml_roc")
            st.caption(f"ROC and PR curves: {components.plain(data.source)}.")
        left, right = st.columns(2)
        show_chart(calibration({version: report["calibration_curve"]}, title="Calibration"),
                   key="ml_cal", where=left)
        show_chart(decision_curve(report["decision_curve"], title="Decision curve"),
                   key="ml_dca", where=right)
        st.markdown("**Subgroups** (largest AUC gap per variable highlighted)")
        table = lab.subgroup_table(report)
        if not table.empty:
            st.dataframe(table.style.apply(
                lambda row: ["background-color: #fdebd0" if row["largest gap"] else ""] * len(row),
                axis=1).format({"prevalence": "{:.1%}", "auc": "{:.3f}", "brier": "{:.3f}",
                                "AUC gap": "{:+.3f}"}, na_rep="n/a"),
                hide_index=True, key="ml_subgroups")
        show_chart(importance_bar(lab.importance(model_set, name),
                                              title="Global importance (mean |SHAP|, 300 "
                                              "data_samples patients)"), key="ml_importance")

with compare_tab:
    promoted = st.session_state.pop("ml_promoted", None)  # shown once, after the rerun
    if promoted:
        st.success(promoted, icon=":material/verified:")
    st.markdown(f"**Current version:** {labels.get(current, current or 'none')}")
    candidates = [v for v in versions if v != current]
    if not candidates:
        st.info("Only the current version exists; train a candidate first.")
    else:
        candidate = st.selectbox("Candidate", candidates[::-1], key=f"ml_candidate_{rounds}",
                                 format_func=lambda v: labels.get(v, v))
        cand_set, cand_card = _load(str(registry.root), candidate)
        cur_set, cur_card = _load(str(registry.root), current)
        st.markdown(f"**Candidate `{candidate}` − current `{current}`** on patients neither "
                    "version trained or validated on")
        pool_source = st.radio("Compare on", ["data_samples/", "a generated cohort"],
                               horizontal=True, key="ml_cmp_pool")
        pool = None if pool_source == "data_samples/" else lab.comparison_pool(
            "generated", 2000, st.number_input("Cohort seed", 0, 10**9, 424242,
                                               key="ml_cmp_seed"))
        try:
            comparison = lab.compare_versions(cand_set, cand_card, cur_set, cur_card, pool)
        except ValueError as refused:
            comparison = None
            st.error(f"No comparison: {refused}", icon=":material/block:")
        else:
            st.dataframe(comparison.table, hide_index=True, key="ml_compare", column_config={
                "difference": st.column_config.NumberColumn(format="%+.3f"),
                "current": st.column_config.NumberColumn(format="%.3f"),
                "candidate": st.column_config.NumberColumn(format="%.3f")})
            st.caption(comparison.caption)
        review = lab_promotion.review(candidate, cand_card, current, cur_card, comparison)
        promotion.render_review(review)
        cal_outcome = st.selectbox("Calibration of", OUTCOME_NAMES, key="ml_cmp_outcome",
                                   format_func=lambda n: outcome(n).label)
        reports = {label: c.get("evaluation", {}).get("report", {}).get("outcomes", {})
                   .get(cal_outcome, {}).get("calibration_curve", [])
                   for label, c in (("current", cur_card), ("candidate", cand_card))}
        show_chart(calibration(reports, title="Calibration: current vs "
                                               "candidate (each on its own test split)"),
                        key="ml_cmp_cal")
        promotion.render_promote(review, registry, ws.engine, _actor(),
                                 labels.get(candidate, candidate), rounds)
        with st.expander("Candidate model card"):
            st.markdown(render_card_markdown(cand_card))

with card_tab:  # issue 28: the card a governance board files, for any version
    gov_version = st.selectbox("Version", versions[::-1], key=f"ml_gov_version_{rounds}",
                               index=versions[::-1].index(current) if current in versions
                               else 0, format_func=lambda v: labels[v] + (
                                   " (current)" if v == current else ""))
    governance_card.render(ws, _load(str(registry.root), gov_version)[1])
