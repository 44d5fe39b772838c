"""PHQ-9 / GAD-7 from 44249-1 / 69737-5 panels and from QuestionnaireResponse items."""

from __future__ import annotations

import pytest
from fhir_builders import REF_DATE, bundle
from synthea_like import (
    GAD7_ITEMS,
    LOINC,
    patient,
    phq9_panel_with_members,
    questionnaire_response,
)

from interop.fhir.importer.batch import import_fhir
from interop.fhir.importer.scales import answer_score

SUBJECT = "Patient/q"


def _import(*resources):
    (result,) = import_fhir(bundle([patient("q", "1980-01-01", "female", "Q"), *resources]),
                            reference_date=REF_DATE).results
    return result


def _panel(value=None, components=None):
    res = {"resourceType": "Observation", "id": "panel", "status": "final",
           "code": {"coding": [{"system": LOINC, "code": "44249-1"}]},
           "subject": {"reference": SUBJECT}, "effectiveDateTime": "2025-05-01"}
    if value is not None:
        res["valueQuantity"] = {"value": value, "unit": "{score}"}
    if components:
        res["component"] = components
    return res


def test_phq9_questionnaire_response_is_scored_and_item9_kept():
    scores = [3, 2, 2, 1, 1, 2, 1, 0, 2]
    result = _import(questionnaire_response("qr", SUBJECT, scores))
    assert result.patient["phq9_baseline"] == sum(scores) == 14
    assert result.extras["phq9_item9"] == 2
    assert result.evidence["phq9_baseline"] == ["QuestionnaireResponse/qr"]
    assert any("item 9" in w and "scored 2" in w for w in result.warnings)


def test_item9_zero_is_kept_without_a_flag():
    result = _import(questionnaire_response("qr", SUBJECT, [1] * 8 + [0]))
    assert result.patient["phq9_baseline"] == 8 and result.extras["phq9_item9"] == 0
    assert not any("item 9" in w for w in result.warnings)


def test_an_unanswered_item_gives_no_total():
    result = _import(questionnaire_response("qr", SUBJECT, [2] * 8))  # item 9 left out
    assert "phq9_baseline" in result.missing
    assert any("item(s) 9 unanswered" in w for w in result.warnings)


def test_a_stated_total_that_disagrees_with_the_items_loses_to_the_sum():
    result = _import(questionnaire_response("qr", SUBJECT, [1] * 9, total=20))
    assert result.patient["phq9_baseline"] == 9
    assert any("total 20 differs from the sum of its items (9)" in w for w in result.warnings)


def test_an_in_progress_response_is_not_scored():
    result = _import(questionnaire_response("qr", SUBJECT, [3] * 9, status="in-progress"))
    assert "phq9_baseline" in result.missing
    assert any("status 'in-progress'" in w for w in result.warnings)


def test_gad7_questionnaire_response():
    result = _import(questionnaire_response("g", SUBJECT, [1, 2, 3, 0, 1, 2, 3],
                                            items=GAD7_ITEMS, panel="69737-5"))
    assert result.patient["gad7_baseline"] == 12 and "phq9_baseline" in result.missing


def test_phq9_panel_with_member_item_observations():
    scores = [0, 1, 2, 3, 0, 1, 2, 3, 1]
    result = _import(*phq9_panel_with_members("p", SUBJECT, scores))
    assert result.patient["phq9_baseline"] == 13 and result.extras["phq9_item9"] == 1
    assert result.evidence["phq9_baseline"] == ["Observation/p-panel"]


def test_phq9_panel_with_its_own_value():
    result = _import(_panel(value=21))
    assert result.patient["phq9_baseline"] == 21


def test_phq9_panel_with_a_total_component_is_read_once():
    total = {"code": {"coding": [{"system": LOINC, "code": "44261-6"}]},
             "valueInteger": 11}
    result = _import(_panel(components=[total]))
    assert result.patient["phq9_baseline"] == 11
    assert not any("readings" in w for w in result.warnings)


def test_phq9_panel_with_item_components():
    items = [{"code": {"coding": [{"system": LOINC, "code": code}]}, "valueInteger": 2}
             for code in ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2",
                          "44252-5", "44253-3", "44260-8")]
    result = _import(_panel(components=items))
    assert result.patient["phq9_baseline"] == 18


def test_a_panel_member_missing_from_the_import_is_said():
    panel, *members = phq9_panel_with_members("p", SUBJECT, [1] * 9)
    result = _import(panel, *members[:-1])
    assert "phq9_baseline" in result.missing
    assert any("member 'Observation/p-item9' is not in the import" in w
               for w in result.warnings)


def test_the_latest_of_panel_and_questionnaire_wins():
    result = _import(*phq9_panel_with_members("p", SUBJECT, [1] * 9, when="2025-01-01"),
                     questionnaire_response("qr", SUBJECT, [2] * 9, authored="2025-05-20"))
    assert result.patient["phq9_baseline"] == 18


@pytest.mark.parametrize(("node", "score"), [
    ({"valueInteger": 2}, 2), ({"valueInteger": 7}, None),
    ({"valueCoding": {"system": LOINC, "code": "LA6571-9"}}, 3),
    ({"valueCoding": {"code": "x", "extension": [{
        "url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 1}]}}, 1),
    ({"valueQuantity": {"value": 1.5}}, None), ({"valueString": "often"}, None),
])
def test_answer_scores(node, score):
    assert answer_score(node) == score
