"""models.clinical.eligibility: every §4 rule fires with a reason citing the patient's value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.clinical import eligibility
from models.clinical.eligibility import screen, screen_frame
from models.contract import schema


def patient(**overrides: object) -> dict[str, object]:
    """A clean TRD patient from the schema defaults, with some values changed."""
    return {**schema.defaults(), **overrides}


def test_defaults_are_a_clean_trd_patient() -> None:
    result = screen(patient())
    assert result.status == "eligible" and result.eligible
    assert [f.code for f in result.indications] == ["trd"]
    assert result.exclusions == [] and result.cautions == []
    assert "Eligible" in result.summary


@pytest.mark.parametrize("code, overrides, cited", [
    ("active_substance_use", {"substance_use": "active"}, "active"),
    ("psychosis_history", {"psychosis_history": True}, "History of psychosis or mania: yes"),
    ("uncontrolled_hypertension", {"hypertension": "uncontrolled"}, "uncontrolled"),
    ("uncontrolled_hypertension", {"systolic_bp": 168, "diastolic_bp": 96},
     "screening BP 168/96 mmHg ≥ 160/100"),
    ("uncontrolled_hypertension", {"systolic_bp": 150, "diastolic_bp": 100},
     "screening BP 150/100 mmHg"),
    ("severe_heart_disease", {"heart_disease": "severe"}, "Heart disease: severe"),
    ("severe_liver_disease", {"liver_disease": "severe"}, "Liver disease: severe"),
    ("vascular_contraindication", {"vascular_contraindication": True}, ": yes"),
    ("raised_icp", {"raised_icp": True}, "Raised intracranial pressure: yes"),
    ("pregnant", {"pregnant": True}, "Pregnancy: yes"),
])
def test_each_exclusion_fires_with_its_reason(code: str, overrides: dict, cited: str) -> None:
    result = screen(patient(**overrides))
    assert result.status == "not_eligible" and not result.eligible
    assert [f.code for f in result.exclusions] == [code]
    [finding] = result.exclusions
    assert finding.kind == "exclusion" and cited in finding.reason
    assert finding.reason in result.summary


def test_blood_pressure_just_below_the_unsourced_thresholds_is_not_excluded() -> None:
    sbp = eligibility.UNSOURCED_UNCONTROLLED_SBP - 1
    dbp = eligibility.UNSOURCED_UNCONTROLLED_DBP - 1
    assert screen(patient(systolic_bp=sbp, diastolic_bp=dbp)).status == "eligible"


def test_bp_thresholds_are_settings() -> None:
    high = patient(systolic_bp=150, diastolic_bp=90)
    assert screen(high).status == "eligible"
    assert screen(high, sbp_limit=140).status == "not_eligible"


@pytest.mark.parametrize("code, overrides, cited", [
    ("substance_use_remission", {"substance_use": "remission"}, "in remission"),
    ("controlled_hypertension", {"hypertension": "controlled"}, "Hypertension: controlled"),
    ("benzodiazepine_dose", {"benzo_dose_mg": 8.5}, "8.5 mg/day"),
    ("weak_support_system", {"support_system": "weak"}, "Support system: weak"),
    ("past_suicide_attempt", {"past_suicide_attempt": True}, "Past suicide attempt: yes"),
    ("age_65_plus", {"age": 65}, "Age: 65 years"),
    ("maoi", {"maoi": True}, "Takes an MAOI: yes"),
    ("stimulant", {"stimulant": True}, "Takes a stimulant: yes"),
    ("opioid", {"opioid": True}, "Takes an opioid: yes"),
])
def test_each_caution_fires_with_its_reason(code: str, overrides: dict, cited: str) -> None:
    result = screen(patient(**overrides))
    assert result.status == "eligible_with_cautions" and result.eligible
    assert [f.code for f in result.cautions] == [code]
    [finding] = result.cautions
    assert finding.kind == "caution" and cited in finding.reason
    assert finding.label in result.summary


def test_benzo_caution_suggests_a_taper_and_boundaries_hold() -> None:
    [finding] = screen(patient(benzo_dose_mg=12)).cautions
    assert "taper" in finding.reason
    assert screen(patient(benzo_dose_mg=eligibility.BENZO_TAPER_ABOVE_MG)).cautions == []
    assert screen(patient(age=eligibility.OLDER_ADULT_AGE - 1)).cautions == []


@pytest.mark.parametrize("overrides", [
    {"dx_trd": False},
    {"dx_trd": True, "failed_ad_trials": eligibility.TRD_MIN_FAILED_TRIALS - 1},
])
def test_no_indication(overrides: dict) -> None:
    result = screen(patient(**overrides))
    assert result.status == "no_indication" and not result.eligible
    assert result.indications == []
    assert "No indication" in result.summary


@pytest.mark.parametrize("code", schema.DIAGNOSES[1:])
def test_other_indications(code: str) -> None:
    result = screen(patient(dx_trd=False, **{f"dx_{code}": True}))
    assert result.status == "eligible"
    assert [f.code for f in result.indications] == [code]


def test_exclusion_outranks_missing_indication() -> None:
    assert screen(patient(dx_trd=False, pregnant=True)).status == "not_eligible"


def test_bp_exclusion_drops_the_controlled_hypertension_caution() -> None:
    result = screen(patient(hypertension="controlled", systolic_bp=170, diastolic_bp=95))
    assert [f.code for f in result.exclusions] == ["uncontrolled_hypertension"]
    assert "controlled_hypertension" not in [f.code for f in result.cautions]


def test_string_values_from_a_csv_are_understood() -> None:
    raw = {k: str(v).lower() for k, v in patient(opioid=True).items()}
    assert [f.code for f in screen(raw).cautions] == ["opioid"]


def test_missing_value_refuses_to_screen() -> None:
    incomplete = patient()
    del incomplete["pregnant"]
    incomplete["maoi"] = None
    with pytest.raises(ValueError, match="maoi, pregnant"):
        screen(incomplete)


def test_screen_frame_matches_screen() -> None:
    rows = [patient(), patient(pregnant=True, opioid=True, age=70), patient(maoi=True),
            patient(dx_trd=False), patient(raised_icp=True, psychosis_history=True)]
    frame = pd.DataFrame(rows, index=[f"KAP-{i}" for i in range(len(rows))])
    out = screen_frame(frame)
    assert list(out.columns) == ["eligibility_status", "exclusions", "cautions"]
    assert out.index.equals(frame.index)
    for row, (_, got) in zip(rows, out.iterrows(), strict=True):
        result = screen(row)
        assert got["eligibility_status"] == result.status
        assert got["exclusions"] == ";".join(f.code for f in result.exclusions)
        assert got["cautions"] == ";".join(f.code for f in result.cautions)
    assert out.loc["KAP-1", "exclusions"] == "pregnant"
    assert set(out.loc["KAP-1", "cautions"].split(";")) == {"age_65_plus", "opioid"}
    assert out.loc["KAP-4", "exclusions"] == "psychosis_history;raised_icp"


def test_summary_says_each_finding_once() -> None:
    """A category finding's reason repeats its label: the summary names it once."""
    result = screen(patient(substance_use="remission", age=70))
    assert result.summary.count("Substance-use history: in remission") == 1
    assert "Age: 70 years" in result.summary  # a reason that adds the value stays


