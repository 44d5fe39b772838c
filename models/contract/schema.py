"""The feature schema: the single source of truth for every input and outcome.

The generator, validation, training, dashboard forms and explanations all read these
definitions, so a unit, a range or a label is changed here and nowhere else.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Literal

from models.contract.identifiers import (  # noqa: F401 - the patient id rule, public here
    PATIENT_ID_MAX_LENGTH,
    PATIENT_ID_RULE,
    is_valid_patient_id,
    patient_id_problem,
)

DType = Literal["int", "float", "bool", "category"]
Group = Literal[
    "demographics", "diagnosis", "scales", "history", "vitals", "comorbidity",
    "medication", "social", "treatment",
]

ID_COLUMN = "patient_id"
NAME_COLUMN = "name"


@dataclass(frozen=True)
class Feature:
    """One patient input: its type, unit, allowed values and how clinicians read it."""

    name: str
    dtype: DType
    label: str
    help: str
    group: Group
    default: float | int | bool | str | None
    unit: str = ""
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] = ()
    category_labels: tuple[str, ...] = ()
    modifiable: bool = False
    model_input: bool = True
    nullable: bool = False  # missing = not applicable (e.g. the dose of the other route's unit)

    def category_label(self, value: str) -> str:
        """Clinical wording of a category code (falls back to the code)."""
        if value in self.categories and self.category_labels:
            return self.category_labels[self.categories.index(value)]
        return str(value)

    def format_value(self, value: object) -> str:
        """Render a value in clinical units, e.g. ``34 kg/m²`` or ``yes``."""
        if value is None or (isinstance(value, float) and value != value):
            return "not applicable" if self.nullable else "missing"
        if self.dtype == "bool":
            return "yes" if bool(value) else "no"
        if self.dtype == "category":
            return self.category_label(str(value))
        number = float(value)
        if self.dtype == "int":
            text = f"{int(round(number))}"
        else:
            text = f"{number:.2f}".rstrip("0").rstrip(".")
        unit = self.unit
        if text == "1" and unit.isalpha() and unit.endswith("s"):
            unit = unit[:-1]  # "1 trial", "1 year", "1 point"
        return f"{text} {unit}".strip()

    def allowed_text(self) -> str:
        """What values are allowed, as a sentence fragment for error messages and docs."""
        if self.dtype == "bool":
            return "true/false (or 1/0, yes/no)"
        if self.dtype == "category":
            return "one of " + ", ".join(self.categories)
        kind = "an integer" if self.dtype == "int" else "a number"
        unit = f" {self.unit}" if self.unit else ""
        return f"{kind} from {self.min:g} to {self.max:g}{unit}"


@dataclass(frozen=True)
class Outcome:
    """One predicted outcome and how it is derived from the session records."""

    name: str
    label: str
    definition: str
    kind: Literal["benefit", "risk"]
    short: str = ""


@dataclass(frozen=True)
class SessionField:
    """One column of a treatment-session record."""

    name: str
    dtype: DType
    label: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] = ()
    nullable: bool = False
    help: str = ""


ROUTES = ("iv", "im", "intranasal_esketamine", "oral_sublingual")
ROUTE_LABELS = (
    "intravenous ketamine", "intramuscular ketamine", "intranasal esketamine",
    "oral/sublingual ketamine",
)
# Ketamine routes are dosed per kg; intranasal esketamine in fixed mg per session, never per
# kg (clinical-reference.md §6: "56 or 84 mg per session in the label"). The store holds no
# body weight, so one unit is never converted into the other: each route has its own feature.
ESKETAMINE_ROUTE = "intranasal_esketamine"
KETAMINE_ROUTES = tuple(r for r in ROUTES if r != ESKETAMINE_ROUTE)
DOSE_FEATURE_BY_ROUTE = {r: ("esketamine_dose_mg" if r == ESKETAMINE_ROUTE else "dose_mg_per_kg")
                         for r in ROUTES}
DOSE_FEATURES = ("dose_mg_per_kg", "esketamine_dose_mg")
# The models read one dose column, derived from the recorded one and never stored, entered
# or shown: ketamine mg/kg as recorded, intranasal esketamine mg / 56 (its dose relative to
# the label's 56 mg, so 56 and 84 mg are 1.0 and 1.5 to the model; models.contract.doses
# model_doses). Explanations give its share to the recorded dose, in the route's unit.
MODEL_DOSE = "model_dose"
# Route-specific ketamine dose limits in mg/kg. Typical clinic practice; *unsourced* as exact
# bounds, kept here as settings. Intranasal esketamine has no mg/kg limit: see below.
ROUTE_DOSE_LIMITS: dict[str, tuple[float, float]] = {
    "iv": (0.2, 1.0),
    "im": (0.3, 1.0),
    "oral_sublingual": (0.5, 3.0),
}
ROUTE_TYPICAL_DOSE = {"iv": 0.5, "im": 0.6, "oral_sublingual": 1.5}
# Intranasal esketamine per session: 56 or 84 mg in the label (clinical-reference.md §6); one
# device holds 28 mg, so 28 mg is accepted too (a cautious start; *unsourced* here).
ESKETAMINE_DOSES_MG = (28, 56, 84)
ESKETAMINE_TYPICAL_MG = 56


DIAGNOSES = ("trd", "chronic_anxiety", "ptsd", "suicidality", "chronic_pain")
DIAGNOSIS_LABELS = (
    "treatment-resistant depression", "chronic anxiety", "PTSD", "suicidality", "chronic pain",
)

_YES_NO_DEFAULT = False

FEATURES: tuple[Feature, ...] = (
    Feature("age", "int", "Age", "Age at screening.", "demographics", 42, "years", 18, 90),
    Feature("sex", "category", "Sex", "Sex recorded at screening.", "demographics", "female",
            categories=("female", "male"), category_labels=("female", "male")),
    Feature("bmi", "float", "Body-mass index", "Higher BMI has been linked to a better "
            "response (Niciu 2014).", "demographics", 27.0, "kg/m²", 15, 60),
    Feature("primary_diagnosis", "category", "Primary indication",
            "The main reason for referral.", "diagnosis", "trd",
            categories=DIAGNOSES, category_labels=DIAGNOSIS_LABELS),
    Feature("dx_trd", "bool", "Treatment-resistant depression",
            "At least 2 failed adequate antidepressant trials in this episode.",
            "diagnosis", True),
    Feature("dx_chronic_anxiety", "bool", "Chronic anxiety", "Chronic anxiety disorder.",
            "diagnosis", False),
    Feature("dx_ptsd", "bool", "PTSD", "Post-traumatic stress disorder.", "diagnosis", False),
    Feature("dx_suicidality", "bool", "Suicidality", "Current suicidal ideation as an "
            "indication.", "diagnosis", False),
    Feature("dx_chronic_pain", "bool", "Chronic pain", "A chronic pain condition.",
            "diagnosis", False),
    Feature("anxious_depression", "bool", "Anxious depression", "Depression with prominent "
            "anxiety; linked to a better, longer response (Ionescu 2014).", "diagnosis", False),
    Feature("phq9_baseline", "int", "Baseline PHQ-9", "Depression severity 0–27 "
            "(5/10/15/20 = mild/moderate/moderately severe/severe).", "scales", 18,
            "points", 0, 27),
    Feature("gad7_baseline", "int", "Baseline GAD-7", "Anxiety severity 0–21.", "scales", 12,
            "points", 0, 21),
    Feature("pcl5_baseline", "int", "Baseline PCL-5", "PTSD symptoms 0–80.", "scales", 25,
            "points", 0, 80),
    Feature("cssrs_baseline", "int", "Baseline C-SSRS ideation", "Suicidal ideation "
            "severity 0–5.", "scales", 1, "points", 0, 5),
    Feature("failed_ad_trials", "int", "Failed antidepressant trials", "Adequate trials "
            "without response in this episode.", "history", 3, "trials", 0, 12),
    Feature("prior_ect", "bool", "Prior ECT", "Electroconvulsive therapy in the past.",
            "history", False),
    Feature("past_suicide_attempt", "bool", "Past suicide attempt", "Linked to less "
            "improvement by day 7 (Niciu 2014).", "history", False),
    Feature("family_history_aud", "bool", "Family history of alcohol use disorder",
            "First-degree relative with alcohol use disorder; linked to a better response "
            "(Niciu 2014).", "history", False),
    Feature("substance_use", "category", "Substance-use history", "Active use excludes; "
            "remission of at least a year is a caution.", "history", "none",
            categories=("none", "remission", "active"),
            category_labels=("none", "in remission", "active")),
    Feature("psychosis_history", "bool", "History of psychosis or mania", "Excludes "
            "ketamine treatment.", "history", False),
    Feature("ace_score", "int", "Adverse childhood experiences", "ACE score 0–10; higher "
            "was linked to more improvement.", "history", 2, "ACEs", 0, 10),
    Feature("systolic_bp", "int", "Screening systolic BP", "Seated, at screening.", "vitals",
            124, "mmHg", 80, 220),
    Feature("diastolic_bp", "int", "Screening diastolic BP", "Seated, at screening.",
            "vitals", 78, "mmHg", 40, 140),
    Feature("heart_rate", "int", "Screening heart rate", "Resting pulse at screening.",
            "vitals", 74, "beats/min", 35, 160),
    Feature("hypertension", "category", "Hypertension", "Known hypertension and whether it "
            "is controlled.", "comorbidity", "none",
            categories=("none", "controlled", "uncontrolled"),
            category_labels=("none", "controlled", "uncontrolled")),
    Feature("heart_disease", "category", "Heart disease", "Severe heart disease excludes.",
            "comorbidity", "none", categories=("none", "stable", "severe"),
            category_labels=("none", "stable", "severe")),
    Feature("liver_disease", "category", "Liver disease", "Severe liver disease excludes.",
            "comorbidity", "none", categories=("none", "mild", "severe"),
            category_labels=("none", "mild", "severe")),
    Feature("vascular_contraindication", "bool", "Aneurysm, AVM or past brain bleed",
            "Aneurysmal vascular disease, arteriovenous malformation or past intracerebral "
            "bleeding; excludes.", "comorbidity", False, model_input=False),
    Feature("raised_icp", "bool", "Raised intracranial pressure", "Excludes.",
            "comorbidity", False, model_input=False),
    Feature("pregnant", "bool", "Pregnancy", "Current pregnancy; excludes.", "comorbidity",
            False, model_input=False),
    Feature("maoi", "bool", "Takes an MAOI", "Concurrent MAOI: caution.", "medication", False,
            model_input=False),
    Feature("stimulant", "bool", "Takes a stimulant", "Concurrent stimulant: caution.",
            "medication", False, model_input=False),
    Feature("opioid", "bool", "Takes an opioid", "Concurrent opioid: caution; also linked "
            "to more nausea.", "medication", False),
    Feature("support_system", "category", "Support system", "A support network matters for "
            "KAP (seed article).", "social", "moderate",
            categories=("weak", "moderate", "strong"),
            category_labels=("weak", "moderate", "strong")),
    Feature("benzo_dose_mg", "float", "Benzodiazepine dose", "Diazepam-equivalent daily "
            "dose; above 8 mg/day weakens the response (consider a taper).", "medication",
            0.0, "mg/day diazepam-eq.", 0, 60, modifiable=True),
    Feature("route", "category", "Route", "How ketamine is given.", "treatment", "iv",
            categories=ROUTES, category_labels=ROUTE_LABELS, modifiable=True),
    Feature("dose_mg_per_kg", "float", "Dose", "Ketamine dose per session (IV, IM, "
            "oral/sublingual), per kg; limits depend on the route. Empty for intranasal "
            "esketamine.", "treatment", 0.5, "mg/kg", 0.2, 3.0, modifiable=True, nullable=True),
    Feature("esketamine_dose_mg", "float", "Dose", "Intranasal esketamine dose per "
            "session in mg, never per kg: 56 or 84 mg in the label (clinical-reference.md §6), "
            "28 mg = one device (a cautious start; *unsourced*). Empty for ketamine routes.",
            "treatment", None, "mg", 28, 84, modifiable=True, nullable=True),
    Feature("psychotherapy", "category", "Psychotherapy", "Psychotherapy alongside the "
            "sessions.", "treatment", "integrated", categories=("none", "supportive",
            "integrated"), category_labels=("none", "supportive only",
            "integrated KAP psychotherapy"), modifiable=True),
    Feature("sessions_per_week", "int", "Sessions per week", "Dosing frequency in the "
            "induction series.", "treatment", 2, "per week", 1, 3, modifiable=True),
    Feature("planned_sessions", "int", "Planned sessions", "Length of the induction series.",
            "treatment", 6, "sessions", 4, 12, modifiable=True),
)

OUTCOMES: tuple[Outcome, ...] = (
    Outcome("response", "Response", "PHQ-9 falls by at least 50 % from baseline at the last "
            "session of the induction series (last attended session if stopped early).",
            "benefit", "response"),
    Outcome("remission", "Remission", "PHQ-9 below 5 at the last session of the induction "
            "series (last attended session if stopped early).", "benefit", "remission"),
    Outcome("significant_dissociation", "Significant dissociation", "CADSS ≥ 20 at any "
            "session (threshold *unsourced*).", "risk", "dissociation"),
    Outcome("nausea_vomiting", "Nausea or vomiting", "Nausea or vomiting at any session.",
            "risk", "nausea/vomiting"),
    Outcome("hypertensive_reaction", "Hypertensive reaction", "Post-dose systolic ≥ 180 or "
            "diastolic ≥ 110 mmHg, or a systolic rise > 40 mmHg, at any session (thresholds "
            "*unsourced*).", "risk", "BP reaction"),
    Outcome("dropout", "Dropout", "The induction series was not completed (fewer sessions "
            "attended than planned).", "risk", "dropout"),
)

SESSION_FIELDS: tuple[SessionField, ...] = (
    SessionField("patient_id", "category", "Patient"),
    SessionField("session_number", "int", "Session", "", 1, 40),
    SessionField("day", "int", "Day", "days since first session", 0, 400),
    SessionField("route", "category", "Route", categories=ROUTES),
    SessionField("dose_mg_per_kg", "float", "Dose", "mg/kg", 0.05, 3.0, nullable=True,
                 help="ketamine routes; empty for intranasal esketamine"),
    SessionField("esketamine_dose_mg", "float", "Esketamine dose", "mg", 28, 84, nullable=True,
                 help="intranasal esketamine only: 28, 56 or 84 mg; empty otherwise"),
    SessionField("phq9", "int", "PHQ-9", "points", 0, 27),
    SessionField("phq9_item9", "int", "PHQ-9 item 9", "points", 0, 3),
    SessionField("gad7", "int", "GAD-7", "points", 0, 21),
    SessionField("pcl5", "int", "PCL-5", "points", 0, 80, nullable=True),
    SessionField("cssrs", "int", "C-SSRS ideation", "points", 0, 5),
    SessionField("sbp_pre", "int", "Systolic BP before", "mmHg", 60, 260),
    SessionField("dbp_pre", "int", "Diastolic BP before", "mmHg", 30, 160),
    SessionField("hr_pre", "int", "Heart rate before", "beats/min", 30, 200),
    SessionField("sbp_post", "int", "Systolic BP ~40 min", "mmHg", 60, 260),
    SessionField("dbp_post", "int", "Diastolic BP ~40 min", "mmHg", 30, 160),
    SessionField("hr_post", "int", "Heart rate ~40 min", "beats/min", 30, 200),
    SessionField("cadss", "int", "CADSS", "points", 0, 92),
    SessionField("nausea", "bool", "Nausea"),
    SessionField("vomiting", "bool", "Vomiting"),
    SessionField("headache", "bool", "Headache"),
    SessionField("dizziness", "bool", "Dizziness"),
    SessionField("sedation", "bool", "Sedation"),
    SessionField("minutes_to_discharge", "int", "Ready to leave after", "min", 30, 480),
    SessionField("dropout_after", "bool", "Series stopped after this session"),
)

# Session-level alert thresholds (clinical-reference §5; *unsourced* common thresholds).
POST_DOSE_SBP_ALERT = 180
POST_DOSE_DBP_ALERT = 110
SBP_RISE_ALERT = 40
CADSS_SIGNIFICANT = 20
RESPONSE_DROP = 0.5
REMISSION_BELOW = 5


def feature(name: str) -> Feature:
    """Look a feature up by name (KeyError names the unknown feature)."""
    for item in FEATURES:
        if item.name == name:
            return item
    raise KeyError(f"unknown feature {name!r}")


def outcome(name: str) -> Outcome:
    """Look an outcome up by name."""
    for item in OUTCOMES:
        if item.name == name:
            return item
    raise KeyError(f"unknown outcome {name!r}")


def feature_names() -> list[str]:
    """Every patient input column, in schema order."""
    return [f.name for f in FEATURES]


def model_feature_names() -> list[str]:
    """The clinical inputs the ML models use (screening-only flags are left to the
    eligibility rules): what must be known before a prediction is shown."""
    return [f.name for f in FEATURES if f.model_input]


def model_columns() -> list[str]:
    """The columns the ML models read: the clinical inputs with the two dose columns (one
    per unit, the other empty) replaced by one ``MODEL_DOSE`` where the first stood
    (``models.contract.features.to_model_frame``)."""
    out: list[str] = []
    for name in model_feature_names():
        if name not in DOSE_FEATURES:
            out.append(name)
        elif MODEL_DOSE not in out:
            out.append(MODEL_DOSE)
    return out


def modifiable_feature_names() -> list[str]:
    """Inputs a clinician can change when planning treatment."""
    return [f.name for f in FEATURES if f.modifiable]


def outcome_names() -> list[str]:
    """Every predicted outcome, in schema order."""
    return [o.name for o in OUTCOMES]


def session_field_names() -> list[str]:
    """Every column of a session record, in schema order."""
    return [f.name for f in SESSION_FIELDS]


def defaults() -> dict[str, object]:
    """A blank patient template with every input at its schema default."""
    return {f.name: f.default for f in FEATURES}


def schema_hash() -> str:
    """A stable fingerprint of the schema, stored in each model card to refuse mismatches."""
    payload = {
        "features": [asdict(f) for f in FEATURES],
        "outcomes": [asdict(o) for o in OUTCOMES],
        "route_dose_limits": ROUTE_DOSE_LIMITS,
        "esketamine_doses_mg": ESKETAMINE_DOSES_MG,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
