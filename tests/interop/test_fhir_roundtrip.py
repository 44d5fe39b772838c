"""Round trip: FHIR import -> gaps filled -> predict -> FHIR export (validated) -> re-import."""

from __future__ import annotations

import pandas as pd
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir_builders import (
    COMPLETIONS,
    REF_DATE,
    bundle,
    dosage,
    full_record,
    med_concept,
    med_statement,
    unrelated,
)

from interop.fhir.exporter.bundle import export_assessment
from interop.fhir.importer.patient import (
    blocking_fields,
    can_predict,
    complete,
    import_bundle,
    import_into_store,
)
from models.clinical.eligibility import screen
from models.contract import schema
from records import repository


@pytest.fixture
def imported():
    resources = full_record() + unrelated() + [
        med_statement("benzo", med_concept("lorazepam 1 MG Oral Tablet"),
                      [dosage(1, "{tbl}", 1)])]
    return import_bundle(bundle(resources, "transaction"), reference_date=REF_DATE)


def test_gate_opens_only_when_every_model_input_is_filled(imported):
    assert not can_predict(imported)
    partly = complete(imported, {"route": "iv", "dose_mg_per_kg": 0.5})
    assert not can_predict(partly) and "route" not in blocking_fields(partly)
    filled = complete(imported, {k: v for k, v in COMPLETIONS.items()
                                 if k not in imported.patient})
    assert can_predict(filled) and filled.missing == []
    assert filled.evidence["route"] == ["entered by clinician"]
    assert filled.evidence["phq9_baseline"] == ["Observation/phq9"]


def test_import_predict_export_round_trip(trained, imported, db):
    model_set, card = trained
    gaps = {k: v for k, v in COMPLETIONS.items() if k not in imported.patient}
    filled = complete(imported, gaps)
    stored = import_into_store(db, imported, completions=gaps)
    row = {schema.ID_COLUMN: stored.patient_id, schema.NAME_COLUMN: stored.name,
           **repository.get_patient(db, stored.patient_id).features()}
    assert row["benzo_dose_mg"] == pytest.approx(10.0) and row == {**row, **filled.patient}
    proba = model_set.predict_proba(pd.DataFrame([row])).iloc[0]
    predictions = {name: float(proba[name]) for name in model_set.outcomes}
    bundle_out = export_assessment(row, predictions, screen(row), card["version"],
                                   filled.basis_observations)
    get_fhir_model_class("Bundle").model_validate(bundle_out)
    risks = [e["resource"] for e in bundle_out["entry"]
             if e["resource"]["resourceType"] == "RiskAssessment"]
    assert len(risks) == len(schema.OUTCOMES)
    basis = {b["reference"] for b in risks[0]["basis"]}
    assert basis == {"Observation/phq9", "Observation/gad7", "Observation/bp", "Observation/hr",
                     "Observation/bmi"}
    for risk in risks:
        name = risk["prediction"][0]["outcome"]["coding"][0]["code"]
        assert risk["prediction"][0]["probabilityDecimal"] == pytest.approx(predictions[name],
                                                                            abs=1e-6)
        assert card["version"] in risk["method"]["text"]


def test_exported_screening_values_import_back(trained, imported):
    model_set, card = trained
    row = {schema.ID_COLUMN: "KAP-00099", schema.NAME_COLUMN: "Alex Synthetic",
           **complete(imported, {k: v for k, v in COMPLETIONS.items()
                                  if k not in imported.patient}).patient}
    predictions = model_set.predict_proba(pd.DataFrame([row])).iloc[0].to_dict()
    out = export_assessment(row, predictions, screen(row), card["version"])
    back = import_bundle(out, reference_date=REF_DATE)
    for name in ("sex", "bmi", "phq9_baseline", "gad7_baseline", "systolic_bp",
                 "diastolic_bp", "heart_rate"):
        assert back.patient[name] == row[name]
