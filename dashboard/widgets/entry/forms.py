"""Form widgets built from ``models.contract.schema``: labels, units, allowed ranges and help text.

Every input starts empty unless it shows a value recorded for this patient or session (an
edit or a correction): no schema default, typical value or previous session's measurement
is ever put in a field, so what is saved is what someone entered (issue 12).

Number inputs carry no min/max of their own: the validation layer is the single judge of
what is allowed, and its message appears under the field (a placeholder per field), so the
form and a CSV import give the same answer for the same value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from dashboard.services.entry.form_errors import GENERAL, FormErrors
from dashboard.widgets.components import field_errors
from models.contract.schema import FEATURES, Feature, SessionField, feature
from models.contract.validation import field_allowed_text

GROUP_TITLES = {
    "demographics": "Demographics", "diagnosis": "Diagnosis and indications",
    "scales": "Baseline scales", "history": "History", "vitals": "Screening vitals",
    "comorbidity": "Comorbidities and exclusions", "medication": "Medication",
    "social": "Social", "treatment": "Treatment plan",
}
Placeholders = dict[str, Any]


def _label(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _number(label: str, value: Any, dtype: str, key: str, help_text: str) -> Any:
    """A number input that starts empty unless ``value`` is a recorded value."""
    current = None if _missing(value) else (
        int(round(float(value))) if dtype == "int" else float(value))
    if dtype == "int":
        return st.number_input(label, value=current, step=1, key=key, help=help_text,
                               placeholder="enter")
    return st.number_input(label, value=current, step=0.05, format="%.2f", key=key,
                           help=help_text, placeholder="enter")


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _typed_input(label: str, dtype: str, categories: tuple[str, ...], value: Any, key: str,
                 help_text: str, format_func: Callable[[str], str]) -> Any:
    """The widget for one schema type: yes/no, a choice or a number, empty (None) unless
    ``value`` is a recorded value; nothing is pre-selected for the clinician."""
    if dtype == "bool":
        index = None if _missing(value) else (0 if bool(value) else 1)
        return st.radio(label, [True, False], index=index, key=key, help=help_text,
                        horizontal=True, format_func=_yes_no)
    if dtype == "category":
        options = list(categories)
        index = options.index(value) if value in options else None
        return st.selectbox(label, options, index=index, key=key, help=help_text,
                            format_func=format_func, placeholder="choose")
    return _number(label, value, dtype, key, help_text)


def feature_input(spec: Feature, value: Any, key: str) -> Any:
    """One patient input, typed by the schema, with its unit and allowed values as help."""
    help_text = f"{spec.help} Allowed: {spec.allowed_text()}."
    return _typed_input(_label(spec.label, spec.unit), spec.dtype, spec.categories, value, key,
                        help_text, spec.category_label)


def _category_label(name: str) -> Callable[[str], str]:
    """Clinical wording of a session category, borrowed from the same-named patient feature."""
    try:
        return feature(name).category_label
    except KeyError:
        return str


def session_input(spec: SessionField, value: Any, key: str) -> Any:
    """One session field, typed by the schema."""
    help_text = f"{spec.help} Allowed: {field_allowed_text(spec)}.".strip()
    return _typed_input(_label(spec.label, spec.unit), spec.dtype, spec.categories, value, key,
                        help_text, _category_label(spec.name))


def patient_fields(values: Mapping[str, Any], prefix: str,
                   columns: int = 3) -> tuple[dict[str, Any], Placeholders]:
    """Every schema feature grouped as in the schema; returns values and error slots."""
    out: dict[str, Any] = {}
    slots: Placeholders = {}
    groups: dict[str, list[Feature]] = {}
    for spec in FEATURES:
        groups.setdefault(spec.group, []).append(spec)
    for group, in_group in groups.items():
        specs = sorted(in_group, key=lambda f: f.dtype == "bool")  # yes/no boxes last
        st.markdown(f"**{GROUP_TITLES.get(group, group)}**")
        cols = st.columns(columns)
        for i, spec in enumerate(specs):
            with cols[i % columns]:
                out[spec.name] = feature_input(spec, values.get(spec.name),
                                               f"{prefix}_{spec.name}")
                slots[spec.name] = st.empty()
    return out, slots


def session_fields(specs: list[SessionField], values: Mapping[str, Any], prefix: str,
                   columns: int = 4) -> tuple[dict[str, Any], Placeholders]:
    """The given session fields in a grid; returns values and error slots."""
    out: dict[str, Any] = {}
    slots: Placeholders = {}
    cols = st.columns(columns)
    for i, spec in enumerate(specs):
        with cols[i % columns]:
            out[spec.name] = session_input(spec, values.get(spec.name), f"{prefix}_{spec.name}")
            slots[spec.name] = st.empty()
    return out, slots


def show_errors(error: FormErrors, slots: Placeholders, general: Any | None = None) -> None:
    """Put each message under its field; the rest (and unknown fields) in ``general``."""
    leftovers: list[str] = []
    for name, messages in error.by_field.items():
        if name in slots and name != GENERAL:
            with slots[name].container():
                field_errors(messages)
        else:
            prefix = "" if name == GENERAL else f"{name}: "
            leftovers += [prefix + m for m in messages]
    if leftovers:
        target = general.container() if general is not None else st.container()
        with target:
            st.error("Nothing was saved. " + " ".join(leftovers), icon=":material/error:")
    elif error.by_field:
        box = general.container() if general is not None else st.container()
        with box:
            st.error("Nothing was saved: correct the fields marked below.",
                     icon=":material/error:")
