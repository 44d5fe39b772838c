"""Issue 28: the governance exports of a version. The CHAI card validates against the v0.2
schema and its XML-DSig signature verifies (and breaks on any edit); all 31 HTI-1 attributes
have a value or a reason; the subgroup numbers read the same in every export."""

from __future__ import annotations

import io
import json
import re

import pytest
from lxml import etree
from pypdf import PdfReader

from base.signing import SignatureError, SigningKey, installation_key
from interop.reports.governance.card_pdf import card_pdf
from interop.reports.governance.chai_schema import NAMESPACE, validation_errors
from interop.reports.governance.chai_xml import chai_xml
from interop.reports.governance.hti1_json import hti1_document, hti1_json
from interop.reports.governance.tripod_md import tripod_markdown
from interop.reports.governance.xmldsig import DS, sign_xml, verify_xml
from training.governance.facts import governance_facts
from training.governance.hti1 import ATTRIBUTES

MC = {"mc": NAMESPACE, "ds": DS}


@pytest.fixture(scope="module")
def facts(trained) -> dict:
    _, card = trained
    return governance_facts(card, {"funding": "Clinic operating budget",
                                   "developer": "Example clinic"})


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> SigningKey:
    return installation_key(tmp_path_factory.mktemp("keys") / "signing.key")


@pytest.fixture(scope="module")
def signed(facts, key) -> bytes:
    return sign_xml(chai_xml(facts), key)


def test_chai_card_validates_against_the_v02_schema_and_its_signature_verifies(signed, key):
    assert validation_errors(signed) == []
    assert verify_xml(signed, [key.public]).key_id == key.key_id
    root = etree.fromstring(signed)
    assert root.tag == f"{{{NAMESPACE}}}AppliedModelCard"
    signature = root[-1]
    assert signature.tag == f"{{{DS}}}Signature"  # last, where the schema allows it
    assert signature.findtext("ds:KeyInfo/ds:KeyName", namespaces=MC) == key.key_id


def test_the_schema_check_is_real(facts):
    broken = etree.fromstring(chai_xml(facts))
    broken.remove(broken.find("mc:Warnings", MC))  # a required section
    errors = validation_errors(etree.tostring(broken))
    assert errors and "Warnings" in " ".join(errors)


def _edit(signed: bytes, path: str, text: str) -> bytes:
    root = etree.fromstring(signed)
    root.find(path, MC).text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("path, text", [
    ("mc:KeyMetrics/mc:FairnessEquity/mc:Interpretation", "every subgroup AUC 0.99"),
    ("mc:BasicInfo/mc:ModelDeveloper", "Someone else"),
    ("ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue",
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
])
def test_editing_the_signed_card_breaks_verification(signed, key, path, text):
    edited = _edit(signed, path, text)
    assert validation_errors(edited) == []  # still a well-formed card: only the signature tells
    with pytest.raises(SignatureError):
        verify_xml(edited, [key.public])


def test_an_unsigned_or_foreign_card_does_not_verify(facts, signed, key, tmp_path):
    with pytest.raises(SignatureError, match="not signed"):
        verify_xml(chai_xml(facts), [key.public])
    other = installation_key(tmp_path / "other.key")
    with pytest.raises(SignatureError, match="not trusted"):
        verify_xml(sign_xml(chai_xml(facts), other), [key.public])
    resigned = sign_xml(signed, key)  # signing again replaces the signature
    assert len(etree.fromstring(resigned).findall("ds:Signature", MC)) == 1
    assert verify_xml(resigned, [key.public])


def test_every_hti1_attribute_is_present_with_a_value_or_a_reason(facts):
    document = json.loads(hti1_json(facts))
    attributes = document["attributes"]
    assert len(attributes) == 31 == len(ATTRIBUTES)
    assert [a["number"] for a in attributes] == list(range(1, 32))
    assert len({a["id"] for a in attributes}) == 31
    for entry, (option_id, title) in zip(attributes, ATTRIBUTES, strict=True):
        assert (entry["id"], entry["title"]) == (option_id, title)
        has_value, has_reason = bool(entry.get("value")), bool(entry.get("not_available"))
        assert has_value != has_reason, entry  # exactly one, never empty
    by_id = {a["id"]: a for a in attributes}
    assert by_id["predictive_purpose_decision_role"]["title"].startswith(
        "Intended decision-making role for which the intervention was designed to be "
        "used/for (e_g_, informs")  # OpenEMR's title, verbatim
    assert by_id["predictive_details_funding"]["value"] == "Clinic operating budget"
    # nothing invented: no contact given, no external validation, the store not read
    assert "developer_contact" in by_id["predictive_details_developer"]["value"]
    for missing in ("predictive_validation_tester", "predictive_performance_external_validity",
                    "predictive_maintenance_local_validity"):
        assert by_id[missing]["not_available"], missing
    assert "sex: an input" in by_id["predictive_development_variables"]["value"]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_subgroup_numbers_are_the_same_in_every_export(facts, signed):
    lines = facts["fairness"]["lines"]
    rows = facts["fairness"]["rows"]
    assert lines and len(lines) == len(rows)
    assert {r["variable"] for r in rows} == {"sex", "age_band", "route"}
    for row in rows:  # CIs and calibration for every level that has both classes
        if not row.get("unmeasured"):
            assert row["auc"]["lo"] <= row["auc"]["hi"]  # 10 resamples here: a rough CI
            assert "calibration_intercept" in row and "observed" in row
    hti1 = hti1_document(facts)
    internal = next(a for a in hti1["attributes"]
                    if a["id"] == "predictive_performance_internal_fairness")["value"]
    root = etree.fromstring(signed)
    xml_lines = [json.loads(v.text)["line"] for v in root.iterfind(
        "mc:KeyMetrics/mc:FairnessEquity/mc:Results/mc:MetricResult/mc:ValueJson", MC)]
    markdown = tripod_markdown(facts)
    pdf_text = _squash("".join(p.extract_text() for p in PdfReader(
        io.BytesIO(card_pdf(facts))).pages))
    assert xml_lines == lines == hti1["subgroups"]["held_out"]
    for line in lines:
        assert line in internal
        assert line.replace("|", "\\|") in markdown
        assert _squash(line) in pdf_text, line


def test_small_subgroups_carry_a_warning(facts):
    rows = facts["fairness"]["rows"]
    small = [r for r in rows if r["n"] < 100]
    assert small  # 80 test patients: every level is small
    for row, line in zip(rows, facts["fairness"]["lines"], strict=True):
        assert bool(row["warning"]) == (row["n"] < 100 or min(
            row["events"], row["n"] - row["events"]) < 10)
        assert ("WARNING small n" in line) == bool(row["warning"])


def test_tripod_marks_all_27_items(facts):
    items = facts["tripod"]
    numbers = {re.match(r"\d+", i["item"]).group() for i in items}
    assert numbers == {str(n) for n in range(1, 28)}
    assert {i["status"] for i in items} <= {"reported", "not applicable", "not reported"}
    assert all(i["where"] for i in items)
    funding = next(i for i in items if i["item"] == "18a")
    assert funding["status"] == "reported"  # the clinic file says who funds it
    ppi = next(i for i in items if i["item"] == "19")
    assert ppi["status"] == "not reported" and "stakeholders_consulted" in ppi["where"]
    markdown = tripod_markdown(facts)
    for item in items:
        assert f"| {item['item']} | " in markdown
