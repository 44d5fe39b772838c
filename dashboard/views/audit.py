"""Audit log (administrators): filter and read the trail, verify its hash chain, export it.

Reading, verifying and exporting the trail are themselves audited.
"""

from datetime import datetime, time, timedelta, timezone

import pandas as pd
import streamlit as st

from base.clock import clinic_text, zone_label
from base.settings import clinic_timezone
from dashboard.services.access import audited_download
from dashboard.widgets import components
from dashboard.widgets.signin import auth
from records.audit import trail as audit
from records.db import session_factory
from records.security.policy import AUDIT

PAGE = "audit"  # this page's key in records.security.policy (and its URL)
ws = components.start_page(PAGE, "Audit log")
ANY = "(any)"

c1, c2, c3, c4 = st.columns(4)
username = c1.text_input("User", key="al_user", placeholder="e.g. test-clinician")
patient_id = c2.text_input("Patient id", key="al_patient", placeholder="e.g. KAP-00001")
action = c3.selectbox("Action", [ANY, *audit.ACTIONS], key="al_action")
outcome = c4.selectbox("Outcome", [ANY, "success", "failure", "denied"], key="al_outcome")
d1, d2, d3 = st.columns(3)
ZONE = clinic_timezone()
since = d1.date_input(f"From ({zone_label(ZONE)})", value=None, key="al_since")
until = d2.date_input(f"Until ({zone_label(ZONE)}, inclusive)", value=None, key="al_until")
limit = d3.number_input("Show at most", min_value=10, max_value=10_000, value=500, step=50,
                        key="al_limit")


def _day(value: object, shift: int = 0) -> datetime | None:
    if value is None:
        return None
    start = datetime.combine(value, time(), tzinfo=ZONE) + timedelta(days=shift)  # type: ignore[arg-type]
    return start.astimezone(timezone.utc)


filters = audit.AuditFilter(
    since=_day(since), until=_day(until, 1), username=username.strip().lower() or None,
    patient_id=patient_id.strip() or None, action=None if action == ANY else action,
    outcome=None if outcome == ANY else outcome)
with session_factory(ws.engine)() as session:
    table = audit.entries_frame(session, filters, limit=int(limit))
auth.audit_view("audit_view", AUDIT)
WHEN = f"at ({zone_label(ZONE)})"
table = table.rename(columns={"at": WHEN})
table[WHEN] = [clinic_text(pd.Timestamp(at).to_pydatetime(), ZONE) for at in table[WHEN]]
st.caption(f"{components.counted(len(table), 'entry', 'entries')} shown, newest first "
           f"(times in {zone_label(ZONE)}; the "
           "CSV export keeps UTC). Each entry's hash covers its contents and the previous "
           "entry's hash.")
st.dataframe(table, hide_index=True, width="stretch", height=420, column_config={
    "prev_hash": st.column_config.TextColumn("previous hash", width="small"),
    "hash": st.column_config.TextColumn(width="small")})

left, right = st.columns(2)
if left.button("Verify the hash chain", key="al_verify", icon=":material/verified:"):
    with session_factory(ws.engine)() as session:
        report = audit.verify(session)
        audit.record(session, ws.actor, "audit_verify", AUDIT,  # type: ignore[arg-type]
                     outcome="success" if report.ok else "failure", detail=str(report))
        session.commit()
    (st.success if report.ok else st.error)(str(report))


def _export() -> str:
    with session_factory(ws.engine)() as session:
        return audit.export_csv(session, filters)


right.download_button(
    "Export the matching entries (CSV)", key="al_export", mime="text/csv",
    file_name="kapcds-audit.csv", icon=":material/download:",
    data=audited_download(ws, "audit_export", AUDIT, _export, detail=str(filters)))
