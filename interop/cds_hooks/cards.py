"""CDS Hooks mapping, with no web framework: discovery, prefetch -> patient, patient -> cards.

Cards (CDS Hooks 2.0 card shape): the eligibility screen with its reasons; the predicted
benefit and the side-effect risks of the registry's current model, each saying the model
version and that it is a synthetic-data model giving decision support, not a decision; the
inputs that are missing when the screen or the models cannot run (never filled in); and a
link card to the dashboard. ``gate`` chooses the outcomes whose numbers are shown; the
service passes the per-outcome quality gate of the model card (``models.clinical.quality_gate``),
and
an outcome it holds back is named in the card's detail as not ranking patients reliably,
with no number. FHIR text is never copied into a card: cards hold our own labels,
numbers and the patient id (a validated FHIR id).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from interop.cds_hooks.safety_cards import safety_cards, stale_inputs, stale_text
from models.clinical.eligibility import REQUIRED_INPUTS as SCREEN_INPUTS
from models.clinical.eligibility import EligibilityResult, screen
from models.clinical.quality_gate import UNRELIABLE
from models.contract import schema

log = logging.getLogger(__name__)

SERVICE_ID = "kapcds-patient-view"
DISCLAIMER = "synthetic-data model — decision support, not a decision"
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_LOINC = "http://loinc.org|"
OBSERVATION_CODES = ("44261-6", "44249-1", "44260-8", "70274-6", "69737-5", "85354-9", "55284-4",
                     "8480-6", "8462-4", "8867-4", "39156-5", "29463-7", "8302-2", "82810-3")
PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}&code="
                    + ",".join(_LOINC + c for c in OBSERVATION_CODES),
    "conditions": "Condition?patient={{context.patientId}}",
    # Every status: stopped prescriptions are the antidepressant-trial history (issue 25);
    # the importer itself tells current from past.
    "medications": "MedicationRequest?patient={{context.patientId}}"
                   "&_include=MedicationRequest:medication",
    "questionnaires": "QuestionnaireResponse?patient={{context.patientId}}&status=completed",
}
Gate = Callable[[str], bool]


def show_every_outcome(outcome: str) -> bool:
    """The default gate: every outcome of the model set is shown."""
    return True


def discovery() -> dict[str, Any]:
    """The ``GET /cds-services`` document: patient-view, and the two order hooks that check
    a ketamine or esketamine order as it is written (issue 26)."""
    usage = "The EHR signs each call with a JWT from a trusted issuer."
    services = [{
        "hook": "patient-view", "id": SERVICE_ID, "title": "KAP-CDS ketamine-assisted therapy",
        "description": "Eligibility screen, predicted response and side-effect risks for "
                       f"ketamine-assisted psychotherapy ({DISCLAIMER}).",
        "prefetch": dict(PREFETCH), "usageRequirements": usage}]
    for hook, title in (("order-select", "KAP-CDS ketamine order check (selected)"),
                        ("order-sign", "KAP-CDS ketamine order check (before signing)")):
        services.append({
            "hook": hook, "id": f"kapcds-{hook}", "title": title,
            "description": "For a ketamine or esketamine order: the eligibility screen, the "
                           "risks for the ordered route and dose, alerts, and a critical card "
                           f"to remove the order when an exclusion applies ({DISCLAIMER}).",
            "prefetch": dict(PREFETCH), "usageRequirements": usage})
    return {"services": services}


def prefetch_resources(value: Any, key: str) -> list[dict[str, Any]]:
    """The resources of one prefetch value (a resource, or a searchset Bundle)."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise ValueError(f"prefetch.{key} must be a FHIR resource or Bundle (JSON object)")
    if value.get("resourceType") == "Bundle":
        return [e["resource"] for e in value.get("entry") or []
                if isinstance(e, dict) and isinstance(e.get("resource"), dict)
                and (e.get("search") or {}).get("mode") != "outcome"]
    return [value]


