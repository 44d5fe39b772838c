"""CDS Hooks card mapping (no HTTP): eligibility, predictions, missing inputs, gate, link."""

from __future__ import annotations

import pandas as pd
import pytest
from cds_support import prefetch_for, validate
from gate_support import GATED, KEPT, uninformative

from interop.cds_hooks.cards import (
    DISCLAIMER,
    ModelInfo,
    PatientData,
    build_cards,
    discovery,
    prefetch_resources,
)
from interop.cds_hooks.service import patient_data
from models.clinical.quality_gate import UNRELIABLE, gate_for
from models.contract import schema

VERSION = "20250601T000000Z-test00"


@pytest.fixture(scope="module")
def model(trained):
    return ModelInfo(trained[0], VERSION)


@pytest.fixture(scope="module")
def complete(cohort):
    row = cohort[0].iloc[7]
    features = {n: row[n].item() if hasattr(row[n], "item") else row[n]
                for n in schema.feature_names()}
    return PatientData("pat-7", features, [], kap_id="KAP-00008")


def test_discovery_is_valid_and_prefetches_what_the_cards_need():
    doc = discovery()
    validate(doc, "discovery")
    prefetch = doc["services"][0]["prefetch"]
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    for code in ("44261-6", "44249-1", "70274-6", "8480-6", "8867-4", "39156-5"):
        assert code in prefetch["observations"]
    assert {"conditions", "medications"} <= prefetch.keys()


def test_a_complete_patient_gets_eligibility_predictions_and_a_link(model, complete):
    cards = build_cards(complete, model, "https://kap.example")
    validate({"cards": cards}, "response")
    summaries = [c["summary"] for c in cards]
    assert summaries[0].startswith("KAP eligibility: ")
    assert summaries[1].startswith("Predicted benefit: response ")
    assert summaries[2].startswith("Side-effect risks: dissociation ")
    probs = model.model_set.predict_proba(pd.DataFrame([complete.features]))
    assert f"response {probs['response'].iloc[0]:.0%}" in summaries[1]
    for c in cards:
        assert VERSION in c["detail"] and DISCLAIMER in c["detail"]
    assert cards[-1]["links"] == [{"label": "KAP-CDS candidate review", "type": "smart",
                                   "url": "https://kap.example/"},
                                  {"label": "Source attributes of the model (ONC HTI-1)",
                                   "type": "smart", "url": "https://kap.example/",
                                   "appContext": "show=source_attributes"}]


def test_the_gate_filters_outcomes(model, complete):
    cards = build_cards(complete, model, "https://kap.example",
                        gate=lambda o: o in ("response", "nausea_vomiting"))
    text = " ".join(c["summary"] for c in cards)
    assert "response" in text and "nausea/vomiting" in text
    assert "remission" not in text and "dissociation" not in text


def test_the_quality_gate_names_what_it_holds_back(complete):
    model_set, card, _ = uninformative()
    model = ModelInfo(model_set, VERSION, card)
    cards = build_cards(complete, model, "https://kap.example", gate=gate_for(card))
    validate({"cards": cards}, "response")
    gated, kept = schema.outcome(GATED), schema.outcome(KEPT)
    risks = next(c for c in cards if c["summary"].startswith("Side-effect risks"))
    assert (gated.short or gated.label) not in risks["summary"]
    assert f"**{gated.label}**: not shown — {UNRELIABLE}." in risks["detail"]
    benefit = next(c for c in cards if c["summary"].startswith("Predicted benefit"))
    p = model_set.predict_proba(pd.DataFrame([complete.features]))[KEPT].iloc[0]
    assert f"{kept.short or kept.label} {p:.0%}" in benefit["summary"]


def test_missing_inputs_mean_no_prediction_and_say_what_is_missing(model):
    resources = [r for v in prefetch_for("p-9").values() for r in prefetch_resources(v, "x")]
    data = patient_data(resources, "p-9", engine=None)
    assert data.features["phq9_baseline"] == 19 and "route" in data.missing
    cards = build_cards(data, model, "https://kap.example")
    validate({"cards": cards}, "response")
    (blocked,) = [c for c in cards if c["summary"].startswith("No KAP prediction")]
    assert schema.feature("route").label in blocked["detail"]
    assert not any("%" in c["summary"] for c in cards)
    # safety cards (stale inputs, issue 23) come first; then the screen, which could not run
    screen = next(c for c in cards if c["summary"].startswith("KAP eligibility"))
    assert screen["summary"].startswith("KAP eligibility not screened")
    assert cards[-1]["links"][0]["type"] == "smart"  # the EHR launches with patient p-9
    assert "the launch imports it from the EHR" in cards[-1]["detail"]


def test_no_model_registered_is_said(complete):
    cards = build_cards(complete, None, "https://kap.example")
    validate({"cards": cards}, "response")
    assert any("no model is registered" in c["summary"] for c in cards)


def test_an_excluded_patient_is_critical(model, complete):
    excluded = PatientData("x", {**complete.features, "psychosis_history": True}, [])
    card = build_cards(excluded, model, "https://kap.example")[0]
    assert card["indicator"] == "critical" and "not eligible" in card["summary"]
    assert "psychosis" in card["detail"].lower()


def test_the_schema_rejects_a_malformed_card():
    with pytest.raises(Exception, match="indicator"):
        validate({"cards": [{"summary": "x", "indicator": "loud", "source": {"label": "s"}}]},
                 "response")
    with pytest.raises(Exception, match="too long"):
        validate({"cards": [{"summary": "x" * 200, "indicator": "info",
                             "source": {"label": "s"}}]}, "response")
