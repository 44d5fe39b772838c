"""Code tables for the FHIR import: LOINC, SNOMED CT, ICD-10, RxNorm and UCUM, in one place.

Every mapping the importer makes is read from here, so a clinician can review the whole
vocabulary in one file. Codes were checked against public code lists where noted; the
severity groupings (which heart or liver codes count as "severe") are project choices,
marked *unsourced*, for a clinician to confirm. All patients in this project are synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = ("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10")
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

# --- Observations (clinical-reference §6) ----------------------------------------------
# LOINC code -> (schema feature or intermediate quantity, kind of unit it needs)
OBSERVATION_CODES: dict[str, tuple[str, str]] = {
    "44261-6": ("phq9_baseline", "score"),    # PHQ-9 total score
    "70274-6": ("gad7_baseline", "score"),    # GAD-7 total score
    "8480-6": ("systolic_bp", "pressure"),    # systolic blood pressure
    "8462-4": ("diastolic_bp", "pressure"),   # diastolic blood pressure
    "8867-4": ("heart_rate", "rate"),         # heart rate
    "39156-5": ("bmi", "bmi"),                # body mass index
    "29463-7": ("body_weight", "mass"),       # body weight (-> BMI when BMI is absent)
    "8302-2": ("body_height", "length"),      # body height (-> BMI when BMI is absent)
}
# Blood-pressure panels whose components carry 8480-6 / 8462-4.
BP_PANELS = frozenset({"55284-4", "85354-9"})
PREGNANCY_STATUS = "82810-3"  # LOINC pregnancy status; value coded in SNOMED below
PREGNANT_VALUES = frozenset({"77386006"})      # SNOMED pregnant
NOT_PREGNANT_VALUES = frozenset({"60001007"})  # SNOMED not pregnant
OBSERVATION_STATUS_OK = frozenset({"final", "amended", "corrected", "preliminary"})

# --- Units (UCUM code -> factor to the canonical unit) ---------------------------------
# Canonical units: mass kg, length m, pressure mm[Hg], rate /min, BMI kg/m2.
UNITS: dict[str, dict[str, float]] = {
    "mass": {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "[oz_av]": 0.028349523125},
    "length": {"m": 1.0, "cm": 0.01, "mm": 0.001, "[in_i]": 0.0254, "[ft_i]": 0.3048},
    "pressure": {"mm[Hg]": 1.0, "kPa": 7.50061683},
    "rate": {"/min": 1.0, "{beats}/min": 1.0, "1/min": 1.0},
    "bmi": {"kg/m2": 1.0},
    "score": {"{score}": 1.0, "1": 1.0, "{Score}": 1.0, "{points}": 1.0},
}
# Free-text units seen in exports without a UCUM code; used only with a warning.
UNIT_TEXT: dict[str, str] = {
    "kg": "kg", "kgs": "kg", "g": "g", "lb": "[lb_av]", "lbs": "[lb_av]", "pound": "[lb_av]",
    "pounds": "[lb_av]", "cm": "cm", "m": "m", "in": "[in_i]", "inch": "[in_i]",
    "inches": "[in_i]", "ft": "[ft_i]", "mmhg": "mm[Hg]", "mm hg": "mm[Hg]", "kpa": "kPa",
    "bpm": "/min", "beats/min": "/min", "/min": "/min", "kg/m2": "kg/m2", "kg/m^2": "kg/m2",
    "kg/m²": "kg/m2", "score": "{score}", "{score}": "{score}", "points": "{score}",
}


# --- Conditions --------------------------------------------------------------------------
@dataclass(frozen=True)
class ConditionRule:
    """A group of codes and the schema value an active condition of that group sets.

    ``value`` None means the code shows the condition but not the value the schema needs
    (e.g. hypertension without "controlled"/"uncontrolled"): the importer warns and leaves
    the feature missing unless another record settles it. ``history`` groups still count
    when the condition is resolved (a past psychosis is a history of psychosis).
    """

    key: str
    feature: str
    value: object
    snomed: frozenset[str]
    icd10: tuple[str, ...]  # code prefixes, without dots (F431 matches F43.10, F43.12, ...)
    history: bool = False
    icd10cm: frozenset[str] = frozenset()  # ICD-10-CM codes expanded from the tabular list
    icd10_exclude: tuple[str, ...] = ()

    def matches_icd10(self, system: str, code: str) -> bool:
        """An ICD-10-CM code of the expansion, or (WHO ICD-10, other CM releases) a code
        under one of the group's categories; never an excluded one (F17 nicotine)."""
        bare = code.replace(".", "").upper()
        if not bare or system not in ICD10 or bare.startswith(self.icd10_exclude or ("\0",)):
            return False
        return bare in self.icd10cm or bool(self.icd10) and bare.startswith(self.icd10)


