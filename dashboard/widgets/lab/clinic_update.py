"""The model lab's "Update the models on this clinic's patients" form and the result of an
update job (issue 29). The form queues a background job (``dashboard.services.lab.updating``);
the result tables are the service's, rendered as they are.

Monitoring hands over a suggestion by setting ``HANDOFF`` in the session (version, method,
outcomes): the form opens with them preselected.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.services.lab import updating
from dashboard.widgets.components import plain
from dashboard.widgets.entry.submission import form_instance, renew
from models.contract.schema import OUTCOMES, outcome

HANDOFF = "ml_update_handoff"  # set by Monitoring's "Open in the model lab" buttons
KEYS = {"version": "ml_upd_version", "method": "ml_upd_method", "outcomes": "ml_upd_outcomes"}


def take_handoff(versions: list[str]) -> None:
    """Preselect what Monitoring asked for (once, before the lab's widgets are drawn) and
    say so; nothing runs until the data scientist presses a button."""
    handoff = st.session_state.pop(HANDOFF, None)
    if not handoff:
        return
    if handoff.get("train"):
        st.session_state["ml_source"] = updating.CLINIC_SOURCE
        st.info(f"From Monitoring: {plain(handoff.get('reason', ''))}. Training on this "
                "clinic's patients is preselected below; it runs only when you press the "
                "button.", icon=":material/arrow_downward:")
        return
    if handoff.get("version") in versions:
        st.session_state[KEYS["version"]] = handoff["version"]
    if handoff.get("method") in updating.METHODS:
        st.session_state[KEYS["method"]] = handoff["method"]
    st.session_state[KEYS["outcomes"]] = [n for n in handoff.get("outcomes") or []
                                          if n in {o.name for o in OUTCOMES}]
    st.info(f"From Monitoring: {plain(handoff.get('reason', ''))}. The update "
            f"(method {handoff.get('method')}) is preselected under 'Update a version on this "
            "clinic's patients'; it runs only when you press the button.",
            icon=":material/arrow_downward:")


def render_form(engine: Any, username: str, versions: list[str], labels: dict[str, str],
                current: str | None) -> str | None:
    """Version, method, outcomes and the button; the queued job's id, or None."""
    newest = versions[::-1]
    c1, c2 = st.columns(2)
    index = newest.index(current) if current in newest else 0
    version = c1.selectbox("Version to update", newest, key=KEYS["version"],
                           index=None if KEYS["version"] in st.session_state else index,
                           format_func=lambda v: labels.get(v, v) + (
                               " (current)" if v == current else ""))
    method = c2.selectbox("Method", updating.METHODS, key=KEYS["method"],
                          format_func=updating.METHOD_LABELS.get)
    chosen = st.multiselect("Outcomes (none chosen: every outcome)", [o.name for o in OUTCOMES],
                            key=KEYS["outcomes"], format_func=lambda n: outcome(n).label)
    n_boot = st.number_input("Bootstrap resamples of the update (CIs)", 10, 1000, 200, 10,
                             key="ml_upd_boot")  # a label of its own: one per page
    st.caption("Older ended series fit the update, the most recent 30 % judge it. A step is "
               "refused when Riley et al.'s sample-size criteria are not met; the result is a "
               "candidate, never promoted here.")
    form = form_instance("ml_update")  # one job per click: a double click queues one
    if st.button("Update in the background", key=form.key("ml_update"), type="primary",
                 disabled=version is None):
        job_id = updating.submit_update(engine, username, str(version), str(method), chosen,
                                        int(n_boot), token=form.token)
        renew(form)
        return job_id
    return None


def render_result(result: dict[str, Any], key: str) -> None:
    """An update job's result: step and why per outcome, refused steps with Riley's
    numbers, and current vs updated on the recent patients."""
    st.markdown(plain(updating.headline(result)))
    st.markdown("**Step per outcome** (closed likelihood-ratio test, Vergouwe 2017)")
    st.dataframe(updating.steps_table(result), hide_index=True, width="stretch",
                 key=f"ml_upd_steps_{key}")
    refused = updating.refused_table(result)
    if not refused.empty:
        st.markdown("**Steps refused by the sample size** (Riley et al., BMJ 2020)")
        st.dataframe(refused, hide_index=True, width="stretch", key=f"ml_upd_refused_{key}")
    st.markdown("**On the most recent patients** (never used to fit; 95 % bootstrap CIs)")
    st.dataframe(updating.evaluation_table(result), hide_index=True, width="stretch",
                 key=f"ml_upd_eval_{key}")
