"""`kapcds card` (issue 28): every format from a registered version, the CHAI card signed and
checked by `kapcds card verify`, which refuses an edited card; the clinic file is used."""

from __future__ import annotations

import json

from cli_helpers import run
from pypdf import PdfReader

from models.store.registry import Registry


def _register(home, trained) -> str:
    model_set, card = trained
    registry = Registry(home / "registry")
    version = registry.register(model_set, {k: v for k, v in card.items() if k != "version"})
    registry.promote(version)
    return version


def test_card_writes_every_format_and_the_signed_xml_verifies(home, trained, monkeypatch):
    version = _register(home, trained)
    clinic = home / "clinic.json"
    clinic.write_text(json.dumps({"developer_contact": "governance@clinic.example"}))
    monkeypatch.setenv("KAPCDS_CLINIC_FILE", str(clinic))
    reg = ["--registry", str(home / "registry")]
    code, out, err = run("card", "--format", "hti1-json", *reg)
    assert code == 0, err
    document = json.loads(out)
    assert document["version"] == version and len(document["attributes"]) == 31
    assert "governance@clinic.example" in document["attributes"][0]["value"]
    xml = home / "card.xml"
    code, _, err = run("card", version, "--format", "chai-xml", "--out", str(xml), *reg)
    assert code == 0, err
    code, out, err = run("card", "verify", "--out", str(xml), *reg)
    assert code == 0 and "signature verifies" in out, err
    xml.write_bytes(xml.read_bytes().replace(b"governance@clinic.example", b"x@evil.example"))
    code, _, err = run("card", "verify", "--out", str(xml), *reg)
    assert code == 1 and "changed after signing" in err
    pdf = home / "card.pdf"
    code, _, err = run("card", "--format", "pdf", "--out", str(pdf), *reg)
    assert code == 0, err
    assert "Governance card" in PdfReader(str(pdf)).pages[0].extract_text()
    code, out, err = run("card", "--format", "tripod-md", *reg)
    assert code == 0 and out.startswith("# TRIPOD+AI report"), err
    code, _, err = run("card", "--format", "pdf", *reg)
    assert code == 1 and "needs --out" in err


def test_a_broken_clinic_file_is_a_clear_error(home, trained, monkeypatch):
    _register(home, trained)
    clinic = home / "clinic.json"
    clinic.write_text('{"funding": "x", "sponsor": "y"}')
    monkeypatch.setenv("KAPCDS_CLINIC_FILE", str(clinic))
    code, _, err = run("card", "--registry", str(home / "registry"))
    assert code == 1 and "unknown key 'sponsor'" in err