def test_vectorised_screen_equals_screen_on_a_perturbed_cohort() -> None:
    from models.clinical.eligibility_frame import screen_codes
    from training.generator.generate import generate_cohort

    frame = generate_cohort(3000, 99).patients
    rng = np.random.default_rng(1)
    frame["systolic_bp"] = rng.integers(100, 190, len(frame))
    frame["diastolic_bp"] = rng.integers(60, 115, len(frame))
    for column in ("pregnant", "raised_icp", "vascular_contraindication", "maoi",
                   "stimulant", "psychosis_history", "dx_trd"):
        frame[column] = rng.random(len(frame)) < 0.3
    frame["failed_ad_trials"] = rng.integers(0, 4, len(frame)) + rng.choice([0, 0.9],
                                                                             len(frame))
    frame["age"] = rng.integers(18, 90, len(frame))
    frame["hypertension"] = rng.choice([" uncontrolled", "controlled", "none"], len(frame))
    fast = screen_codes(frame)
    assert fast is not None
    results = [screen(row) for row in frame.to_dict("records")]
    assert fast["eligibility_status"].tolist() == [r.status for r in results]
    assert fast["exclusions"].tolist() == [";".join(f.code for f in r.exclusions)
                                           for r in results]
    assert fast["cautions"].tolist() == [";".join(f.code for f in r.cautions) for r in results]
    assert len(set(fast["eligibility_status"])) == 4


def test_vectorised_screen_leaves_text_and_gaps_to_screen() -> None:
    from models.clinical.eligibility_frame import screen_codes

    text = pd.DataFrame([patient(maoi="yes")])
    assert screen_codes(text) is None
    assert screen_frame(text)["cautions"].iloc[0] == screen_frame(
        pd.DataFrame([patient(maoi=True)]))["cautions"].iloc[0]
    gap = pd.DataFrame([patient(), patient(pregnant=None)])
    assert screen_codes(gap) is None
    with pytest.raises(ValueError, match="pregnant"):
        screen_frame(gap)


def test_known_exclusions_are_found_while_other_inputs_are_missing() -> None:
    from models.clinical.eligibility import known_exclusions

    assert [f.code for f in known_exclusions({"psychosis_history": True})] == [
        "psychosis_history"]
    assert known_exclusions({"psychosis_history": False, "age": 40}) == []
    assert known_exclusions({}) == []  # nothing present proves nothing
    bp = known_exclusions({"hypertension": "controlled", "systolic_bp": 165.0,
                           "diastolic_bp": 90.0})
    assert [f.code for f in bp] == ["uncontrolled_hypertension"]
    assert known_exclusions({"systolic_bp": 165.0}) == []  # not enough to judge control
    assert known_exclusions({"pregnant": None, "raised_icp": float("nan")}) == []
