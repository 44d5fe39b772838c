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


def _sct(*codes: str) -> frozenset[str]:
    return frozenset(codes)


# SNOMED codes checked against public code lists (depression and TRD: an NHS depression
# code list; the others: several public FHIR/OMOP value sets). ICD-10-CM prefixes from the
# ICD-10-CM tabular list. Groups marked *unsourced* are this project's severity choices.
CONDITION_RULES: tuple[ConditionRule, ...] = (
    ConditionRule("trd", "dx_trd", True, _sct("1153570009"), ()),
    # Depression that is not coded as treatment-resistant: TRD needs >= 2 failed trials.
    ConditionRule("depression", "dx_trd", None, _sct(
        "35489007", "370143000", "36923009", "66344007", "1153575004", "78667006",
        "191616006", "192080009", "310497006", "450714000", "832007"),
        ("F32", "F33", "F341")),
    ConditionRule("anxiety", "dx_chronic_anxiety", True, _sct("197480006", "21897009"),
                  ("F41",)),
    ConditionRule("ptsd", "dx_ptsd", True, _sct("47505003"), ("F431",)),
    ConditionRule("chronic_pain", "dx_chronic_pain", True, _sct("82423001"),
                  ("G892", "G894")),
    ConditionRule("suicidality", "dx_suicidality", True, _sct("6471006"), ("R45851",)),
    ConditionRule("suicide_attempt", "past_suicide_attempt", True, _sct("82313006"),
                  ("Z9151", "T1491"), history=True),
    ConditionRule("psychosis_bipolar", "psychosis_history", True, _sct(
        "69322001", "58214004", "13746004", "191627008", "726772006", "84760002"),
        ("F20", "F21", "F22", "F23", "F24", "F25", "F28", "F29", "F30", "F31", "F323",
         "F333"), history=True),
    # Substance use disorder; remission comes from clinicalStatus or ICD-10-CM F1x.11/F1x.21.
    # F17 (nicotine) is left out on purpose: it is not an exclusion for ketamine.
    ConditionRule("substance_use", "substance_use", "active", _sct(
        "66214007", "7200002", "15167005", "26416006", "191816009"),
        ("F10", "F11", "F12", "F13", "F14", "F15", "F16", "F18", "F19"), history=True),
    ConditionRule("hypertensive_crisis", "hypertension", "uncontrolled", _sct(), ("I16",)),
    ConditionRule("hypertension", "hypertension", None, _sct("38341003", "59621000"),
                  ("I10", "I11", "I12", "I13", "I15")),
    # *unsourced* severity grouping: decompensating or acute disease counts as severe.
    ConditionRule("heart_severe", "heart_disease", "severe", _sct("84114007", "22298006"),
                  ("I50", "I200", "I21", "I22")),
    ConditionRule("heart_stable", "heart_disease", "stable", _sct("53741008", "49436004"),
                  ("I25", "I208", "I209", "I48")),
    ConditionRule("heart_unspecified", "heart_disease", None, _sct("56265001"), ("I51",)),
    ConditionRule("liver_severe", "liver_disease", "severe", _sct("19943007", "59927004"),
                  ("K703", "K704", "K72", "K746", "K766", "K767")),
    ConditionRule("liver_mild", "liver_disease", "mild", _sct("197321007"),
                  ("K760", "K700")),
    ConditionRule("liver_unspecified", "liver_disease", None, _sct("235856003"),
                  ("K70", "K71", "K73", "K74", "K75", "K76", "K77")),
    ConditionRule("pregnancy", "pregnant", True, _sct("77386006"), ("Z331", "Z34", "O09")),
    # ICD-10 only: aneurysm, AVM, intracerebral/subarachnoid bleeding; raised ICP.
    ConditionRule("vascular", "vascular_contraindication", True, _sct(),
                  ("I671", "I71", "I72", "Q282", "I60", "I61", "I62"), history=True),
    ConditionRule("raised_icp", "raised_icp", True, _sct(), ("G932",)),
)
ICD10_REMISSION = ("11", "21")  # F1x.11 abuse in remission, F1x.21 dependence in remission

# Severity order per category feature: a higher level wins over a lower one.
SEVERITY: dict[str, tuple[str, ...]] = {
    "substance_use": ("none", "remission", "active"),
    "hypertension": ("none", "controlled", "uncontrolled"),
    "heart_disease": ("none", "stable", "severe"),
    "liver_disease": ("none", "mild", "severe"),
}


