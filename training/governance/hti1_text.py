"""The text of each HTI-1 source attribute, one function per attribute (``training.governance.
hti1`` names them by OpenEMR's option id without ``predictive_``). A value that rests on
something only the clinic can say reads the clinic file; what nobody has measured says so."""

from __future__ import annotations

from typing import Any

from models.contract.schema import FEATURES
from training.lifecycle.monitor import ALPHA, MIN_EVENTS, MIN_PATIENTS, PSI_SIGNIFICANT

NA = "not available: "
NO_EXTERNAL = (NA + "no external validation has been done: this version was tested only on "
               "held-out patients from the same synthetic generator as its training data. "
               "The clinic's own results are under local validity and local fairness.")
SDOH_FEATURES = ("support_system", "ace_score")
HEALTH_STATUS = ("phq9_baseline", "gad7_baseline", "pcl5_baseline", "cssrs_baseline")


def _clinic(facts: dict[str, Any], key: str) -> str | None:
    return (facts.get("clinic") or {}).get(key)


def _clinic_or_reason(facts: dict[str, Any], key: str) -> str:
    return _clinic(facts, key) or NA + facts["clinic_missing"][key]


def _frequency(facts: dict[str, Any], key: str) -> str:
    value = _clinic(facts, key)
    return f"Frequency at this clinic: {value}." if value else (
        "Frequency at this clinic: not available (" + facts["clinic_missing"][key] + ").")


def details_developer(facts: dict[str, Any]) -> str:
    who = _clinic(facts, "developer")
    contact = _clinic(facts, "developer_contact")
    if not who and not contact:
        return NA + facts["clinic_missing"]["developer_contact"]
    return (f"{who or 'Developer not entered'}; contact: "
            f"{contact or 'not available (' + facts['clinic_missing']['developer_contact'] + ')'}"
            f". Built with KAP-CDS (open-source software); version {facts['version']} trained "
            f"by {facts.get('trained_by') or 'unknown'}.")


def details_funding(facts: dict[str, Any]) -> str:
    return _clinic_or_reason(facts, "funding")


def details_output_value(facts: dict[str, Any]) -> str:
    return ("For each outcome (" + ", ".join(facts["outcomes"]) + ") a calibrated probability "
            "over the induction series with a 90 % interval, its percentile among the clinic's "
            "patients, what happened to similar held-out test patients, a per-input "
            "explanation (exact Shapley values) and an out-of-distribution warning. Outcomes that "
            "fail the quality gate are withheld and named. " + facts["notice"])


def details_output_type(facts: dict[str, Any]) -> str:
    return ("Prediction (probability of each outcome). Not a classification or a "
            "recommendation: the eligibility screen is a separate rule-based check.")


def purpose_intended_use(facts: dict[str, Any]) -> str:
    return facts["intended_use"]


def purpose_patient_population(facts: dict[str, Any]) -> str:
    by_name = {f.name: f for f in FEATURES}
    indications = ", ".join(by_name["primary_diagnosis"].categories)
    routes = ", ".join(by_name["route"].categories)
    return (f"Adults (18 and over) considered for or receiving a ketamine-assisted "
            f"psychotherapy induction series; indications in the training cohort: "
            f"{indications}; routes: {routes}.")


def purpose_intended_users(facts: dict[str, Any]) -> str:
    return ("Clinicians running KAP (candidate review, compare, progress, what-if); data "
            "scientists (model lab, monitoring); trainees (what-if on de-identified data).")


def purpose_decision_role(facts: dict[str, Any]) -> str:
    return ("Informs clinical management; never replaces it. The clinician reviews the basis "
            "(inputs, explanation, this card) and records the decision, with a reason when "
            "it differs from the screen's suggestion.")


def cautions_inappropriate_use(facts: dict[str, Any]) -> str:
    return "\n".join(facts["out_of_scope"])


def cautions_risks(facts: dict[str, Any]) -> str:
    return "\n".join([facts["notice"], *facts["limits"]])


def development_criteria(facts: dict[str, Any]) -> str:
    data = facts["training_data"]
    details = ", ".join(f"{k}: {v}" for k, v in data["details"].items() if k != "splits")
    return (f"{data['description']} ({details}). Inclusion: every generated patient (adults "
            "18-85); the generator also makes patients the eligibility screen would exclude "
            "(a few percent), and they are not removed. Exclusion: none. Outcomes are derived "
            "from the simulated sessions (clinical-reference definitions).")