def incomplete_notes(value: Any, key: str) -> list[str]:
    """Why a prefetch value or fetched result is incomplete: ``incomplete`` outcome
    entries, or a searchset that still has a ``next`` page nobody read."""
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        return []
    notes = [str(issue.get("diagnostics") or f"{key}: incomplete")[:300]
             for e in value.get("entry") or [] if isinstance(e, dict)
             and (e.get("search") or {}).get("mode") == "outcome"
             for issue in (e.get("resource") or {}).get("issue") or []
             if isinstance(issue, dict) and issue.get("code") == "incomplete"]
    if any(isinstance(link, dict) and link.get("relation") == "next"
           for link in value.get("link") or []):
        notes.append(f"{key}: only the first page was sent (the Bundle has a next link)")
    return notes


@dataclass
class PatientData:
    """What the cards are built from: values by source and what is still missing."""

    fhir_id: str
    features: dict[str, Any]
    missing: list[str]
    kap_id: str | None = None
    from_store: list[str] = field(default_factory=list)
    warnings: int = 0
    item9: int | None = None  # PHQ-9 item 9 read from the EHR's data (any source)
    item9_at: datetime | None = None
    observed: dict[str, datetime | None] = field(default_factory=dict)  # FHIR inputs' dates
    alerts: list[Any] = field(default_factory=list)  # stored latest-session alerts
    today: date = field(default_factory=date.today)
    kap_id_shown: bool = True  # False: a stored record from a file; its id stays here
    incomplete: list[str] = field(default_factory=list)  # results cut short, named on a card


@dataclass(frozen=True)
class ModelInfo:
    """The registry's current model set, its version id and its model card."""

    model_set: Any
    version: str
    card: Mapping[str, Any] | None = None


def _labels(names: list[str]) -> str:
    return ", ".join(schema.feature(n).label for n in names)


def _footer(version: str | None) -> str:
    model = f"Model {version}" if version else "No model"
    return f"\n\n*{model} · {DISCLAIMER}.*"


