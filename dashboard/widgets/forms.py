"""Form widgets built from ``models.schema``: labels, units, allowed ranges and help text.

Number inputs carry no min/max of their own: the validation layer is the single judge of
what is allowed, and its message appears under the field (a placeholder per field), so the
form and a CSV import give the same answer for the same value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from dashboard.services.form_errors import GENERAL, FormErrors
from dashboard.widgets.components import field_errors
from models.schema import FEATURES, Feature, SessionField, feature
from models.validation import field_allowed_text

GROUP_TITLES = {
    "demographics": "Demographics", "diagnosis": "Diagnosis and indications",
    "scales": "Baseline scales", "history": "History", "vitals": "Screening vitals",
    "comorbidity": "Comorbidities and exclusions", "medication": "Medication",
    "social": "Social", "treatment": "Treatment plan",
}
Placeholders = dict[str, Any]


def _label(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label


def _number(label: str, value: Any, dtype: str, key: str, help_text: str,
            nullable: bool = False) -> Any:
    if value is None and nullable:
        current = None
    elif dtype == "int":
        current = int(round(float(value)))
    else:
        current = float(value)
    if dtype == "int":
        return st.number_input(label, value=current, step=1, key=key, help=help_text)
    return st.number_input(label, value=current, step=0.05, format="%.2f", key=key,
                           help=help_text)


def _typed_input(label: str, dtype: str, categories: tuple[str, ...], value: Any, key: str,
                 help_text: str, format_func: Callable[[str], str],
                 nullable: bool = False) -> Any:
    """The widget for one schema type: checkbox, selectbox or number input."""
    if dtype == "bool":
        return st.checkbox(label, value=bool(value), key=key, help=help_text)
    if dtype == "category":
        options = list(categories)
        index = options.index(value) if value in options else 0
        return st.selectbox(label, options, index=index, key=key, help=help_text,
                            format_func=format_func)
    return _number(label, value, dtype, key, help_text, nullable=nullable)


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
                        help_text, _category_label(spec.name), nullable=spec.nullable)


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
                out[spec.name] = feature_input(spec, values.get(spec.name, spec.default),
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
