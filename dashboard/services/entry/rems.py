"""The session form's monitoring record (``models.clinical.session_monitoring``), without Streamlit.

The form enters the time of dose and the time the patient was judged ready to leave as
wall-clock times on the session's date (clinic zone); they become aware UTC moments here.
A time without a date stays None, so the store names the empty field instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any

from base.clock import from_clinic
from models.clinical.session_monitoring import (
    DOSE_AT,
    READY_AT,
    minutes_between,
    monitoring_warnings,
)

TIME_INPUTS = {DOSE_AT: "dose_time", READY_AT: "ready_time"}


def monitoring_data(values: Mapping[str, Any], day: date | None) -> dict[str, Any]:
    """The form's monitoring inputs as store values: the two times as aware UTC moments."""
    out = {k: v for k, v in values.items() if k not in TIME_INPUTS.values()}
    for column, key in TIME_INPUTS.items():
        at: time | None = values.get(key)
        out[column] = None if day is None or at is None else from_clinic(day, at)
    for name in ("product", "lot_number", "sae_description"):
        if isinstance(out.get(name), str):
            out[name] = out[name].strip() or None
    return out


def warnings_for(data: Mapping[str, Any]) -> list[str]:
    """What the clinician is told after saving (short monitoring, discharge BP, …)."""
    return monitoring_warnings(data)


def audit_detail(data: Mapping[str, Any]) -> str:
    """The audit entry's summary of the monitoring record (no free text: it stays in the
    record, where the role rules apply)."""
    minutes = minutes_between(data.get(DOSE_AT), data.get(READY_AT))
    if minutes is None:
        return "monitoring not recorded"
    flags = [name for name in ("serious_adverse_event", "respiratory_depression")
             if data.get(name) is True]
    warned = len(monitoring_warnings(data))
    return (f"monitoring {minutes:g} min dose→ready" + (f", {', '.join(flags)}" if flags else "")
            + (f", {warned} warning(s)" if warned else ""))
