"""Render the data dictionary (docs/data-dictionary.md) from ``models.contract.schema``.

The dictionary is generated, never hand-edited, so it cannot disagree with the schema the
code actually validates against; a test compares the committed file with this output.

Regenerate with ``python -m training.data_dictionary [path]``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import get_args

from models.clinical.session_record import ALLOWED_TIME, SESSION_TIME
from models.contract import schema
from models.contract.doses import dose_allowed_text
from models.contract.validation import field_allowed_text

log = logging.getLogger(__name__)

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "docs" / "data-dictionary.md"


def _cell(text: object) -> str:
    """Table-safe text: pipes escaped, newlines flattened."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _allowed(spec: schema.Feature) -> str:
    """Allowed values; category codes are followed by their clinical wording."""
    if spec.dtype != "category":
        return spec.allowed_text()
    codes = [f"`{c}`" + (f" ({label})" if label != c else "")
             for c, label in zip(spec.categories, map(spec.category_label, spec.categories),
                                 strict=True)]
    return "one of " + ", ".join(codes)


def render_data_dictionary() -> str:
    """The whole dictionary as Markdown: features by group, outcomes, session fields."""
    out = [
        "# Data dictionary",
        "",
        "Generated from `models/contract/schema.py` by `training/data_dictionary.py` — do not "
        "edit by "
        "hand; run `python -m training.data_dictionary` after changing the schema.",
        "All data in this project is synthetic.",
        "",
        f"Schema fingerprint: `{schema.schema_hash()[:16]}`",
        "",
        "## Identifiers",
        "",
        f"- `{schema.ID_COLUMN}`: required, unique, non-empty patient identifier.",
        f"- `{schema.NAME_COLUMN}`: optional display name (synthetic).",
        "",
        "## Patient features",
        "",
        "*Model input* = used by the ML models; the others feed the eligibility screen only. "
        "*Modifiable* = a clinician can change it when planning treatment (what-if).",
    ]
    header = ["name", "label", "type", "unit", "allowed values", "modifiable", "model input",
              "help"]
    for group in get_args(schema.Group):
        features = [f for f in schema.FEATURES if f.group == group]
        if not features:
            continue
        out += ["", f"### {group.capitalize()}", ""]
        out += _table(header, [
            [f"`{f.name}`", f.label, f.dtype, f.unit or "—", _allowed(f), _yes(f.modifiable),
             _yes(f.model_input), f.help] for f in features])
    out += ["", "### Dose units and route-specific limits", "",
            "Each row has exactly one dose, in its route's unit; the other dose column is "
            "empty. Ketamine routes: `dose_mg_per_kg` within the route's limits (typical "
            "practice; *unsourced* as exact bounds). Intranasal esketamine: "
            "`esketamine_dose_mg`, one of "
            + ", ".join(f"{d}" for d in schema.ESKETAMINE_DOSES_MG) + " mg per session, never "
            "per kg (clinical-reference.md §6: 56 or 84 mg in the label; 28 mg = one device). "
            "The store holds no body weight, so one unit is never converted into the other. "
            "The models read both through one derived input, never stored or shown: "
            f"`{schema.MODEL_DOSE}`, ketamine mg/kg as recorded and esketamine mg ÷ "
            f"{schema.ESKETAMINE_TYPICAL_MG} (56 mg = 1.0, 84 mg = 1.5). Explanations give "
            "its effect to the dose as recorded (\"Dose 84 mg\", \"Dose 0.50 mg/kg\").",
            ""]
    route = schema.feature("route")
    out += _table(["route", "meaning", "dose column", "allowed"], [
        [f"`{code}`", route.category_label(code), f"`{schema.DOSE_FEATURE_BY_ROUTE[code]}`",
         dose_allowed_text(code)] for code in schema.ROUTES])
    out += ["", "## Outcomes", "",
            "One 0/1 column per outcome in `patients.csv` (derived from the session records).",
            ""]
    out += _table(["name", "label", "kind", "definition"], [
        [f"`{o.name}`", o.label, o.kind, o.definition] for o in schema.OUTCOMES])
    out += ["", "## Session fields (`sessions.csv`)", "",
            "One row per attended session; (`patient_id`, `session_number`) is unique.", ""]
    out += _table(["name", "label", "type", "unit", "allowed values", "may be empty", "help"], [
        [f"`{s.name}`", s.label, s.dtype, s.unit or "—", field_allowed_text(s),
         _yes(s.nullable), s.help or "—"] for s in schema.SESSION_FIELDS])
    out += ["", "### When the session took place (optional column `session_at`)", "",
            f"`{SESSION_TIME}`: {ALLOWED_TIME}; a value without an offset is read in the "
            "clinic's time zone (`KAPCDS_TIMEZONE`, default the server's zone). A row with an "
            "empty cell, or a file without the column, is stored with the date **not "
            "recorded** (shown so), never with an invented one such as the import time. A "
            "date without a time, a time before 2000 or in the future is refused. Sessions "
            "recorded on the form always carry the date and time the clinician entered."]
    out += _monitoring_section()
    return "\n".join(out) + "\n"


def _monitoring_section() -> list[str]:
    """The optional monitoring-record columns (``models.clinical.session_monitoring``, issue 13)."""
    from models.clinical import session_monitoring as sm

    out = ["", "### Monitoring record (optional columns)", "",
           "The REMS-style monitoring record of a session (clinical-reference §5). Store and "
           "record fields, not model inputs: the generator does not write them. A file may "
           "leave any of them out (old files) or leave cells empty: stored as **not "
           "recorded**. When present they are validated; `dose_at`/`ready_at` take the same "
           f"date-time forms as `{SESSION_TIME}` and must agree with `minutes_to_discharge` "
           f"(±{sm.CONSISTENCY_SLACK_MINUTES} min). The session form requires every field "
           "but `product` (the lot number for intranasal esketamine, the description when "
           "there was a serious adverse event).", ""]
    out += _table(["name", "label", "type", "unit", "allowed values", "help"], [
        [f"`{s.name}`", s.label, s.dtype, s.unit or "—", field_allowed_text(s), s.help or "—"]
        for s in sm.MONITORING_FIELDS])
    out += ["", "Free text (printed as text, left out of de-identified views): " + ", ".join(
        f"`{name}` (≤ {longest} characters)" for name, (_, longest) in sm.TEXT_FIELDS.items())
        + f". Times: `{sm.DOSE_AT}` (time of dose), `{sm.READY_AT}` (judged ready to leave)."]
    return out


def write_data_dictionary(path: str | Path = DEFAULT_PATH) -> Path:
    """Write the rendered dictionary (UTF-8) and return where it went."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_data_dictionary(), encoding="utf-8", newline="\n")
    log.info("wrote data dictionary to %s", path)
    return path


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    write_data_dictionary(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PATH)
