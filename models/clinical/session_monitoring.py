"""Session monitoring as a REMS-style record (clinical-reference §5; issue 13 point 4).

The Spravato REMS patient monitoring form is the model: blood pressure before dosing, ~40
min after and before discharge; pulse oximetry; sedation and dissociation at set times;
respiratory depression; serious adverse events; concomitant medications in the REMS classes;
product and lot; when the dose was given and when the patient was judged ready to leave.

These fields are record fields of the store, not model inputs: they stay out of
``models.contract.schema.SESSION_FIELDS`` (which the generator writes and training reads), so the
synthetic cohort and every trained model are unchanged. Sessions recorded before revision
0009 (and CSV files without the columns) hold NULL = "not recorded", never a guessed value.

Representation of the set-time checks (before dosing and ~40 min: the existing ``sbp_pre``
… ``sbp_post``, ``cadss``, ``sedation`` columns):

- Sedation: the MOAA/S (Modified Observer's Assessment of Alertness/Sedation, 0 = no response
  to a painful stimulus … 5 = responds readily to the name spoken in a normal tone), the
  scale the esketamine trials used (Spravato prescribing information, "Sedation"). It is
  not in ``clinical-reference.md``: *unsourced* here, kept as a setting of this module.
  Checked at ~40 min and before discharge.
- Dissociation: CADSS at ~40 min (the existing ``cadss``) and "dissociative symptoms still
  present" (yes/no) before discharge.

A dosing session recorded on a form must carry every ``REQUIRED`` field (the REMS form's
hard stop); a CSV import may leave the columns out (old files) but is validated when they
are present. ``minutes_to_discharge`` is kept consistent with the two times: derived from
them when it is empty, refused when it disagrees with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from models.contract.input_errors import RowError
from models.contract.schema import (
    POST_DOSE_DBP_ALERT,
    POST_DOSE_SBP_ALERT,
    SESSION_FIELDS,
    SessionField,
)

DOSE_AT = "dose_at"
READY_AT = "ready_at"
TIMES = (DOSE_AT, READY_AT)
MIN_MONITORING_MINUTES = 120  # REMS: observe ≥ 2 h after the dose (clinical-reference §5)
MOAAS_ALERT = 5  # any MOAA/S below 5 (not fully alert) at discharge is sedation
LOT_ROUTES = ("intranasal_esketamine",)  # the route whose device lot the REMS form asks for
CONCOMITANT_CLASSES = ("benzodiazepine", "hypnotic", "psychostimulant", "maoi")
CONSISTENCY_SLACK_MINUTES = 1

MONITORING_FIELDS: tuple[SessionField, ...] = (
    SessionField("sbp_discharge", "int", "Systolic BP before discharge", "mmHg", 60, 260,
                 nullable=True),
    SessionField("dbp_discharge", "int", "Diastolic BP before discharge", "mmHg", 30, 160,
                 nullable=True),
    SessionField("spo2_lowest", "int", "Lowest SpO2 (pulse oximetry)", "%", 50, 100,
                 nullable=True, help="The lowest reading during monitoring."),
    SessionField("moaas_post", "int", "Sedation (MOAA/S) at ~40 min", "points", 0, 5,
                 nullable=True, help="5 = responds readily to name, 0 = no response to pain."),
    SessionField("moaas_discharge", "int", "Sedation (MOAA/S) before discharge", "points", 0,
                 5, nullable=True, help="5 = responds readily to name, 0 = no response to pain."),
    SessionField("dissociation_discharge", "bool", "Dissociation still present at discharge",
                 nullable=True),
    SessionField("respiratory_depression", "bool", "Respiratory depression", nullable=True),
    SessionField("serious_adverse_event", "bool", "Serious adverse event", nullable=True),
    SessionField("cm_benzodiazepine", "bool", "Benzodiazepine at this session", nullable=True),
    SessionField("cm_hypnotic", "bool", "Non-benzodiazepine hypnotic at this session",
                 nullable=True),
    SessionField("cm_psychostimulant", "bool", "Psychostimulant at this session",
                 nullable=True),
    SessionField("cm_maoi", "bool", "MAOI at this session", nullable=True),
)
# Free text: (label, longest length); shown as text, dropped when de-identified.
TEXT_FIELDS: dict[str, tuple[str, int]] = {
    "product": ("Product", 100),
    "lot_number": ("Lot number", 32),
    "sae_description": ("Serious adverse event: description", 2000),
}
TIME_LABELS = {DOSE_AT: "Time of dose", READY_AT: "Ready to leave"}
MONITORING_COLUMNS = (*[f.name for f in MONITORING_FIELDS], *TEXT_FIELDS, *TIMES)
REQUIRED = (*[f.name for f in MONITORING_FIELDS], *TIMES)


def monitoring_field(name: str) -> SessionField:
    """A monitoring field's spec by name (KeyError names the unknown field)."""
    for spec in (*MONITORING_FIELDS, *SESSION_FIELDS):
        if spec.name == name:
            return spec
    raise KeyError(f"unknown monitoring field {name!r}")