def _condition_rules() -> tuple[ConditionRule, ...]:
    from interop.fhir.terminology.valuesets import condition_groups

    return tuple(ConditionRule(g.key, g.feature, g.value, g.snomed, g.icd10_prefixes,
                               g.history, g.icd10cm, g.icd10_exclude)
                 for g in condition_groups())


# The value sets are data: interop/fhir/terminology/conditions.json (every code with its
# source; SNOMED descendants listed, ICD-10-CM ranges expanded with simple_icd_10_cm).
# Groups marked *unsourced* there are this project's severity choices.
CONDITION_RULES: tuple[ConditionRule, ...] = _condition_rules()
ICD10_REMISSION = ("11", "21")  # F1x.11 abuse in remission, F1x.21 dependence in remission

# Severity order per category feature: a higher level wins over a lower one.
SEVERITY: dict[str, tuple[str, ...]] = {
    "substance_use": ("none", "remission", "active"),
    "hypertension": ("none", "controlled", "uncontrolled"),
    "heart_disease": ("none", "stable", "severe"),
    "liver_disease": ("none", "mild", "severe"),
}


# --- Medications -------------------------------------------------------------------------
ATC = "http://www.whocc.no/atc"


@dataclass(frozen=True)
class Drug:
    """One ingredient: its class, names to match in text, and (benzodiazepines) the dose
    equivalent to 10 mg diazepam with its source."""

    name: str
    drug_class: str  # benzodiazepine, z_drug, maoi, stimulant, opioid, antidepressant, ketamine
    rxnorm: str = ""  # ingredient RXCUI (its source is named in medications.json)
    aliases: tuple[str, ...] = ()
    equivalent_to_10mg_diazepam: float | None = None
    source: str = ""
    atc: str = ""
    antidepressant: bool = False  # counts towards antidepressant trials (MAOIs too)
    subclass: str = ""  # e.g. opioid: full agonist / partial agonist / atypical
    products: frozenset[str] = frozenset()  # RxNorm clinical/branded drug codes


ASHTON = "Ashton Manual 2002 (benzo.org.uk), table of approximate equivalents"


def _drugs() -> tuple[Drug, ...]:
    from interop.fhir.terminology.valuesets import medication_doc

    doc = medication_doc()
    return tuple(Drug(i["name"], i["class"], i.get("rxnorm", ""), tuple(i.get("aliases", [])),
                      i.get("equivalent_to_10mg_diazepam"),
                      ASHTON if i.get("source") == "ashton" else i.get("source", ""),
                      i.get("atc", ""), bool(i.get("antidepressant")), i.get("subclass", ""),
                      frozenset(p["code"] for p in i.get("products", [])))
                 for i in doc["ingredients"])


def _atc_classes() -> dict[str, str]:
    from interop.fhir.terminology.valuesets import medication_doc

    return dict(medication_doc()["atc_classes"])


# The value sets are data: interop/fhir/terminology/medications.json.
DRUGS: tuple[Drug, ...] = _drugs()
ATC_CLASSES: dict[str, str] = _atc_classes()  # ATC prefix -> class (longest prefix wins)
CLASS_FEATURE = {"maoi": "maoi", "stimulant": "stimulant", "opioid": "opioid"}
MED_STATEMENT_ACTIVE = frozenset({"active", "intended", "on-hold"})
MED_REQUEST_ACTIVE = frozenset({"active", "on-hold"})
# Dose units to mg.
DOSE_MG = {"mg": 1.0, "ug": 0.001, "mcg": 0.001, "g": 1000.0}
# Timing abbreviations (HL7 v3 GTSAbbreviation) -> administrations per day.
TIMING_PER_DAY = {"QD": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "QOD": 0.5, "AM": 1.0,
                  "PM": 1.0}
PERIOD_DAYS = {"h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0}
