"""TRIPOD+AI (Collins et al., BMJ 2024;385:e078378): the 27-item checklist, each item and
sub-item marked reported / not applicable / not reported, with where in the governance card
(or which HTI-1 attribute) it is. Topics are short paraphrases; the statement has the text.

A status is decided from the facts where it can change (funding, stakeholders, local
results); the rest follows from how KAP-CDS trains every version.
"""

from __future__ import annotations

from typing import Any

from models.learners.calibration import RARE_PREVALENCE

REPORTED, NOT_APPLICABLE, NOT_REPORTED = "reported", "not applicable", "not reported"
SYNTHETIC = "synthetic data: no participants, centres or accrual"


def _local(facts: dict[str, Any]) -> tuple[str, str]:
    local = facts["local"]
    if "not_available" in local:
        return NOT_REPORTED, local["not_available"]
    return REPORTED, "Local validity and fairness (HTI-1 27, 29)"


# (item, topic, status, where); CLINIC: reported when the clinic file has the key named in
# "where" (else not reported, saying so); LOCAL: reported once local results exist.
CLINIC, LOCAL = "clinic", "local"
ITEMS: tuple[tuple[str, str, str, str], ...] = (
    ("1", "Title", REPORTED, "Title"),
    ("2", "Abstract", REPORTED, "Summary"),
    ("3a", "Healthcare context and rationale", REPORTED, "Intended use (HTI-1 5)"),
    ("3b", "Target population, care pathway, intended users", REPORTED,
     "HTI-1 6, 7, 8"),
    ("3c", "Known health inequalities between groups", NOT_REPORTED,
     "no evidence on inequalities in ketamine treatment was compiled"),
    ("4", "Objectives (development and/or evaluation)", REPORTED,
     "Summary: development with internal (held-out) evaluation"),
    ("5a", "Data sources and representativeness", REPORTED, "Training data; HTI-1 13, 14"),
    ("5b", "Dates of data collection", NOT_APPLICABLE, SYNTHETIC),
    ("6a", "Setting, number and location of centres", NOT_APPLICABLE, SYNTHETIC),
    ("6b", "Eligibility criteria", REPORTED, "HTI-1 11"),
    ("6c", "Treatments received", REPORTED,
     "HTI-1 6: route, dose, psychotherapy and sessions are inputs"),
    ("7", "Data preparation and quality checks", REPORTED,
     "Training data: every input validated (models.contract.validation), no imputation"),
    ("8a", "Outcome definition, how and when assessed", REPORTED, "Outcomes"),
    ("8b", "Outcome assessors and blinding", NOT_APPLICABLE,
     "outcomes derived by code from the simulated sessions"),
    ("8c", "Consistency of outcome assessment across groups", REPORTED,
     "Outcomes: one derivation for every patient"),
    ("9a", "Choice of initial predictors", REPORTED,
     "HTI-1 12; predictors from the clinical reference"),
    ("9b", "Definition of predictors, how and when measured", REPORTED,
     "data dictionary (kapcds data-dictionary)"),
    ("9c", "Predictor assessors and blinding", NOT_APPLICABLE,
     "predictors generated, not assessed"),
    ("10", "Sample size", NOT_REPORTED,
     "patients and splits are given (Training data) but no sample-size calculation "
     "(e.g. Riley et al., BMJ 2020) was done"),
    ("11", "Missing data", REPORTED,
     "Training data: complete; patients with data gaps get no prediction"),
    ("12a", "How data were used (partitioning)", REPORTED, "Training data: splits"),
    ("12b", "Handling of predictors", REPORTED,
     "Model: gradient-boosted trees on raw values, categories native"),
    ("12c", "Model type, building steps, tuning, internal validation", REPORTED, "Model"),
    ("12d", "Heterogeneity across clusters", NOT_APPLICABLE, "one synthetic source"),
    ("12e", "Performance measures and rationale", REPORTED,
     "Held-out evaluation: ROC AUC, calibration intercept and slope, Brier"),
    ("12f", "Model updating arising from evaluation", REPORTED, "HTI-1 30, 31"),
    ("12g", "How predictions are calculated in evaluation", REPORTED,
     "Model: the signed registry version, scored by the software"),
    ("13", "Class imbalance", REPORTED,
     f"Model: positives up-weighted below {RARE_PREVALENCE:.0%} prevalence, then "
     "Platt-calibrated"),
    ("14", "Fairness approach", REPORTED, "HTI-1 15, 16"),
    ("15", "Model output and thresholds", REPORTED,
     "HTI-1 3, 4; quality gate (no clinical threshold)"),
    ("16", "Differences between development and evaluation data", REPORTED,
     "held-out patients from the same source (HTI-1 21)"),
    ("17", "Ethical approval", NOT_APPLICABLE, "synthetic data: no human participants"),
    ("18a", "Funding", CLINIC, "funding"),
    ("18b", "Conflicts of interest", NOT_REPORTED, "not recorded"),
    ("18c", "Protocol", NOT_REPORTED, "no protocol was written"),
    ("18d", "Registration", NOT_REPORTED, "not registered"),
    ("18e", "Data sharing", REPORTED,
     "Training data: reproducible from the generator and its settings"),
    ("18f", "Code sharing", REPORTED, "KAP-CDS is open-source (MIT)"),
    ("19", "Patient and public involvement", CLINIC, "stakeholders_consulted"),
    ("20a", "Flow of participants, with and without the outcome", REPORTED,
     "Training data: splits; Held-out evaluation: n and prevalence"),
    ("20b", "Characteristics of participants", REPORTED, "HTI-1 13"),
    ("20c", "Predictor distributions, development vs evaluation", NOT_APPLICABLE,
     "held-out patients from the same source; local drift is in the Monitoring view"),
    ("21", "Participants and events in each analysis", REPORTED,
     "Held-out evaluation; Subgroups (n, events)"),
    ("22", "Full model specification or access", REPORTED,
     "the signed registry version (LightGBM text boosters and Platt parameters)"),
    ("23a", "Performance with CIs, including subgroups", REPORTED,
     "Held-out evaluation; Subgroups (HTI-1 21, 22)"),
    ("23b", "Heterogeneity of performance across clusters", LOCAL, ""),
    ("24", "Model updating results", NOT_APPLICABLE, "no update was made to this version"),
    ("25", "Interpretation, including fairness", REPORTED, "Limits; quality gate"),
    ("26", "Limitations", REPORTED, "Limits (HTI-1 10)"),
    ("27a", "Handling poor-quality or missing inputs in use", REPORTED,
     "data gaps withhold predictions; OOD warnings (HTI-1 3)"),
    ("27b", "User interaction and expertise needed", REPORTED, "HTI-1 7, 8"),
    ("27c", "Next steps and generalisability", REPORTED, "HTI-1 14: local validation first"),
)
CLINIC_WHERE = {"funding": "HTI-1 2",
                "stakeholders_consulted": "Clinic statements: stakeholders consulted"}


def tripod_items(facts: dict[str, Any]) -> list[dict[str, str]]:
    """Every TRIPOD+AI item with its status and where it is reported (or why not)."""
    local_status, local_where = _local(facts)
    out = []
    for item, topic, status, where in ITEMS:
        if status == CLINIC:
            status, where = (REPORTED, CLINIC_WHERE[where]) if (
                facts.get("clinic") or {}).get(where) else (
                NOT_REPORTED, facts["clinic_missing"][where])
        elif status == LOCAL:
            status, where = local_status, local_where
        out.append({"item": item, "topic": topic, "status": status, "where": where})
    return out
