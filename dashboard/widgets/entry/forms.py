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
from models.contract.doses import dose_allowed_text, dose_feature_for, dose_fields
from models.contract.schema import (
    DOSE_FEATURES,
    FEATURES,
    ROUTE_DOSE_LIMITS,
    Feature,
    SessionField,
    feature,
)
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


DOSE_KEY = "dose"  # the one dose field of a form: f"{prefix}_dose"
DOSE_LABEL = "Dose — mg/kg for ketamine routes; mg for intranasal esketamine (28, 56 or 84)"
DOSE_HELP = ("Ketamine (IV, IM, oral/sublingual) per kg within the route's limits: "
             + "; ".join(f"{feature('route').category_label(r)} {dose_allowed_text(r)}"
                         for r in ROUTE_DOSE_LIMITS)
             + ". Intranasal esketamine in mg per session: 28, 56 or 84 mg, never per kg. "
             "The unit follows the route chosen in this form when you save; a number in the "
             "other unit is refused, never converted.")


def dose_field(values: Mapping[str, Any], prefix: str) -> Any:
    """One Dose number (HAZ-240), inside the form with the route: choosing the route reruns
    nothing, so nothing typed is lost. Its unit follows the route at saving
    (``entered_doses``); it starts with the recorded dose in the recorded route's unit (an
    edit or a correction), else empty."""
    route = values.get("route")
    recorded = None if _missing(route) else values.get(dose_feature_for(route))
    return _number(DOSE_LABEL, recorded, "float", f"{prefix}_{DOSE_KEY}", DOSE_HELP)


def entered_doses(out: dict[str, Any], dose: Any, slots: Placeholders, slot: Any) -> None:
    """The one dose into the column of the route chosen (the other one empty), both
    columns' messages in the dose field's slot."""
    out.update(dose_fields(out.get("route"), dose))
    slots.update({name: slot for name in DOSE_FEATURES})


def patient_fields(values: Mapping[str, Any], prefix: str,
                   columns: int = 3) -> tuple[dict[str, Any], Placeholders]:
    """Every schema feature grouped as in the schema; returns values and error slots. The
    two dose columns are one Dose field (``dose_field``) whose unit follows the route."""
    out: dict[str, Any] = {}
    slots: Placeholders = {}
    groups: dict[str, list[Feature]] = {}
    for spec in FEATURES:
        if spec.name != "esketamine_dose_mg":
            groups.setdefault(spec.group, []).append(spec)
    dose, dose_slot = None, None
    for group, in_group in groups.items():
        specs = sorted(in_group, key=lambda f: f.dtype == "bool")  # yes/no boxes last
        st.markdown(f"**{GROUP_TITLES.get(group, group)}**")
        cols = st.columns(columns)
        for i, spec in enumerate(specs):
            with cols[i % columns]:
                if spec.name == "dose_mg_per_kg":
                    dose, dose_slot = dose_field(values, prefix), st.empty()
                    continue
                out[spec.name] = feature_input(spec, values.get(spec.name),
                                               f"{prefix}_{spec.name}")
                slots[spec.name] = st.empty()
    entered_doses(out, dose, slots, dose_slot)
    return out, slots


def session_fields(specs: list[SessionField], values: Mapping[str, Any], prefix: str,
                   columns: int = 4) -> tuple[dict[str, Any], Placeholders]:
    """The given session fields in a grid; returns values and error slots. With the dose
    among ``specs`` the two dose columns are one Dose field whose unit follows the route."""
    out: dict[str, Any] = {}
    slots: Placeholders = {}
    shown = [s for s in specs if s.name != "esketamine_dose_mg"]
    dose, dose_slot = None, None
    cols = st.columns(columns)
    for i, spec in enumerate(shown):
        with cols[i % columns]:
            if spec.name == "dose_mg_per_kg":
                dose, dose_slot = dose_field(values, prefix), st.empty()
                continue
            out[spec.name] = session_input(spec, values.get(spec.name), f"{prefix}_{spec.name}")
            slots[spec.name] = st.empty()
    if dose_slot is not None:
        entered_doses(out, dose, slots, dose_slot)
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