# --- Medications -------------------------------------------------------------------------
@dataclass(frozen=True)
class Drug:
    """One ingredient: its class, names to match in text, and (benzodiazepines) the dose
    equivalent to 10 mg diazepam with its source."""

    name: str
    drug_class: str  # "benzodiazepine", "z_drug", "maoi", "stimulant", "opioid"
    rxnorm: str = ""  # ingredient RXCUI, only where checked against a public list
    aliases: tuple[str, ...] = ()
    equivalent_to_10mg_diazepam: float | None = None
    source: str = ""


ASHTON = "Ashton Manual 2002 (benzo.org.uk), table of approximate equivalents"
DRUGS: tuple[Drug, ...] = (
    Drug("alprazolam", "benzodiazepine", "596", ("xanax",), 0.5, ASHTON),
    Drug("chlordiazepoxide", "benzodiazepine", "", ("librium",), 25.0, ASHTON),
    Drug("clobazam", "benzodiazepine", "21241", ("frisium", "onfi"), 20.0, ASHTON),
    Drug("clonazepam", "benzodiazepine", "2598", ("klonopin", "rivotril"), 0.5, ASHTON),
    Drug("diazepam", "benzodiazepine", "3322", ("valium",), 10.0, ASHTON),
    Drug("lorazepam", "benzodiazepine", "6470", ("ativan",), 1.0, ASHTON),
    Drug("nitrazepam", "benzodiazepine", "", ("mogadon",), 10.0, ASHTON),
    Drug("oxazepam", "benzodiazepine", "7781", ("serax",), 20.0, ASHTON),
    Drug("temazepam", "benzodiazepine", "", ("restoril",), 20.0, ASHTON),
    Drug("triazolam", "benzodiazepine", "", ("halcion",), 0.5, ASHTON),
    # No oral equivalence in the Ashton table: found, flagged, dose left to the clinician.
    Drug("midazolam", "benzodiazepine", "6960", ("versed",), None, "unsourced: no equivalence"),
    Drug("zolpidem", "z_drug", "39993", ("ambien", "stilnoct")),
    Drug("zopiclone", "z_drug", "", ("imovane", "zimovane")),
    Drug("eszopiclone", "z_drug", "", ("lunesta",)),
    Drug("phenelzine", "maoi", "", ("nardil",)),
    Drug("tranylcypromine", "maoi", "", ("parnate",)),
    Drug("isocarboxazid", "maoi", "", ("marplan",)),
    Drug("selegiline", "maoi", "", ("emsam", "eldepryl")),
    Drug("moclobemide", "maoi", "", ("manerix",)),
    Drug("methylphenidate", "stimulant", "6901", ("ritalin", "concerta")),
    Drug("lisdexamfetamine", "stimulant", "", ("vyvanse", "elvanse")),
    Drug("dextroamphetamine", "stimulant", "", ("dexedrine", "dexamfetamine")),
    Drug("amphetamine", "stimulant", "", ("adderall",)),
    Drug("modafinil", "stimulant", "30125", ("provigil",)),  # project classification
    Drug("morphine", "opioid", "7052"),
    Drug("oxycodone", "opioid", "7804", ("oxycontin",)),
    Drug("hydrocodone", "opioid", ""),
    Drug("hydromorphone", "opioid", "", ("dilaudid",)),
    Drug("fentanyl", "opioid", "4337"),
    Drug("codeine", "opioid", "2670"),
    Drug("tramadol", "opioid", "10689", ("ultram",)),
    Drug("tapentadol", "opioid", "", ("nucynta",)),
    Drug("methadone", "opioid", "6813"),
    Drug("buprenorphine", "opioid", "", ("subutex", "suboxone")),
)
CLASS_FEATURE = {"maoi": "maoi", "stimulant": "stimulant", "opioid": "opioid"}
MED_STATEMENT_ACTIVE = frozenset({"active", "intended", "on-hold"})
MED_REQUEST_ACTIVE = frozenset({"active", "on-hold"})
# Dose units to mg.
DOSE_MG = {"mg": 1.0, "ug": 0.001, "mcg": 0.001, "g": 1000.0}
# Timing abbreviations (HL7 v3 GTSAbbreviation) -> administrations per day.
TIMING_PER_DAY = {"QD": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "QOD": 0.5, "AM": 1.0,
                  "PM": 1.0}
PERIOD_DAYS = {"h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0}