def card(summary: str, detail: str, indicator: str, version: str | None,
         links: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """One CDS Hooks card with our source, the model version and the disclaimer."""
    out: dict[str, Any] = {
        "uuid": str(uuid.uuid4()), "summary": summary[:139],
        "detail": detail + _footer(version), "indicator": indicator,
        "source": {"label": f"KAP-CDS ({DISCLAIMER})"}}
    if links:
        out["links"] = links
    return out


def eligibility_card(data: PatientData, version: str | None) -> dict[str, Any]:
    """The screen's status with every finding, or the inputs it still needs."""
    need = [n for n in data.missing if n in SCREEN_INPUTS]
    if need:
        return card(f"KAP eligibility not screened: {len(need)} input(s) missing",
                    f"The eligibility screen needs: {_labels(need)}.", "info", version)
    result: EligibilityResult = screen(data.features)
    lines = [f"- **{f.kind}**: {f.label} ({f.reason})"
             for f in result.exclusions + result.cautions + result.indications]
    indicator = {"not_eligible": "critical", "eligible_with_cautions": "warning"}.get(
        result.status, "info")
    title = result.status.replace("_", " ")
    return card(f"KAP eligibility: {title}", result.summary + "\n\n" + "\n".join(lines)
                + _stale_note(data), indicator, version)


def _stale_note(data: PatientData) -> str:
    """Old inputs named where they are used (never used silently)."""
    stale = stale_inputs(data.observed, data.today)
    return f"\n\nOld inputs used: {stale_text(stale)}." if stale else ""


def _probabilities(model: ModelInfo, features: Mapping[str, Any],
                   complete_screen: bool) -> dict[str, float]:
    frame = pd.DataFrame([dict(features)])
    if complete_screen:
        from models.inference.predict import predict_frame

        out = predict_frame(model.model_set, frame)
        return {o: float(out[f"{o}_probability"].iloc[0]) for o in model.model_set.outcomes}
    proba = model.model_set.predict_proba(frame)
    return {o: float(proba[o].iloc[0]) for o in model.model_set.outcomes}


def prediction_cards(data: PatientData, model: ModelInfo | None,
                     gate: Gate = show_every_outcome) -> list[dict[str, Any]]:
    """Benefit and side-effect cards, or one card naming the missing model inputs."""
    if model is None:
        return [card("No KAP prediction: no model is registered", "Train and promote a "
                     "model (`kapcds train --promote`).", "info", None)]
    need = [n for n in schema.model_feature_names() if n in data.missing]
    if need:
        return [card(f"No KAP prediction: {len(need)} model input(s) missing",
                     f"Predictions are shown only when every model input is known; missing: "
                     f"{_labels(need)}. Enter them in KAP-CDS.", "info", model.version)]
    screenable = not any(n in data.missing for n in SCREEN_INPUTS)
    probs = _probabilities(model, data.features, screenable)
    shown = [o for o in model.model_set.outcomes if gate(o)]
    cards = []
    for kind, title in (("benefit", "Predicted benefit"), ("risk", "Side-effect risks")):
        names = [o for o in shown if schema.outcome(o).kind == kind]
        held = [o for o in model.model_set.outcomes
                if o not in shown and schema.outcome(o).kind == kind]
        if not names and not held:
            continue
        parts = [f"{schema.outcome(o).short or schema.outcome(o).label} {probs[o]:.0%}"
                 for o in names] or ["not shown"]
        lines = [f"- **{schema.outcome(o).label}**: {probs[o]:.0%} — "
                 f"{schema.outcome(o).definition}" for o in names]
        lines += [f"- **{schema.outcome(o).label}**: not shown — {UNRELIABLE}." for o in held]
        detail = "\n".join(lines)
        if data.from_store:
            detail += f"\n\nValues from the KAP-CDS record: {_labels(data.from_store)}."
        detail += _stale_note(data)
        cards.append(card(f"{title}: " + ", ".join(parts), detail, "info", model.version))
    return cards


# Issue 28: the ONC HTI-1 source attributes of the model behind the cards (FDA CDS criterion
# 4: the clinician can review the basis); the candidate review opens its panel for this query.
SOURCE_ATTRIBUTES = "show=source_attributes"
SOURCE_ATTRIBUTES_LABEL = "Source attributes of the model (ONC HTI-1)"


def link_card(data: PatientData, dashboard_url: str, version: str | None) -> dict[str, Any]:
    """A card with SMART links to the dashboard (issue 26): the EHR launches KAP-CDS with its
    own patient context (``iss`` + ``launch``), so no patient id travels in the URL (issue
    24: a file record's KAP id is never revealed) and the clinician needs no password."""
    url = f"{dashboard_url}/"  # the dashboard's SMART launch URL
    if data.kap_id and not data.kap_id_shown:
        known = (" (a KAP-CDS record imported from a file has this FHIR id; KAP-CDS opens "
                 "the patient the EHR launches)")
    else:
        known = "" if data.kap_id else " (not yet in KAP-CDS: the launch imports it from the EHR)"
    return card("Open the KAP-CDS candidate review", f"Explanations, uncertainty and what-if "
                f"for this patient{known}.", "info", version,
                links=[{"label": "KAP-CDS candidate review", "url": url, "type": "smart"},
                       {"label": SOURCE_ATTRIBUTES_LABEL, "url": url, "type": "smart",
                        "appContext": SOURCE_ATTRIBUTES}])


def build_cards(data: PatientData, model: ModelInfo | None, dashboard_url: str,
                gate: Gate = show_every_outcome) -> list[dict[str, Any]]:
    """Every card for one patient-view call."""
    version = model.version if model else None
    warning = [card("KAP-CDS read incomplete EHR data: values may be missing",
                    "The EHR's FHIR data was cut short, so a diagnosis, medication or "
                    "measurement may not have been read (an exclusion can be among them):\n"
                    + "\n".join(f"- {note}" for note in data.incomplete)
                    + "\n\nReview the full record before relying on these cards.",
                    "warning", version)] if data.incomplete else []
    safety = safety_cards(data.item9, data.item9_at, data.alerts, data.observed, data.today,
                          version, card)
    return [*warning, *safety, eligibility_card(data, version),
            *prediction_cards(data, model, gate), link_card(data, dashboard_url, version)]
