"""The model lab's job list: every user's training jobs with progress, log and cancel.

Polls (a fragment rerun every 2 s) only while a job is queued or running, so an idle lab
does not keep rerunning.
"""

from __future__ import annotations

import streamlit as st

from dashboard.services.lab import jobs
from dashboard.widgets.components import plain
from dashboard.widgets.lab import clinic_update


def _job(engine: object, row: dict, newest: bool = False) -> None:
    icon = {"done": ":material/check_circle:", "failed": ":material/error:",
            "running": ":material/sync:", "queued": ":material/schedule:"}.get(
        row["status"], ":material/block:")
    title = (f"{row['label']} · {plain(row['description'])} · by {plain(row['by'])} · "
             f"{row['created']:%Y-%m-%d %H:%M} UTC")
    if row["version"]:
        title += f" → candidate {row['version']}"
    with st.expander(title, icon=icon,
                     expanded=newest or row["status"] in ("queued", "running")):
        if row["status"] in ("queued", "running"):
            st.progress(min(1.0, row["step"] / row["total"]), text=plain(row["message"]))
            if st.button("Cancel", key=f"job_cancel_{row['id']}",
                         disabled=bool(row["cancel_requested"])):
                jobs.cancel(engine, row["id"])  # type: ignore[arg-type]
                st.rerun()
        elif row["status"] == "done" and row["version"]:
            st.success(f"Registered candidate version {row['version']} (not promoted).")
        elif row["status"] == "done":
            st.info(plain(row["message"]))
        elif row["error"]:
            st.error(f"Failed: {plain(row['error'])}")
        else:
            st.caption(plain(row["message"]))
        if (row.get("result") or {}).get("kind") == "update":
            clinic_update.render_result(row["result"], row["id"])
        if row["log"]:
            st.code(row["log"], language=None)
        st.caption(f"Job {row['id']}")


def render(engine: object) -> None:
    """Every job, newest first; reruns itself while something runs."""
    rows = jobs.job_rows(engine)  # type: ignore[arg-type]

    @st.fragment(run_every=2.0)
    def poll() -> None:
        fresh = jobs.job_rows(engine)  # type: ignore[arg-type]
        for number, row in enumerate(fresh[:10]):
            _job(engine, row, newest=number == 0)
        if not jobs.any_active(fresh):
            st.rerun()  # the whole page: new candidates appear in the other tabs

    if not rows:
        st.caption("No training jobs yet.")
    elif jobs.any_active(rows):
        poll()
    else:
        for number, row in enumerate(rows[:10]):
            _job(engine, row, newest=number == 0)
