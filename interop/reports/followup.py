"""The follow-up lines of the patient report, read from the store (issue 13).

Relapse status by the reference's definition, the maintenance plan, the visits recorded,
cumulative exposure by route and phase, and the long-term alerts: the same functions the
dashboard's durability section uses (``models.clinical.followup_summary``,
``models.clinical.followup_alerts``).
Empty when the patient has no follow-up records.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from models.clinical.followup_alerts import followup_alerts
from models.clinical.followup_summary import exposure_by_route, followup_rows, followup_summary
from models.contract.followup_schema import schedule_label
from models.contract.schema import ID_COLUMN, feature
from records.followup.frames import doses_frame, plans_frame, visits_frame
from records.frames import patients_frame, sessions_frame


def followup_lines(session: Session, patient_id: str) -> list[str]:
    """Plain sentences about the patient's follow-up (empty list: none recorded)."""
    sessions = sessions_frame(session, patient_id)
    visits, doses = visits_frame(session, patient_id), doses_frame(session, patient_id)
    plans = plans_frame(session, patient_id)
    rows = followup_rows(sessions, visits, doses)
    if rows.empty and plans.empty:
        return []
    patients = patients_frame(session)
    summary = followup_summary(patients[patients[ID_COLUMN] == patient_id], sessions, rows,
                               plans)
    row = summary.loc[patient_id]
    plan = row["maintenance_schedule"]
    lines = [f"Relapse status: {row['status']}.",
             "Maintenance plan: " + (schedule_label(plan) if isinstance(plan, str)
                                     else "none recorded") + f" ({len(plans)} plan record(s))."]
    phq9 = visits["phq9"].dropna()
    lines.append(f"{len(visits)} follow-up visit(s) recorded"
                 + (f"; latest PHQ-9 {int(phq9.iloc[-1])}" if len(phq9) else "") + ".")
    for item in exposure_by_route(sessions, rows).itertuples(index=False):
        route = item.route if item.route == "all routes" else \
            feature("route").category_label(item.route)
        doses = [f"{float(v):{f}} {unit}" for v, unit, f in (
            (item.mg_per_kg, "mg/kg", ".2f"), (item.esketamine_mg, "mg esketamine", ".0f"))
            if not pd.isna(v)]  # each unit summed on its own, never converted
        lines.append(f"Exposure, {route} ({item.phase}): {int(item.sessions)} session(s)"
                     + (f", {' + '.join(doses)}" if doses else "") + ".")
    alerts = followup_alerts(rows) if len(rows) else pd.DataFrame()
    lines += [f"Day {a.day_after_series} · {a.kind} ({a.severity}): {a.message}"
              for a in alerts.itertuples(index=False)]
    return lines