def development_variables(facts: dict[str, Any]) -> str:
    names = {f.name for f in FEATURES}
    absent = [v for v in ("race", "ethnicity", "language", "sexual_orientation",
                          "gender_identity") if v not in names]
    lines = [f"{v.replace('_', ' ')}: not an input (not collected)" for v in absent]
    if "sex" in names:
        lines.append("sex: an input (female, male)")
    if "age" in names:
        lines.append("date of birth: not an input; age in whole years is")
    sdoh = [f.label for f in FEATURES if f.name in SDOH_FEATURES]
    lines.append("social determinants of health: " + (
        "inputs: " + ", ".join(sdoh) if sdoh else "not an input"))
    health = [f.label for f in FEATURES if f.name in HEALTH_STATUS]
    lines.append("health status assessment: " + (
        "inputs: " + ", ".join(health) if health else "not an input"))
    return "\n".join(lines)


def development_demographics(facts: dict[str, Any]) -> str:
    lines = facts["demographics"]
    if not lines:
        return NA + "the card holds no training profile (trained before issue 14)"
    return ("Training and validation patients (synthetic): " + "; ".join(lines) + ". Race, "
            "ethnicity, language, sexual orientation and gender identity are not in the data, "
            "so representativeness by them cannot be described.")


def development_relevance(facts: dict[str, Any]) -> str:
    return ("Synthetic data from a generator whose effect directions follow the published "
            "literature (sizes partly unsourced); it comes from no clinic. Relevance to a "
            "deployed setting is unknown until local validity is measured (attribute 27).")


def fairness_approach(facts: dict[str, Any]) -> str:
    return ("ROC AUC and calibration (intercept, slope, observed vs predicted) by sex, age band "
            "and route with 95 % bootstrap CIs on the held-out test patients, and again on the "
            "clinic's ended series; levels with few patients or events carry a small-n "
            "warning. No fairness constraint is applied during fitting.")


def fairness_bias_mitigation(facts: dict[str, Any]) -> str:
    threshold = (facts.get("quality_gate") or {}).get("threshold")
    gate = (f"outcomes whose held-out AUC lower 95 % bound is below {threshold} are withheld "
            "(quality gate)" if threshold is not None else "no quality gate recorded")
    return (f"Subgroup results are published with their intervals; {gate}; inputs outside "
            "the training range are flagged (OOD); local monitoring by subgroup. No "
            "reweighting or resampling by group is done.")


def validation_data_source(facts: dict[str, Any]) -> str:
    return NO_EXTERNAL


validation_tester = validation_demographics = validation_process = validation_data_source
performance_external_validity = performance_external_fairness = validation_data_source


def performance_internal_validity(facts: dict[str, Any]) -> str:
    held = facts["heldout"]
    return f"{held['source']}:\n" + "\n".join(held["lines"])


def performance_internal_fairness(facts: dict[str, Any]) -> str:
    section = facts["fairness"]
    if "not_available" in section:
        return section["not_available"]
    return f"{section['source']}:\n" + "\n".join(section["lines"])


def performance_outcome_evaluation(facts: dict[str, Any]) -> str:
    return _clinic(facts, "outcome_evaluations") or (
        NA + "no evaluation of the tool's effect on patient outcomes exists (it has not been "
             "used with real patients)")


def maintenance_validity_monitoring(facts: dict[str, Any]) -> str:
    return (f"Monitoring view / `kapcds monitor`: realised ROC AUC and calibration on ended "
            f"series with a recorded prediction, judged from {MIN_PATIENTS} series and "
            f"{MIN_EVENTS} events; recalibration suggested when Cox's test rejects "
            f"(p < {ALPHA}/outcomes), retraining when the AUC falls below the held-out AUC or "
            f"an input drifts (PSI > {PSI_SIGNIFICANT}). " + _frequency(facts,
                                                                      "monitoring_frequency"))


def maintenance_fairness_monitoring(facts: dict[str, Any]) -> str:
    return ("The local subgroup results (sex, age band, route) below are recomputed from the "
            "store whenever this card is exported or shown. " + _frequency(
                facts, "monitoring_frequency"))


def maintenance_local_validity(facts: dict[str, Any]) -> str:
    local = facts["local"]
    if "not_available" in local:
        return local["not_available"]
    return f"{local['source']}:\n" + "\n".join(local["validity_lines"])


def maintenance_local_fairness(facts: dict[str, Any]) -> str:
    local = facts["local"]
    if "not_available" in local:
        return local["not_available"]
    return f"{local['source']}:\n" + "\n".join(local["fairness_lines"])


def updates_process(facts: dict[str, Any]) -> str:
    return ("A new version is trained (model lab or `kapcds train`), registered signed and "
            "never promoted automatically: it is compared with the current one on patients "
            "neither saw and promoted by a person. " + _frequency(facts, "update_frequency"))


def updates_correction(facts: dict[str, Any]) -> str:
    return ("At once for outcomes failing the quality gate (withheld on every screen); when "
            "monitoring suggests recalibration or retraining, a new version is trained and "
            "compared before promotion. " + _frequency(facts, "update_frequency"))
