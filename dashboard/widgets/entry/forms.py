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
from models.contract.doses import dose_allowed_text
from models.contract.schema import (
    DOSE_FEATURES,
    ESKETAMINE_DOSES_MG,
    ESKETAMINE_ROUTE,
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


def route_picker(value: Any, prefix: str) -> tuple[Any, Placeholders]:
    """The route, drawn above (outside) a form, so the dose input in the form follows it:
    a rerun on each change, which a field inside a form would not get. Key ``{prefix}_route``.
    """
    route = feature_input(feature("route"), value, f"{prefix}_route")
    slots: Placeholders = {"route": st.empty()}
    st.caption("The dose below follows the route: ketamine in mg/kg, intranasal esketamine "
               "in mg (28, 56 or 84 mg per session), never per kg.")
    return route, slots


def dose_input(route: Any, values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The dose in the chosen route's unit (HAZ-240): for intranasal esketamine a choice of
    28/56/84 mg, for a ketamine route a number in mg/kg with the route's limits in the
    label; the other unit's field is empty (None). Without a route, no dose is asked."""
    none: dict[str, Any] = {name: None for name in DOSE_FEATURES}
    if route == ESKETAMINE_ROUTE:
        current = values.get("esketamine_dose_mg")
        options = list(ESKETAMINE_DOSES_MG)
        index = options.index(int(current)) if not _missing(current) and float(
            current) in ESKETAMINE_DOSES_MG else None
        chosen = st.selectbox(
            "Dose (mg per session)", options, index=index, key=f"{prefix}_esketamine_dose_mg",
            format_func=lambda mg: f"{mg} mg", placeholder="choose",
            help=f"{feature('esketamine_dose_mg').help} Allowed: {dose_allowed_text(route)}.")
        return {**none, "esketamine_dose_mg": None if chosen is None else float(chosen)}
    if route not in ROUTE_DOSE_LIMITS:
        st.caption("Dose: choose the route first (its unit follows the route).")
        return none
    lo, hi = ROUTE_DOSE_LIMITS[str(route)]
    spec = feature("dose_mg_per_kg")
    value = _number(f"Dose (mg/kg, {lo:g}–{hi:g} for this route)", values.get(spec.name),
                    "float", f"{prefix}_{spec.name}",
                    f"{spec.help} Allowed: {dose_allowed_text(route)}.")
    return {**none, "dose_mg_per_kg": value}


def _dose_here(out: dict[str, Any], slots: Placeholders, route: Any,
               values: Mapping[str, Any], prefix: str) -> None:
    out.update(dose_input(route, values, prefix))
    slot = st.empty()
    slots.update({name: slot for name in DOSE_FEATURES})


def patient_fields(values: Mapping[str, Any], prefix: str, columns: int = 3,
                   route: Any = None) -> tuple[dict[str, Any], Placeholders]:
    """Every schema feature grouped as in the schema; returns values and error slots.

    The route comes from ``route_picker`` above the form (given here as ``route``); the
    dose is one input in that route's unit (``dose_input``)."""
    out: dict[str, Any] = {"route": route}
    slots: Placeholders = {}
    groups: dict[str, list[Feature]] = {}
    for spec in FEATURES:
        if spec.name not in ("route", "esketamine_dose_mg"):
            groups.setdefault(spec.group, []).append(spec)
    for group, in_group in groups.items():
        specs = sorted(in_group, key=lambda f: f.dtype == "bool")  # yes/no boxes last
        st.markdown(f"**{GROUP_TITLES.get(group, group)}**")
        cols = st.columns(columns)
        for i, spec in enumerate(specs):
            with cols[i % columns]:
                if spec.name == "dose_mg_per_kg":
                    _dose_here(out, slots, route, values, prefix)
                    continue
                out[spec.name] = feature_input(spec, values.get(spec.name),
                                               f"{prefix}_{spec.name}")
                slots[spec.name] = st.empty()
    return out, slots


def session_fields(specs: list[SessionField], values: Mapping[str, Any], prefix: str,
                   columns: int = 4, route: Any = None) -> tuple[dict[str, Any], Placeholders]:
    """The given session fields in a grid; returns values and error slots. With a route
    field among ``specs`` the route comes from ``route_picker`` (given as ``route``) and
    the dose is one input in its unit (``dose_input``)."""
    out: dict[str, Any] = {}
    slots: Placeholders = {}
    shown = [s for s in specs if s.name not in ("route", "esketamine_dose_mg")]
    if len(shown) != len(specs):
        out["route"] = route
    cols = st.columns(columns)
    for i, spec in enumerate(shown):
        with cols[i % columns]:
            if spec.name == "dose_mg_per_kg" and "route" in out:
                _dose_here(out, slots, route, values, prefix)
                continue
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
