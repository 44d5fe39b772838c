"""Issue 28: what the governance facts rest on. Local validity and fairness are "not yet
measured" below the monitoring minimum and measured (with CIs and subgroups) above it; the
clinic file is read strictly; subgroup numbers are recomputable from their inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from training.evaluate import auc_batch
from training.governance import local as local_module
from training.governance.clinic import ClinicFileError, parse_clinic, read_clinic
from training.governance.facts import governance_facts
from training.governance.fairness import group_keys, level_result, subgroup_results
from training.lifecycle.monitor import MIN_PATIENTS


def _labelled(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, n)
    frame = pd.DataFrame({"patient_id": [f"KAP-{i:05d}" for i in range(n)],
                          "sex": rng.choice(["female", "male"], n),
                          "age": rng.integers(18, 85, n),
                          "route": rng.choice(["iv", "im"], n),
                          "response": (rng.uniform(size=n) < p).astype(int)})
    return frame, pd.DataFrame({"response": p})


def _local(monkeypatch: pytest.MonkeyPatch, n: int) -> dict:
    labelled, proba = _labelled(n)
    monkeypatch.setattr(local_module, "recorded_outcomes",
                        lambda *args: (labelled, labelled, proba))
    empty = pd.DataFrame()
    return local_module.local_results("V1", ["response", "remission"], empty, empty, empty,
                                      n_boot=50)


def test_local_results_are_not_yet_measured_below_the_minimum(monkeypatch):
    result = _local(monkeypatch, MIN_PATIENTS - 1)
    entry = result["outcomes"]["response"]
    assert entry["status"] == "not yet measured"
    assert f"{MIN_PATIENTS - 1} ended series" in entry["reason"]
    assert "metrics" not in entry and "subgroups" not in entry
    assert result["outcomes"]["remission"]["status"] == "not yet measured"


def test_local_results_are_measured_with_cis_and_subgroups(monkeypatch):
    result = _local(monkeypatch, 400)
    entry = result["outcomes"]["response"]
    assert entry["status"] == "measured" and entry["n"] == 400
    auc = entry["metrics"]["auc"]
    assert auc["lo"] <= auc["value"] <= auc["hi"]
    assert {r["variable"] for r in entry["subgroups"]} == {"sex", "age_band", "route"}
    facts = governance_facts({"version": "V1", "metrics": {}}, {}, result)
    by_id = {a["id"]: a for a in facts["hti1"]}
    assert "Response: n=400" in by_id["predictive_maintenance_local_validity"]["value"]
    assert "Response, sex=female" in by_id["predictive_maintenance_local_fairness"]["value"]
    assert "Remission: not yet measured" in by_id[
        "predictive_maintenance_local_fairness"]["value"]


def test_a_subgroup_level_is_recomputable_and_flags_small_n():
    frame, proba = _labelled(300, seed=4)
    y, p = frame["response"].to_numpy(), proba["response"].to_numpy()
    rows = subgroup_results(group_keys(frame), y, p, n_boot=50)
    female = next(r for r in rows if r["variable"] == "sex" and r["level"] == "female")
    mask = (frame["sex"] == "female").to_numpy()
    assert female["n"] == mask.sum() and female["events"] == y[mask].sum()
    assert female["auc"]["value"] == pytest.approx(auc_batch(y[mask][None], p[mask][None])[0])
    assert female["mean_predicted"] == pytest.approx(p[mask].mean())
    tiny = level_result("route", "oral_sublingual", np.array([1, 0, 1]),
                        np.array([0.6, 0.2, 0.7]), n_boot=20)
    assert "small n: 3 patients" in tiny["warning"]
    single = level_result("sex", "male", np.ones(5), np.full(5, 0.5), n_boot=20)
    assert "only one class" in single["unmeasured"] and "auc" not in single


def test_clinic_file_is_read_strictly(tmp_path):
    assert read_clinic(tmp_path / "absent.json") == {}
    assert parse_clinic(json.dumps({"funding": " Grant X ", "release_stage": ""})) == {
        "funding": "Grant X"}
    with pytest.raises(ClinicFileError, match="unknown key 'fundng'"):
        parse_clinic(json.dumps({"fundng": "Grant X"}))
    with pytest.raises(ClinicFileError, match="funding must be text"):
        parse_clinic(json.dumps({"funding": 3}))
    with pytest.raises(ClinicFileError, match="line 1"):
        parse_clinic("{funding: 1}")


def test_facts_without_clinic_or_store_say_why(trained):
    _, card = trained
    facts = governance_facts(card, {})
    for key in ("developer_contact", "funding", "stakeholders_consulted", "release_stage"):
        assert facts["clinic"][key] is None and "not entered by the clinic" in facts[
            "clinic_missing"][key]
    by_id = {a["id"]: a for a in facts["hti1"]}
    assert "not entered by the clinic" in by_id["predictive_details_funding"]["not_available"]
    assert by_id["predictive_maintenance_local_fairness"]["not_available"]


def test_the_pdf_report_says_where_the_source_attributes_are(trained):
    from interop.reports.context import card_lines

    _, card = trained
    lines = card_lines(card, card["version"])
    where = next(line for line in lines if line.startswith("Source attributes (ONC HTI-1"))
    assert "?show=source_attributes" in where and f"kapcds card {card['version']}" in where
    rows = [r for entries in card["fairness"]["outcomes"].values() for r in entries]
    small = sum(1 for r in rows if r["warning"])
    assert f"{len(rows)} outcome-subgroup results, {small} with a small-n warning" in " ".join(
        lines)
    older = {k: v for k, v in card.items() if k != "fairness"}
    assert "Subgroup results with intervals: not recorded" in " ".join(
        card_lines(older, "old"))
