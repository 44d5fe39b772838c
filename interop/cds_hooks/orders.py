"""CDS Hooks ``order-select`` and ``order-sign``: the moment ketamine or esketamine is ordered.

A draft MedicationRequest is recognised through the import's medication terminology
(``interop.fhir.importer.medications.drugs_named``: RxNorm ingredient and products, ATC, names
and brands). The ordered route and dose replace the patient's planned ones, so the screen and
the risks shown are those of *this* order; a dose that cannot be expressed in the schema's
unit is left missing and said so, never guessed. An exclusion gives a ``critical`` card with a
suggestion to delete the draft order and the reasons a clinician may give to override it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from interop.cds_hooks.cards import (
    SERVICE_ID,
    Gate,
    ModelInfo,
    PatientData,
    build_cards,
    card,
    prefetch_resources,
    show_every_outcome,
)
from interop.fhir.importer.medications import drugs_named
from models.clinical.eligibility import known_exclusions
from models.contract.doses import dose_allowed_text, dose_feature_for, dose_text
from models.contract.schema import DOSE_FEATURES, ESKETAMINE_DOSES_MG, ESKETAMINE_ROUTE

ORDER_HOOKS = {"order-select": "kapcds-order-select", "order-sign": "kapcds-order-sign"}
SERVICES = {"patient-view": SERVICE_ID, **ORDER_HOOKS}  # hook -> service id
KETAMINE_CLASS = "ketamine"
SNOMED = "http://snomed.info/sct"
# SNOMED CT route of administration (the FHIR R4 example value set) -> the schema's route.
ROUTE_CODES = {"47625008": "iv", "78421000": "im", "46713006": "intranasal_esketamine",
               "26643006": "oral_sublingual", "37839007": "oral_sublingual"}
ROUTE_WORDS = (("intraven", "iv"), ("intramusc", "im"), ("nasal", "intranasal_esketamine"),
               ("sublingual", "oral_sublingual"), ("oral", "oral_sublingual"))
WEIGHT_LOINC = "29463-7"
POUND_KG = 0.45359237
OVERRIDE_SYSTEM = "https://kapcds.example/fhir/CodeSystem/order-override"
OVERRIDE_REASONS = (
    ("benefit-outweighs-risk", "Benefit outweighs the risk; discussed with the patient"),
    ("exclusion-resolved", "The exclusion no longer applies (record not yet updated)"),
    ("specialist-approved", "Approved by the specialist team"),
    ("data-incorrect", "The data behind this card is wrong"),
)


@dataclass(frozen=True)
class KetamineOrder:
    """One draft order for ketamine or esketamine, as far as the order says."""

    reference: str  # "MedicationRequest/<id>"
    drug: str
    route: str | None
    dose_mg_per_kg: float | None  # ketamine routes
    notes: tuple[str, ...] = field(default_factory=tuple)
    esketamine_dose_mg: float | None = None  # intranasal esketamine: mg, never per kg

    @property
    def dose_known(self) -> bool:
        """Whether the order gives a usable dose in its route's unit."""
        if self.route == ESKETAMINE_ROUTE:
            return self.esketamine_dose_mg is not None
        return self.dose_mg_per_kg is not None

    @property
    def dose_text(self) -> str:
        """The usable dose in its route's unit, or "not usable"."""
        if not self.dose_known:
            return "not usable"
        return dose_text(self.route, self.dose_mg_per_kg, self.esketamine_dose_mg)


def _route(request: dict[str, Any], drug: str) -> str | None:
    dosage = (request.get("dosageInstruction") or [{}])[0] or {}
    route = dosage.get("route") or {}
    for coding in route.get("coding") or []:
        if coding.get("system") == SNOMED and str(coding.get("code")) in ROUTE_CODES:
            return ROUTE_CODES[str(coding["code"])]
    words = " ".join([str(route.get("text") or "")]
                     + [str(c.get("display") or "") for c in route.get("coding") or []]).lower()
    for stem, code in ROUTE_WORDS:
        if stem in words:
            return code
    return "intranasal_esketamine" if drug == "esketamine" else None