def label(name: str) -> str:
    """The printed label of any monitoring column."""
    if name in TEXT_FIELDS:
        return TEXT_FIELDS[name][0]
    if name in TIME_LABELS:
        return TIME_LABELS[name]
    spec = monitoring_field(name)
    return f"{spec.label} ({spec.unit})" if spec.unit else spec.label


def is_blank(value: Any) -> bool:
    """Not recorded: None, NaN/NaT or empty text (one rule for forms, PDFs and exports)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def minutes_between(dose_at: Any, ready_at: Any) -> float | None:
    """Minutes from the dose to ready-to-leave (None when either time is not recorded)."""
    if is_blank(dose_at) or is_blank(ready_at):
        return None
    return (pd.Timestamp(ready_at) - pd.Timestamp(dose_at)).total_seconds() / 60.0


def required_problems(values: Mapping[str, Any], route: Any, row: int = 2) -> list[RowError]:
    """Every required monitoring field left empty on a dosing session's form, by name."""
    errors = [RowError(row, name, f"missing value; enter this session's {label(name)} "
                       "(required for the monitoring record)")
              for name in REQUIRED if is_blank(values.get(name))]
    if route in LOT_ROUTES and is_blank(values.get("lot_number")):
        errors.append(RowError(row, "lot_number", "missing value; enter the device lot number "
                               "(required for intranasal esketamine)"))
    if values.get("serious_adverse_event") is True and is_blank(values.get("sae_description")):
        errors.append(RowError(row, "sae_description", "missing value; describe the serious "
                               "adverse event"))
    return errors


def consistency_problems(values: Mapping[str, Any], row: int = 2) -> list[RowError]:
    """Times in order, within the record's range and agreeing with ``minutes_to_discharge``;
    text within its length."""
    errors: list[RowError] = []
    for name, (text, longest) in TEXT_FIELDS.items():
        value = values.get(name)
        if not is_blank(value) and len(str(value).strip()) > longest:
            errors.append(RowError(row, name, f"{text} is longer than {longest} characters"))
    minutes = minutes_between(values.get(DOSE_AT), values.get(READY_AT))
    if minutes is None:
        return errors
    spec = monitoring_field("minutes_to_discharge")
    if minutes <= 0:
        errors.append(RowError(row, READY_AT, "ready to leave is not after the time of dose"))
        return errors
    if not spec.min <= minutes <= spec.max:
        errors.append(RowError(row, READY_AT, f"ready to leave {minutes:g} min after the dose; "
                               f"the record allows {spec.min:g} to {spec.max:g} min"))
    entered = values.get("minutes_to_discharge")
    if not is_blank(entered) and abs(float(entered) - minutes) > CONSISTENCY_SLACK_MINUTES:
        errors.append(RowError(row, "minutes_to_discharge", (
            f"{float(entered):g} min does not match time of dose → ready to leave "
            f"({minutes:g} min); correct one of them")))
    return errors


def derived_minutes(values: Mapping[str, Any]) -> int | None:
    """``minutes_to_discharge`` from the two times, when it was left empty and they exist."""
    if not is_blank(values.get("minutes_to_discharge")):
        return None
    minutes = minutes_between(values.get(DOSE_AT), values.get(READY_AT))
    spec = monitoring_field("minutes_to_discharge")
    if minutes is None or not spec.min <= minutes <= spec.max:
        return None  # ``consistency_problems`` says why
    return int(round(minutes))


def monitoring_warnings(values: Mapping[str, Any]) -> list[str]:
    """What a clinician must be told about a saved record: short monitoring, discharge BP
    at or above the alert threshold, sedation or dissociation still present at discharge."""
    out: list[str] = []
    minutes = minutes_between(values.get(DOSE_AT), values.get(READY_AT))
    if minutes is not None and 0 < minutes < MIN_MONITORING_MINUTES:
        out.append(f"Monitoring was {minutes:g} min (dose → ready to leave), shorter than the "
                   f"{MIN_MONITORING_MINUTES // 60} h the REMS record requires.")
    sbp, dbp = values.get("sbp_discharge"), values.get("dbp_discharge")
    high = ((not is_blank(sbp) and float(sbp) >= POST_DOSE_SBP_ALERT)
            or (not is_blank(dbp) and float(dbp) >= POST_DOSE_DBP_ALERT))
    if high:
        out.append(f"Discharge BP {_num(sbp)}/{_num(dbp)} mmHg is at or above the alert "
                   f"threshold {POST_DOSE_SBP_ALERT}/{POST_DOSE_DBP_ALERT}.")
    moaas = values.get("moaas_discharge")
    if not is_blank(moaas) and float(moaas) < MOAAS_ALERT:
        out.append(f"Sedation at discharge: MOAA/S {float(moaas):g} (fully alert = "
                   f"{MOAAS_ALERT}).")
    if values.get("dissociation_discharge") is True:
        out.append("Dissociative symptoms were still present at discharge.")
    return out


def _num(value: Any) -> str:
    return "not recorded" if is_blank(value) else f"{float(value):g}"


def as_utc(value: Any) -> datetime | None:
    """A stored or typed time as an aware datetime (None when not recorded)."""
    if is_blank(value):
        return None
    moment = pd.Timestamp(value)
    if moment.tzinfo is None:
        raise ValueError("naive time: say which zone it is in")
    return moment.to_pydatetime()
