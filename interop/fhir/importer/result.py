"""What an import returns, and the gate that keeps predictions hidden while inputs are missing.

Kept apart from the parser so the dashboard and the store code can use it without loading
the FHIR models.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from models.clinical.eligibility import REQUIRED_INPUTS
from models.clinical.session_alerts import SUICIDE_RISK, item9_alert, suicide_risk_message
from models.contract import schema
from models.contract.doses import complete_doses

log = logging.getLogger(__name__)
ENTERED = "entered by clinician"


@dataclass
class ImportResult:
    """One imported patient: schema-keyed values and what could not be read.

    ``missing`` lists every schema feature that was not found (nothing is guessed or
    defaulted); ``evidence`` maps each found feature to the resources it came from (the
    basis of an exported RiskAssessment); ``ignored`` counts skipped resource types.
    """

    patient: dict[str, Any]
    found: list[str]
    missing: list[str]
    warnings: list[str]
    source_ids: list[str]
    name: str | None = None
    fhir_patient_id: str | None = None
    evidence: dict[str, list[str]] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)
    reference_date: date | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. phq9_item9: read, not features
    identifiers: list[str] = field(default_factory=list)  # Patient.identifier "system|value"
    # Dosing sessions read from session Encounters (``interop.fhir.importer.sessions``).
    sessions: list[dict[str, Any]] = field(default_factory=list)
    # Follow-up visits read from follow-up Encounters (``interop.fhir.importer.followup_visits``).
    followup: list[dict[str, Any]] = field(default_factory=list)
    # Codes met that map to no model input: file, resource_type, system, code, display,
    # count (``interop.fhir.importer.coverage``); and per resource type, records mapped or not.
    unmapped: list[dict[str, Any]] = field(default_factory=list)
    coded: dict[str, dict[str, int]] = field(default_factory=dict)
    origin: str | None = None  # where fhir_patient_id is valid (meta.source, server, input)
    deceased: str | None = None  # deceasedDateTime, or "yes": never a treatment candidate

    @property
    def basis_observations(self) -> list[str]:
        """References of the Observations behind the found values (for the export)."""
        refs = [r for refs in self.evidence.values() for r in refs
                if r.startswith("Observation/")]
        return list(dict.fromkeys(refs))


MAX_IDENTIFIERS = 20
MAX_IDENTIFIER_LENGTH = 256


def patient_identifiers(resource: Mapping[str, Any] | None) -> list[str]:
    """A Patient's identifiers as ``system|value`` strings (what re-imports match on).

    Values without a system are kept as ``|value``; control characters are dropped and
    overlong entries cut, so a hostile upload cannot bloat or garble the store.
    """
    if not resource or not isinstance(resource.get("identifier"), list):
        return []
    out: list[str] = []
    for item in resource["identifier"][:MAX_IDENTIFIERS]:
        if not isinstance(item, Mapping) or not item.get("value"):
            continue
        text = f"{item.get('system') or ''}|{item['value']}"
        text = "".join(ch for ch in text if ch.isprintable())[:MAX_IDENTIFIER_LENGTH]
        if text not in out:
            out.append(text)
    return out


def blocking_fields(result: ImportResult) -> list[str]:
    """Missing model inputs: no prediction may be shown until these are filled in."""
    needed = set(schema.model_feature_names())
    return [n for n in result.missing if n in needed]


def screen_blocking_fields(result: ImportResult) -> list[str]:
    """Missing inputs of the eligibility screen (it refuses to run without them)."""
    return [n for n in result.missing if n in REQUIRED_INPUTS]


def can_predict(result: ImportResult) -> bool:
    """True only when every model input was found (or has since been filled in)."""
    return not blocking_fields(result)


def can_screen(result: ImportResult) -> bool:
    """True only when every eligibility-screen input is present."""
    return not screen_blocking_fields(result)


def complete(result: ImportResult, values: Mapping[str, Any]) -> ImportResult:
    """A copy of ``result`` with values the clinician entered (gaps filled, or imported
    values corrected); their evidence reads ``entered by clinician``. None is ignored."""
    entered = {k: v for k, v in values.items() if v is not None}
    unknown = sorted(set(entered) - set(schema.feature_names()))
    if unknown:
        raise ValueError(f"unknown feature(s): {', '.join(unknown)}")
    changed = [k for k, v in entered.items() if k in result.patient and result.patient[k] != v]
    if changed:
        log.info("clinician changed imported value(s): %s", ", ".join(changed))
    patient = complete_doses({**result.patient, **entered})
    names = schema.feature_names()
    evidence = {**result.evidence, **{k: [ENTERED] for k in entered
                                      if k not in result.patient or k in changed}}
    found = [n for n in names if n in patient and n in evidence]  # not the emptied dose unit
    return replace(result, patient={n: patient[n] for n in names if n in patient},
                   found=found, missing=[n for n in names if n not in patient],
                   evidence={n: evidence[n] for n in found})


def item9_text(result: ImportResult) -> str | None:
    """``3 (QuestionnaireResponse/x, 2023-10-01)``: the newest PHQ-9 item 9 answer read."""
    if result.extras.get("phq9_item9") is None:
        return None
    when = result.extras.get("phq9_item9_at")
    return (f"{result.extras['phq9_item9']} ({result.extras.get('phq9_item9_ref', '?')}, "
            f"{when.date().isoformat() if when else 'undated'})")


def suicide_alert(result: ImportResult) -> str | None:
    """The suicide-risk alert of an import whose newest PHQ-9 item 9 answer is > 0: the same
    rule and wording as a session's (``models.clinical.session_alerts``)."""
    item9 = result.extras.get("phq9_item9")
    if not item9_alert(item9):
        return None
    when = result.extras.get("phq9_item9_at")
    return (f"{SUICIDE_RISK}: {suicide_risk_message(item9)}; answered "
            f"{when.date().isoformat() if when else 'on an unknown date'} in "
            f"{result.extras.get('phq9_item9_ref', 'the import')}")