def _quantity(request: dict[str, Any]) -> tuple[object, str]:
    dosage = (request.get("dosageInstruction") or [{}])[0] or {}
    rate = (dosage.get("doseAndRate") or [{}])[0] or {}
    quantity = rate.get("doseQuantity") or {}
    return quantity.get("value"), str(quantity.get("code") or quantity.get("unit") or "")


def _dose(request: dict[str, Any], route: str | None, weight_kg: float | None
          ) -> tuple[dict[str, float | None], str | None]:
    """Both dose fields of one order (the route's unit set, the other None) and a note.

    Intranasal esketamine is ordered in mg and kept in mg (28/56/84; no weight needed); a
    per-kg esketamine order is refused. Ketamine mg/kg is kept; ketamine mg needs the
    patient's weight (the conversion is said in a note) or is refused.
    """
    none: dict[str, float | None] = {"dose_mg_per_kg": None, "esketamine_dose_mg": None}
    value, unit = _quantity(request)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        return none, "the order gives no dose"
    per_kg = unit.replace(" ", "").lower() in ("mg/kg", "mg/kg{dose}")
    if not per_kg and unit.lower() != "mg":
        return none, f"dose unit {unit[:20]!r} is not mg or mg/kg"
    if route == ESKETAMINE_ROUTE:
        if per_kg:
            return none, (f"{value:g} mg/kg: intranasal esketamine is dosed in mg "
                          f"({dose_allowed_text(route)}), not mg/kg")
        if float(value) not in ESKETAMINE_DOSES_MG:
            return none, f"{value:g} mg is not an esketamine dose ({dose_allowed_text(route)})"
        return {**none, "esketamine_dose_mg": float(value)}, None
    if per_kg:
        return {**none, "dose_mg_per_kg": float(value)}, None
    if weight_kg:
        return ({**none, "dose_mg_per_kg": float(value) / weight_kg},
                f"{value:g} mg at {weight_kg:.1f} kg")
    return none, f"{value:g} mg cannot be expressed per kg: no body weight is recorded"


def body_weight_kg(resources: list[dict[str, Any]]) -> float | None:
    """The latest body weight (LOINC 29463-7) in kg from the prefetched Observations."""
    found = []
    for res in resources:
        if res.get("resourceType") != "Observation":
            continue
        codes = {str(c.get("code")) for c in (res.get("code") or {}).get("coding") or []}
        quantity = res.get("valueQuantity") or {}
        value = quantity.get("value")
        if WEIGHT_LOINC not in codes or not isinstance(value, (int, float)):
            continue
        unit = str(quantity.get("code") or quantity.get("unit") or "").lower()
        kg = value if unit == "kg" else value * POUND_KG if unit in ("[lb_av]", "lb", "lbs") \
            else None
        if kg:
            found.append((str(res.get("effectiveDateTime") or ""), float(kg)))
    return max(found)[1] if found else None


def ketamine_orders(context: dict[str, Any], resources: list[dict[str, Any]]
                    ) -> list[KetamineOrder]:
    """Every draft ketamine/esketamine MedicationRequest in ``context.draftOrders``."""
    drafts = prefetch_resources(context.get("draftOrders"), "context.draftOrders")
    weight = body_weight_kg(resources)
    out = []
    for request in drafts:
        if request.get("resourceType") != "MedicationRequest":
            continue
        concept = request.get("medicationCodeableConcept") or {}
        drugs = [d for d in drugs_named(concept) if d.drug_class == KETAMINE_CLASS]
        if not drugs:
            continue
        drug = drugs[0].name
        route = _route(request, drug)
        dose, note = _dose(request, route, weight)
        out.append(KetamineOrder(f"MedicationRequest/{str(request.get('id') or '')[:64]}",
                                 drug, route, dose["dose_mg_per_kg"], (note,) if note else (),
                                 dose["esketamine_dose_mg"]))
    return out


