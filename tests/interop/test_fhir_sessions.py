"""Session-level FHIR export: Encounters + LOINC Observations that import back whole."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from fhir.resources.R4B import get_fhir_model_class

from interop.fhir import session_codes as vocab
from interop.fhir.exporter.patient import patient_bundle
from interop.fhir.importer.patient import import_bundle
from interop.fhir.importer.store import store_import
from models.clinical.session_monitoring import MONITORING_COLUMNS
from models.contract import schema
from records import make_engine, session_factory, upgrade
from records.followup.frames import visits_frame
from records.followup.record import add_visit
from records.frames import sessions_frame
from records.imports.bulk import import_patients_and_sessions
from records.repository import get_patient
from records.tables.clinical import TreatmentSession

START = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
COMPARED = [f.name for f in schema.SESSION_FIELDS if f.name != schema.ID_COLUMN]
COMPARED += list(MONITORING_COLUMNS)  # the REMS-style record travels too


@pytest.fixture
def stored(db, cohort):
    """Two sample patients with their sessions; one has dates and notes, one has neither."""
    patients, sessions = cohort
    chosen = [pid for pid in patients[schema.ID_COLUMN]
              if (sessions[schema.ID_COLUMN] == pid).sum() >= 3][:2]
    frame = patients[patients[schema.ID_COLUMN].isin(chosen)].copy()
    frame[schema.NAME_COLUMN] = ["Ada Example", "Ben Example"]
    import_patients_and_sessions(db, frame[[schema.ID_COLUMN, schema.NAME_COLUMN,
                                            *schema.feature_names()]],
                                 sessions[sessions[schema.ID_COLUMN].isin(chosen)])
    records = db.query(TreatmentSession).join(TreatmentSession.patient).filter_by(
        patient_id=chosen[0]).order_by(TreatmentSession.session_number).all()
    for record in records:
        record.session_at = START + timedelta(days=int(record.day))
    records[0].notes = "felt *floaty*; <b>calm</b> by 40 min"
    last = records[-1]  # one full monitoring record (the others stay "not recorded")
    dosed = START + timedelta(days=int(last.day), hours=1)
    for name, value in {"sbp_discharge": 131, "dbp_discharge": 79, "spo2_lowest": 95,
                        "moaas_post": 4, "moaas_discharge": 5, "dissociation_discharge": False,
                        "respiratory_depression": False, "serious_adverse_event": False,
                        "cm_benzodiazepine": True, "cm_hypnotic": False,
                        "cm_psychostimulant": False, "cm_maoi": False,
                        "lot_number": "LOT-42A", "dose_at": dosed,
                        "ready_at": dosed + timedelta(minutes=int(last.minutes_to_discharge))
                        }.items():
        setattr(last, name, value)
    records[-1].concomitant_medications = "lorazepam 0.5 mg"
    records[-1].phase = "maintenance"  # after the series: the phase travels too
    db.commit()
    series_end = START + timedelta(days=int(records[-2].day))
    add_visit(db, chosen[0], {"visit_at": series_end + timedelta(days=14, hours=2), "phq9": 9,
                              "gad7": 7, "moca": 27, "urinary_symptoms": False,
                              "notes": "sleeping better"})
    add_visit(db, chosen[0], {"day_after_series": 28, "phq9": 14}, require_time=False)
    db.commit()
    return chosen


@pytest.fixture
def fresh(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    upgrade(engine)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def _sessions(session, pid: str) -> pd.DataFrame:
    frame = sessions_frame(session, pid)
    return frame[[*COMPARED, "session_at", "notes", "concomitant_medications", "phase"]]


def _visits(session, pid: str) -> pd.DataFrame:
    visits = visits_frame(session, pid).drop(columns=["id", schema.ID_COLUMN, "source",
                                                      "recorded_by", "recorded_at"],
                                             errors="ignore")
    return visits.drop(columns=[c for c in visits.columns if c.startswith("is_")])


def _resources(bundle: dict, rtype: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def test_bundle_round_trips_patient_and_sessions(db, stored, fresh, trained):
    model_set, card = trained
    for pid in stored:
        bundle = patient_bundle(db, pid, model_set, card, card["version"])
        get_fhir_model_class("Bundle").model_validate(bundle)
        result = import_bundle(bundle)
        assert result.missing == [] and len(result.sessions) == len(_sessions(db, pid))
        outcome = store_import(fresh, result, name=result.name)
        assert "session(s) added" in outcome.summary()
        new_id = outcome.patient.patient_id
        assert get_patient(fresh, new_id).features() == get_patient(db, pid).features()
        pd.testing.assert_frame_equal(_sessions(fresh, new_id), _sessions(db, pid),
                                      check_dtype=False)
        pd.testing.assert_frame_equal(_visits(fresh, new_id), _visits(db, pid),
                                      check_dtype=False)
    dated = _sessions(fresh, get_patient(fresh, "KAP-00001").patient_id)
    assert dated["session_at"].notna().all()
    assert dated["notes"].iloc[0] == "felt *floaty*; <b>calm</b> by 40 min"
    assert dated["lot_number"].iloc[-1] == "LOT-42A" and dated["spo2_lowest"].iloc[-1] == 95
    assert dated["dose_at"].notna().sum() == 1
    assert dated["phase"].iloc[-1] == "maintenance"
    visits = _visits(fresh, "KAP-00001")
    assert visits["phq9"].tolist() == [9, 14] and visits["visit_at"].isna().tolist() == [
        False, True]  # the baseline PHQ-9 did not turn into a visit


def test_session_values_never_become_screening_values(db, stored, trained):
    model_set, card = trained
    pid = stored[0]
    bundle = patient_bundle(db, pid, model_set, card, card["version"])
    last = _sessions(db, pid).iloc[-1]
    baseline = get_patient(db, pid).phq9_baseline
    assert int(last["phq9"]) != baseline  # the sample patient improved
    back = import_bundle(bundle)
    assert back.patient["phq9_baseline"] == baseline
    assert not any("readings; the latest" in w and "phq9" in w for w in back.warnings)


def test_observations_carry_loinc_and_link_to_their_session(db, stored, trained):
    model_set, card = trained
    bundle = patient_bundle(db, stored[0], model_set, card, card["version"])
    encounters = [e for e in _resources(bundle, "Encounter")
                  if e["identifier"][0]["system"] == vocab.SESSION_IDENTIFIER]
    visits = [e for e in _resources(bundle, "Encounter")
              if e["identifier"][0]["system"] == vocab.FOLLOWUP_IDENTIFIER]
    assert len(visits) == 2  # the follow-up visits after the series, with their own code
    assert [e["identifier"][0]["value"] for e in encounters] == [
        vocab.session_key(stored[0], n) for n in _sessions(db, stored[0])["session_number"]]
    linked = [o for o in _resources(bundle, "Observation") if "encounter" in o]
    loinc = {c["code"] for o in linked for c in o["code"]["coding"] if c["system"].endswith(
        "loinc.org")}
    assert {"44261-6", "44260-8", "70274-6", "85354-9", "8867-4"} <= loinc
    bp = next(o for o in linked if o["code"]["coding"][0]["code"] == "bp_pre")
    assert [c["valueQuantity"]["code"] for c in bp["component"]] == ["mm[Hg]", "mm[Hg]"]
    pcl5 = [o for o in linked if o["code"]["coding"][0]["code"] == "pcl5"]
    assert len(pcl5) == int(_sessions(db, stored[0])["pcl5"].notna().sum())  # NULL: left out


def test_gated_outcome_is_not_exported(db, stored, trained):
    model_set, card = trained
    gated = copy.deepcopy(card)  # the 400-patient test model passes no gate on its own
    for name in model_set.outcomes:
        gated["metrics"][name]["auc"].update(value=0.8, lo=0.41 if name == "nausea_vomiting"
                                             else 0.7)
    bundle = patient_bundle(db, stored[0], model_set, gated, card["version"])
    outcomes = {r["prediction"][0]["outcome"]["coding"][0]["code"]
                for r in _resources(bundle, "RiskAssessment")}
    assert "nausea_vomiting" not in outcomes and outcomes  # the others still are


def test_session_missing_a_required_field_is_named_and_skipped(db, stored, trained):
    model_set, card = trained
    bundle = patient_bundle(db, stored[0], model_set, card, card["version"])
    second = next(e for e in _resources(bundle, "Encounter")
                  if e["identifier"][0]["value"].endswith("/2"))
    bundle["entry"] = [e for e in bundle["entry"] if not (
        e["resource"].get("encounter", {}).get("reference") == f"urn:uuid:{second['id']}"
        and e["resource"]["code"]["coding"][0]["code"] == "gad7")]
    back = import_bundle(bundle)
    assert 2 not in [s["session_number"] for s in back.sessions] and back.sessions
    assert any("session 2" in w and "GAD-7" in w for w in back.warnings)


def test_reimport_keeps_stored_sessions_and_reports_differences(db, stored, fresh, trained):
    model_set, card = trained
    bundle = patient_bundle(db, stored[1], model_set, card, card["version"])
    first = store_import(fresh, import_bundle(bundle), name="Ben Example")
    obs = next(e["resource"] for e in bundle["entry"]
               if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "phq9")
    obs["valueInteger"] = (obs["valueInteger"] + 1) % 28
    again = store_import(fresh, import_bundle(bundle), name="Ben Example")
    assert again.patient.patient_id == first.patient.patient_id
    assert "differ from the source and were kept as stored" in again.summary()
    stored_phq9 = _sessions(fresh, first.patient.patient_id)["phq9"].tolist()
    assert stored_phq9 == _sessions(db, stored[1])["phq9"].tolist()


def test_patient_with_gaps_is_refused(db, stored, trained):
    model_set, card = trained
    patient = get_patient(db, stored[0])
    patient.data_gaps = ["phq9_baseline"]
    db.commit()
    with pytest.raises(ValueError, match="no FHIR export while inputs are missing"):
        patient_bundle(db, stored[0], model_set, card, card["version"])
