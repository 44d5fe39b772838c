"""The 31 source attributes of ONC HTI-1 §170.315(b)(11)(iv) for a predictive DSI, each with
a value from the governance facts or an explicit "not available: <reason>".

Titles are verbatim from OpenEMR's ONC defaults (list ``dsi_predictive_source_attributes``
in its upgrade SQL; the option ids are OpenEMR's too, so an EHR can map them one to one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.contract.schema import FEATURES
from training.governance import hti1_text as text

# (option id, verbatim title), in ONC's order.
ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("predictive_details_developer",
     "Name and contact information for the intervention developer"),
    ("predictive_details_funding",
     "Funding source of the technical implementation for the intervention(s) development"),
    ("predictive_details_output_value",
     "Description of value that the intervention produces as an output"),
    ("predictive_details_output_type",
     "Whether the intervention output is a prediction, classification, recommendation, "
     "evaluation, analysis, or other type of output"),
    ("predictive_purpose_intended_use", "Intended use of the intervention"),
    ("predictive_purpose_patient_population",
     "Intended patient population(s) for the intervention's use"),
    ("predictive_purpose_intended_users", "Intended user(s)"),
    ("predictive_purpose_decision_role",
     "Intended decision-making role for which the intervention was designed to be used/for "
     "(e_g_, informs, augments, replaces clinical management)"),
    ("predictive_cautions_inappropriate_use",
     "Description of tasks, situations, or populations where a user is cautioned against "
     "applying the intervention"),
    ("predictive_cautions_risks",
     "Known risks, inappropriate settings, inappropriate uses, or known limitations of the "
     "intervention"),
    ("predictive_development_criteria",
     "Exclusion and inclusion criteria that influenced the training data set"),
    ("predictive_development_variables",
     "Use of variables in paragraph US § 170.315 (b)(11)(iv)(A)(5)-(13) as input features "
     "(use of race, ethnicity, language, sexual orientation, gender identity, sex, date of "
     "birth, social determinants of health, and health status assessment)"),
    ("predictive_development_demographics",
     "Description of demographic representativeness according to variables in paragraph US "
     "§ 170.315 (b)(11)(iv)(A)(5)-(13) including, at a minimum, those used as input features "
     "in the intervention"),
    ("predictive_development_relevance",
     "Description of relevance of training data to intended deployed setting"),
    ("predictive_fairness_approach",
     "Description of the approach the intervention developer has taken to ensure that the "
     "intervention's output is fair"),
    ("predictive_fairness_bias_mitigation",
     "Description of approaches to manage, reduce, or eliminate bias"),
    ("predictive_validation_data_source",
     "Description of the data source, clinical setting, or environment where an "
     "intervention's validity and fairness has been assessed, other than the source of "
     "training and testing data"),
    ("predictive_validation_tester", "Party that conducted the external testing"),
    ("predictive_validation_demographics",
     "Description of demographic representativeness of external data according to variables "
     "in paragraph US § 170.315 (b)(11)(iv)(A)(5)-(13) including, at a minimum, those used "
     "as input features in the intervention"),
    ("predictive_validation_process", "Description of external validation process"),
    ("predictive_performance_internal_validity",
     "Validity of intervention in test data derived from the same source as the initial "
     "training data"),
    ("predictive_performance_internal_fairness",
     "Fairness of intervention in test data derived from the same source as the initial "
     "training data"),
    ("predictive_performance_external_validity",
     "Validity of intervention in data external to or from a different source than the "
     "initial training data"),
    ("predictive_performance_external_fairness",
     "Fairness of intervention in data external to or from a different source than the "
     "initial training data"),
    ("predictive_performance_outcome_evaluation",
     "References to evaluation of use of the intervention on outcomes, including, "
     "bibliographic citations or hyperlinks to evaluations of how well the intervention "
     "reduced morbidity, mortality, length of stay, or other outcomes"),
    ("predictive_maintenance_validity_monitoring",
     "Description of process and frequency by which the intervention's validity is "
     "monitored over time"),
    ("predictive_maintenance_local_validity", "Validity of intervention in local data"),
    ("predictive_maintenance_fairness_monitoring",
     "Description of the process and frequency by which the intervention's fairness is "
     "monitored over time"),
    ("predictive_maintenance_local_fairness", "Fairness of intervention in local data"),
    ("predictive_updates_process",
     "Description of process and frequency by which the intervention is updated"),
    ("predictive_updates_correction",
     "Description of frequency by which the intervention's performance is corrected when "
     "risks related to validity and fairness are identified"),
)

NOT_AVAILABLE = "not available: "


def _value(option_id: str, facts: dict[str, Any]) -> str:
    maker: Callable[[dict[str, Any]], str] = getattr(text, option_id.replace(
        "predictive_", "", 1))
    return maker(facts)


def attributes(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """All 31 attributes: number, id, title, and either ``value`` or ``not_available``."""
    out = []
    for number, (option_id, title) in enumerate(ATTRIBUTES, start=1):
        value = _value(option_id, facts).strip()
        entry: dict[str, Any] = {"number": number, "id": option_id, "title": title}
        if value.startswith(NOT_AVAILABLE):
            entry["not_available"] = value[len(NOT_AVAILABLE):]
        else:
            entry["value"] = value
        out.append(entry)
    return out


def input_feature_names() -> list[str]:
    """The model's input features (what attribute 12 is checked against)."""
    return [f.name for f in FEATURES]