def _with_order(data: PatientData, order: KetamineOrder) -> PatientData:
    """The patient as ordered: the order's route and dose instead of the planned ones."""
    features = dict(data.features)
    missing = [m for m in data.missing if m not in ("route", *DOSE_FEATURES)]
    features.pop("route", None)
    if order.route is None:
        missing.append("route")
    else:
        features["route"] = order.route
    unit = dose_feature_for(order.route)
    for name, value in (("dose_mg_per_kg", order.dose_mg_per_kg),
                        ("esketamine_dose_mg", order.esketamine_dose_mg)):
        features[name] = value  # the other route's unit stays empty (None), not missing
    if not order.dose_known:
        features.pop(unit, None)
        missing.append(unit)
    return replace(data, features=features, missing=missing)


def _delete_card(order: KetamineOrder, exclusions: list[Any], version: str | None
                 ) -> dict[str, Any]:
    reasons = "\n".join(f"- {f.label} ({f.reason})" for f in exclusions)
    out = card(f"Ketamine order for a patient with an exclusion: "
               f"{', '.join(f.label for f in exclusions)}",
               f"The draft {order.drug} order ({order.reference}) meets an exclusion of the "
               f"eligibility screen:\n{reasons}\n\nRemove the order, or record why it stands.",
               "critical", version)
    out["suggestions"] = [{
        "label": f"Remove the draft {order.drug} order", "uuid": str(uuid.uuid4()),
        "isRecommended": True,
        "actions": [{"type": "delete", "description": f"Remove {order.reference}",
                     "resourceId": order.reference}]}]
    out["selectionBehavior"] = "at-most-one"
    out["overrideReasons"] = [{"code": code, "system": OVERRIDE_SYSTEM, "display": display}
                              for code, display in OVERRIDE_REASONS]
    return out


def _order_note(order: KetamineOrder, version: str | None) -> dict[str, Any]:
    route = order.route.replace("_", " ") if order.route else "not stated"
    dose = order.dose_text
    notes = "".join(f"\n- {n}" for n in order.notes)
    return card(f"Ketamine order checked: {order.drug}, {route}, {dose}",
                f"The screen and the risks below are for this order ({order.reference}): "
                f"route {route}, dose {dose}.{notes}",
                "warning" if not order.dose_known or order.route is None else "info",
                version)


def order_cards(data: PatientData, orders: list[KetamineOrder], model: ModelInfo | None,
                dashboard_url: str, gate: Gate = show_every_outcome) -> list[dict[str, Any]]:
    """Cards for each ketamine order; none when the draft orders hold no ketamine."""
    version = model.version if model else None
    cards: list[dict[str, Any]] = []
    for order in orders:
        ordered = _with_order(data, order)
        cards.append(_order_note(order, version))
        if exclusions := known_exclusions(ordered.features):
            cards.append(_delete_card(order, exclusions, version))
        cards.extend(build_cards(ordered, model, dashboard_url, gate))
    return cards


def hook_cards(hook: str, body: dict[str, Any], data: PatientData,
               resources: list[dict[str, Any]], model: ModelInfo | None,
               dashboard_url: str, gate: Gate = show_every_outcome) -> list[dict[str, Any]]:
    """The cards of one hook call: every card for ``patient-view``; for an order hook, the
    cards of each ketamine/esketamine draft order (none when no such order is drafted)."""
    if hook == "patient-view":
        return build_cards(data, model, dashboard_url, gate)
    context = body.get("context") or {}
    if not isinstance(context.get("draftOrders"), dict):
        raise ValueError("context.draftOrders must be a FHIR Bundle of the draft orders")
    return order_cards(data, ketamine_orders(context, resources), model, dashboard_url, gate)
