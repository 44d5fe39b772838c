"""Treatment progress for one patient: sessions, the expected PHQ-9 band, status and alerts.

No Streamlit here; the Treatment progress page renders what ``patient_progress`` returns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd

from base.clock import clinic_text, zone_label
from base.settings import clinic_timezone
from dashboard.services.patients.gaps import GAPS, PREDICTION_GAPS, needs_message
from dashboard.services.patients.listing import patient_row
from dashboard.services.workspace import Workspace
from models.clinical.session_alerts import Alert, response_status, session_alerts
from models.clinical.session_record import is_past_plan
from models.contract.doses import dose_feature_for, dose_text, is_missing
from models.contract.schema import DOSE_FEATURES, FEATURES, NAME_COLUMN, SESSION_FIELDS, feature
from records.db import session_factory
from records.repository import sessions_frame

log = logging.getLogger(__name__)

@dataclass
class Progress:
    """What the Treatment progress page shows for one patient."""

    patient_id: str
    name: str
    baseline_phq9: float
    planned_sessions: int
    plan: str
    sessions: pd.DataFrame
    band: pd.DataFrame  # session_number, q10, q50, q90
    alerts: list[Alert]
    status: str
    next_session: NextSession | None = None

    @property
    def past_plan(self) -> int:
        """How many recorded sessions lie beyond the planned number (0 if it is unknown)."""
        if self.sessions.empty or self.planned is None:
            return 0
        return int((self.sessions["session_number"] > self.planned).sum())

    @property
    def planned(self) -> int | None:
        """The planned number of sessions, or None when it is a gap (not recorded)."""
        return None if self.next_session is None else self.next_session.planned


def _plan_text(row: pd.Series) -> str:
    """The treatment plan in words; a plan field stored as a gap is named as not recorded."""
    missing = set(row.get(GAPS, []) or [])

    def shown(name: str, text: str) -> str:
        return f"{feature(name).label.lower()} not recorded" if name in missing else text

    dose_name = dose_feature_for(row["route"])
    parts = [shown("route", feature("route").format_value(row["route"])),
             shown(dose_name, "dose " + dose_text(row["route"], row.get("dose_mg_per_kg"),
                                                   row.get("esketamine_dose_mg")))]
    parts.append(shown("sessions_per_week", f"{int(row['sessions_per_week'])}×/week"))
    parts.append(shown("planned_sessions", f"{int(row['planned_sessions'])} sessions planned"))
    parts.append(shown("psychotherapy", "psychotherapy: "
                       f"{feature('psychotherapy').format_value(row['psychotherapy'])}"))
    return ", ".join(parts)


@dataclass(frozen=True)
class CarryOption:
    """Values a clinician may copy into the form with one explicit click (never by default)."""

    label: str  # the button's text
    source: str  # stored in carried_forward, e.g. "session 5" or "plan"
    values: dict[str, Any]  # route and its dose (dose_mg_per_kg or esketamine_dose_mg)
    summary: str  # what was copied, for the note under the buttons


@dataclass(frozen=True)
class NextSession:
    """What the "Record a session" form knows before the clinician enters anything.

    No measurement: the number follows on (the clinician may change it), ``day`` is
    derived from the dates when the first session has one (else entered), and copying the
    dose and route is an option, not a default.
    """

    number: int
    planned: int | None  # None: the planned number of sessions is not recorded (a gap)
    day_from_dates: bool
    carry: tuple[CarryOption, ...] = ()

    @property
    def past_plan(self) -> bool:
        return self.planned is not None and is_past_plan(self.number, self.planned)


def _carry(label: str, source: str, row: pd.Series) -> CarryOption:
    """Route and the dose in its unit (the form's one Dose field takes either)."""
    route, name = str(row["route"]), dose_feature_for(row["route"])
    value = float(row[name])
    values = {"route": route, name: value}
    text = (f"dose {dose_text(route, row.get('dose_mg_per_kg'), row.get('esketamine_dose_mg'))}"
            f", route {feature('route').format_value(route)}")
    return CarryOption(label, source, values, text)


def _carryable(row: pd.Series) -> bool:
    """Whether a row has a route and its dose to copy (never a placeholder or an empty one)."""
    name = dose_feature_for(row.get("route"))
    return not is_missing(row.get("route")) and not is_missing(row.get(name))


def next_session(row: pd.Series, sessions: pd.DataFrame) -> NextSession:
    """The next session's number, whether ``day`` can come from the dates, and what may be
    copied: the last session's dose and route, and the plan's."""
    options = []
    if not sessions.empty:
        last = sessions.sort_values("session_number").iloc[-1]
        source = f"session {int(last['session_number'])}"
        if _carryable(last):
            options.append(_carry("Use last session's dose and route", source, last))
    gaps = set(row.get(GAPS, []) or [])
    if not gaps & {*DOSE_FEATURES, "route"} and _carryable(row):  # never copy a placeholder
        options.append(_carry("Use the planned dose and route", "plan", row))
    first_dated = sessions.empty or bool(
        pd.notna(sessions.sort_values("session_number")["session_at"].iloc[0]))
    number = int(sessions["session_number"].max()) + 1 if not sessions.empty else 1
    planned = None if "planned_sessions" in gaps else int(row["planned_sessions"])
    return NextSession(number=number, planned=planned, day_from_dates=first_dated,
                       carry=tuple(options))


def patient_sessions(ws: Workspace, patient_id: str) -> pd.DataFrame:
    """One patient's sessions in session order (schema columns plus notes)."""
    with session_factory(ws.engine)() as session:
        return sessions_frame(session, patient_id)


def patient_progress(ws: Workspace, cohort: pd.DataFrame, patient_id: str) -> Progress:
    """Sessions, the trajectory model's expected PHQ-9 band, response status and §5 alerts."""
    row = patient_row(cohort, patient_id)
    sessions = patient_sessions(ws, patient_id)
    last = int(sessions["session_number"].max()) if not sessions.empty else 0
    n_band = max(int(row["planned_sessions"]), last)
    inputs = cohort.loc[[patient_id], [f.name for f in FEATURES]]
    band = ws.model_set.trajectory.predict_band(inputs, n_band)
    baseline = float(row["phq9_baseline"])
    series = sessions[sessions["phase"] == "induction"] if "phase" in sessions else sessions
    status = response_status(baseline, series)  # the series; maintenance comes after it
    needs = list(row.get(PREDICTION_GAPS, []) or [])
    if needs:  # issue 7: no expected course from placeholders
        band = band.iloc[0:0]
        status = f"{status} · expected course hidden: {needs_message(needs)}"
    return Progress(
        patient_id=patient_id, name=str(row[NAME_COLUMN]), baseline_phq9=baseline,
        planned_sessions=int(row["planned_sessions"]), plan=_plan_text(row), sessions=sessions,
        band=band, alerts=session_alerts(patient_id, baseline, sessions),
        status=status,
        next_session=next_session(row, sessions))


def _carried_text(value: Any) -> str:
    if not isinstance(value, dict):
        return "not recorded"
    if not value:
        return "none"
    by_source: dict[str, list[str]] = {}
    for name, source in value.items():
        by_source.setdefault(str(source), []).append(feature(name).label.lower())
    return "; ".join(f"{', '.join(names)} from {src}" for src, names in by_source.items())


def _past_plan_text(flag: Any, number: int, planned: int | None) -> str:
    known = flag is not None and not (isinstance(flag, float) and flag != flag)
    if known and bool(flag):
        return f"{number} of {planned}, confirmed"
    if not known and planned is not None and is_past_plan(number, planned):
        return f"{number} of {planned}, not asked"
    return ""


def sessions_table(sessions: pd.DataFrame, planned: int | None) -> pd.DataFrame:
    """Sessions for display: the number, when it took place (clinic time; "date not
    recorded" when unknown), clinical column labels with units, what was copied from an
    earlier record and whether it was recorded past the plan."""
    labels = {}
    for spec in SESSION_FIELDS:
        if spec.name in sessions.columns and spec.name not in ("patient_id", "esketamine_dose_mg"):
            labels[spec.name] = f"{spec.label} ({spec.unit})" if spec.unit else spec.label
    if "dose_mg_per_kg" in labels:
        labels["dose_mg_per_kg"] = DOSE_COLUMN  # one column, each row in its route's unit
    table = sessions[list(labels)].copy()
    if "dose_mg_per_kg" in table:
        table["dose_mg_per_kg"] = [dose_text(r, a, b) for r, a, b in zip(
            sessions["route"], sessions["dose_mg_per_kg"],
            sessions.get("esketamine_dose_mg", pd.Series([None] * len(sessions))),
            strict=True)]
    if "route" in table:
        table["route"] = table["route"].map(feature("route").category_label)
    table = table.rename(columns=labels).reset_index(drop=True)
    zone = clinic_timezone()
    times = sessions.get("session_at", pd.Series([None] * len(sessions)))
    table.insert(1, when_column(zone), [clinic_text(t, zone) for t in times])
    numbers = sessions["session_number"].astype(int).tolist()
    carried = sessions.get("carried_forward", pd.Series([None] * len(sessions))).tolist()
    flags = sessions.get("past_plan_confirmed", pd.Series([None] * len(sessions))).tolist()
    phases = sessions.get("phase", pd.Series(["induction"] * len(sessions))).tolist()
    table.insert(2, PAST_PLAN_COLUMN, [
        "maintenance (after the series)" if p == "maintenance" else _past_plan_text(f, n, planned)
        for f, n, p in zip(flags, numbers, phases, strict=True)])
    table = table.rename(columns={labels["day"]: "Day"}) if "day" in labels else table
    if "phq9" in labels:  # the key measurement right after when and the plan
        table.insert(3, labels["phq9"], table.pop(labels["phq9"]))
    after = list(table.columns).index(labels["dose_mg_per_kg"]) + 1 \
        if "dose_mg_per_kg" in labels else len(table.columns)
    table.insert(after, CARRIED_COLUMN, [_carried_text(c) for c in carried])
    return table


CARRIED_COLUMN = "Carried forward"
DOSE_COLUMN = "Dose"  # "0.50 mg/kg" (ketamine) or "56 mg" (intranasal esketamine)
PAST_PLAN_COLUMN = "Past the plan"


def when_column(zone: Any = None) -> str:
    """The header of the session-time column, naming the clinic's zone."""
    return f"Date and time ({zone_label(zone)})"
