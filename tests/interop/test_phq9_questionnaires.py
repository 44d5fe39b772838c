"""PHQ-9 from every QuestionnaireResponse shape a clinic meets (issue 23, defect 3)."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
from fhir_builders import bundle
from synthea_like import LOINC, patient

from interop.cds_hooks.cards import build_cards
from interop.cds_hooks.service import patient_data
from interop.fhir.importer.batch import import_fhir
from interop.fhir.importer.questionnaires import MII_PHQ9
from interop.fhir.importer.result import suicide_alert
from models.clinical.session_alerts import SUICIDE_RISK, session_alerts, suicide_risk_message

MII_FIXTURE = Path(__file__).parent / "fixtures" / "mii_phq9_response_bundle.json"
ON = date(2026, 12, 7)
SUBJECT = "Patient/q"
LA = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")


def _import(*resources: dict) -> object:
    (result,) = import_fhir(bundle([patient("q", "1980-01-01", "female", "Q"), *resources]),
                            reference_date=ON).results
    return result


def _qr(items: list[dict], questionnaire: str | None = None, qid: str = "qr1") -> dict:
    res = {"resourceType": "QuestionnaireResponse", "id": qid, "status": "completed",
           "subject": {"reference": SUBJECT}, "authored": "2026-11-30T10:00:00Z",
           "item": items}
    if questionnaire:
        res["questionnaire"] = questionnaire
    return res


def test_mii_phq9_response_imports_total_27_and_item9_3_with_the_alert() -> None:
    (result,) = import_fhir(MII_FIXTURE, reference_date=ON).results
    assert result.patient["phq9_baseline"] == 27
    assert result.extras["phq9_item9"] == 3
    assert result.evidence["phq9_baseline"] == ["QuestionnaireResponse/mii-exa-pro-phq-9-response"]
    alert = suicide_alert(result)
    assert alert is not None and alert.startswith(f"{SUICIDE_RISK}: ")
    assert suicide_risk_message(3) in alert and "2026-11-30" in alert


def test_mii_later_link_ids_with_ordinal_values() -> None:
    scores = [1, 1, 2, 0, 1, 0, 2, 1, 1]
    items = [{"linkId": f"phq-phq2{'abcdefghi'[n]}", "answer": [{"valueCoding": {
        "system": "urn:example:answers", "code": f"a{s}", "extension": [{
            "url": "http://hl7.org/fhir/StructureDefinition/ordinalValue",
            "valueDecimal": s}]}}]} for n, s in enumerate(scores)]
    result = _import(_qr(items, f"{MII_PHQ9}|2026.5.0"))
    assert result.patient["phq9_baseline"] == 9 and result.extras["phq9_item9"] == 1
    old = [{"linkId": f"phq-phq9-q0{n + 1}", "answer": [{"valueInteger": s}]}
           for n, s in enumerate(scores)]
    assert _import(_qr(old, MII_PHQ9)).patient["phq9_baseline"] == 9


def test_loinc_canonical_with_plain_loinc_link_ids_and_integers() -> None:
    codes = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5",
             "44253-3", "44260-8")
    items = [{"linkId": c, "answer": [{"valueInteger": 2}]} for c in codes]
    result = _import(_qr(items, "http://loinc.org/q/44249-1"))
    assert result.patient["phq9_baseline"] == 18 and result.extras["phq9_item9"] == 2


def test_item_text_identifies_items_of_an_unknown_form() -> None:
    wording = ["Little interest or pleasure in doing things", "Feeling down, depressed, or "
               "hopeless", "Trouble falling or staying asleep, or sleeping too much",
               "Feeling tired or having little energy", "Poor appetite or overeating",
               "Feeling bad about yourself - or that you are a failure",
               "Trouble concentrating on things", "Moving or speaking so slowly that other "
               "people could have noticed", "Thoughts that you would be better off dead, or "
               "of hurting yourself in some way"]
    items = [{"linkId": f"x{n}", "text": t, "answer": [{"valueCoding": {
        "code": LA[n % 4], "system": LOINC}}]} for n, t in enumerate(wording)]
    result = _import(_qr(items, "https://forms.example.org/Questionnaire/intake-7"))
    assert result.patient["phq9_baseline"] == sum(n % 4 for n in range(9)) == 12
    assert result.extras["phq9_item9"] == 0 and suicide_alert(result) is None


def test_unreadable_response_is_named_with_the_reason() -> None:
    items = [{"linkId": f"f{n}", "text": f"Frage {n}", "answer": [{"valueInteger": 1}]}
             for n in range(9)]
    result = _import(_qr(items, "https://forms.example.org/Questionnaire/other", "qr-odd"))
    assert "phq9_baseline" in result.missing
    [warning] = [w for w in result.warnings if "QuestionnaireResponse/qr-odd" in w]
    assert "could not be read" in warning and "9 answered item(s)" in warning
    assert "https://forms.example.org/Questionnaire/other" in warning


def test_an_unscorable_answer_names_its_item_and_link_id() -> None:
    items = [{"linkId": f"PHQ.{n}", "answer": [{"valueCoding": {"system": LOINC,
                                                               "code": "LA6571-9"}}]}
             for n in range(1, 9)]
    items.append({"linkId": "PHQ.9", "answer": [{"valueString": "prefer not to say"}]})
    result = _import(_qr(items, MII_PHQ9, "qr-9"))
    assert "phq9_baseline" in result.missing
    assert any("qr-9" in w and "item 9 (linkId 'PHQ.9')" in w and "valueString" in w
               for w in result.warnings)


def test_item9_observation_alone_raises_the_same_alert_as_a_session() -> None:
    obs = {"resourceType": "Observation", "id": "i9", "status": "final",
           "subject": {"reference": SUBJECT}, "effectiveDateTime": "2026-12-01",
           "code": {"coding": [{"system": LOINC, "code": "44260-8"}]},
           "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA6570-1"}]}}
    result = _import(obs)
    assert result.extras["phq9_item9"] == 2
    alert = suicide_alert(result)
    session = pd.DataFrame([{"patient_id": "P", "session_number": 1, "phq9": 10,
                             "phq9_item9": 2, "cssrs": None, "sbp_pre": 120, "dbp_pre": 80,
                             "sbp_post": 125, "dbp_post": 80, "hr_pre": 70, "hr_post": 72,
                             "cadss": 3}])  # typed form, CSV or FHIR session: one rule
    [typed] = session_alerts("P", 15, session)
    assert typed.kind == SUICIDE_RISK and typed.severity == "high"
    assert alert is not None and typed.message in alert


def test_cds_prefetch_with_mii_item9_and_an_old_bp_gives_critical_and_names_the_date() -> None:
    resources = [e["resource"] for e in json.loads(MII_FIXTURE.read_text("utf-8"))["entry"]]
    resources.append({"resourceType": "Observation", "id": "bp-2012", "status": "final",
                      "subject": {"reference": "Patient/mii-phq9-patient"},
                      "effectiveDateTime": "2012-03-04",
                      "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
                      "component": [
                          {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                           "valueQuantity": {"value": 150, "system": "http://unitsofmeasure.org",
                                             "code": "mm[Hg]"}},
                          {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                           "valueQuantity": {"value": 95, "system": "http://unitsofmeasure.org",
                                             "code": "mm[Hg]"}}]})
    data = patient_data(resources, "mii-phq9-patient", None)
    data.today = ON
    assert data.item9 == 3
    assert data.item9_at == datetime(2026, 11, 30, 9, 15, tzinfo=timezone.utc)
    cards = build_cards(data, None, "https://kap.example")
    assert cards[0]["indicator"] == "critical" and "item 9 = 3" in cards[0]["summary"]
    stale = next(c for c in cards if c["summary"].startswith("Old inputs used"))
    assert "Screening systolic BP from 2012-03-04" in stale["detail"]
    assert "Baseline PHQ-9" not in stale["detail"]  # a week old: within the limit


def test_a_shared_phrase_in_another_questionnaire_is_not_read_as_phq9() -> None:
    items = [{"linkId": "b5", "text": "Changes in Appetite", "answer": [{"valueInteger": 2}]},
             {"linkId": "b6", "text": "Past Failure", "answer": [{"valueInteger": 1}]},
             {"linkId": "b9", "text": "Thoughts that you would be better off dead",
              "answer": [{"valueInteger": 1}]}]
    result = _import(_qr(items, "https://forms.example.org/Questionnaire/bdi-like", "qr-b"))
    assert "phq9_baseline" in result.missing
    assert not any("item 5" in w or "item 6" in w for w in result.warnings)
    assert result.extras["phq9_item9"] == 1  # the suicide item is never dropped
    assert suicide_alert(result) is not None
