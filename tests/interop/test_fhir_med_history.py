"""Issue 25 (2): antidepressant trials, benzodiazepine dose, opioids and prior ketamine."""

from __future__ import annotations

from fhir_builders import REF_DATE, bundle, dosage, med_concept, med_request, med_statement, patient

from interop.fhir.importer.med_history import ADEQUATE_TRIAL_DAYS
from interop.fhir.importer.patient import import_bundle


def run(*resources):
    return import_bundle(bundle([patient(), *resources]), reference_date=REF_DATE)


def period(mid, text, start, end, status="completed"):
    return med_statement(mid, med_concept(text), None, status=status,
                         effectivePeriod={"start": start, "end": end},
                         effectiveDateTime=None)


def clean(res):
    return {k: v for k, v in res.items() if v is not None}


def test_distinct_ingredients_of_adequate_duration_are_counted():
    result = run(
        clean(period("s1", "sertraline 100 MG Oral Tablet", "2023-01-01", "2023-03-15")),
        clean(period("s2", "Zoloft 50 mg", "2023-04-01", "2023-06-01")),  # same ingredient
        clean(period("s3", "escitalopram 10 MG Oral Tablet", "2024-01-01", "2024-02-20")),
        clean(period("s4", "venlafaxine 75 MG", "2024-06-01", "2024-06-10")),  # 9 days
    )
    assert result.patient["failed_ad_trials"] == 2
    assert set(result.evidence["failed_ad_trials"]) == {
        "MedicationStatement/s1", "MedicationStatement/s2", "MedicationStatement/s3"}
    warning = next(w for w in result.warnings if w.startswith("failed antidepressant"))
    assert "EMA/CHMP/185423/2010" in warning and "venlafaxine 9 days" in warning


def test_synthea_renewals_span_the_trial_and_an_active_order_runs_to_the_data_date():
    first = med_request("r1", med_concept("fluoxetine 20 MG Oral Capsule"), [],
                        status="stopped", when="2024-01-05")
    renewal = med_request("r2", med_concept("fluoxetine 20 MG Oral Capsule"), [],
                          status="stopped", when="2024-02-20")
    current = med_request("r3", med_concept("bupropion 150 MG"), [], when="2025-05-01")
    result = run(first, renewal, current)
    assert result.patient["failed_ad_trials"] == 2  # fluoxetine 46 days, bupropion 31 days


def test_a_single_short_record_sets_nothing_and_says_so():
    result = run(med_request("r1", med_concept("sertraline 50 MG"), [], status="stopped",
                             when="2024-01-05"))
    assert "failed_ad_trials" in result.missing
    assert any(f"none taken for {ADEQUATE_TRIAL_DAYS}+ days" in w for w in result.warnings)


def test_entered_in_error_and_not_taken_are_not_trials():
    result = run(clean(period("s1", "sertraline", "2023-01-01", "2023-06-01",
                              status="entered-in-error")),
                 clean(period("s2", "citalopram", "2023-01-01", "2023-06-01",
                              status="not-taken")))
    assert "failed_ad_trials" in result.missing


def test_benzodiazepine_dose_from_dose_and_frequency_as_diazepam_equivalent():
    result = run(med_request("b1", med_concept("alprazolam 0.5 MG Oral Tablet"),
                             [dosage(0.5, "mg", frequency=3)]))
    assert result.patient["benzo_dose_mg"] == 30.0  # 1.5 mg alprazolam = 30 mg diazepam


def test_vicodin_is_an_opioid_with_its_class():
    result = run(med_request("o1", med_concept(None, "856907"), []))
    assert result.patient["opioid"] is True
    assert result.extras["opioid_classes"] == ["hydrocodone (full agonist)"]


def test_prior_esketamine_and_ketamine_are_flagged_as_exposure():
    result = run(clean(period("k1", "Spravato 28 MG nasal spray", "2022-01-01", "2022-03-01")),
                 med_request("k2", med_concept(None, "6130"), [], status="completed",
                             when="2021-05-01"))
    drugs = {e["drug"] for e in result.extras["prior_ketamine"]}
    assert drugs == {"esketamine", "ketamine"}
    assert any(w.startswith("prior ketamine/esketamine exposure") for w in result.warnings)
    assert "failed_ad_trials" in result.missing  # esketamine is not counted as a trial
