"""Explanations in the clinician's dose unit (HAZ-240): an esketamine patient reads "Dose 56 mg",
a ketamine patient "Dose 0.5 mg/kg"; the not-applicable dose carries no effect and is never
shown as a value, as "nan" or as "not applicable"; SHAP stays additive."""

from __future__ import annotations

import numpy as np
import pytest

from models.inference.explain import explain_frame, explain_patient, sentences

ESK = "intranasal_esketamine"


@pytest.mark.parametrize("route", [ESK, "iv"])
def test_every_sentence_names_the_dose_in_the_routes_unit(trained, route: str) -> None:
    rows = trained.test_patients
    row = rows[rows["route"] == route].iloc[0].drop(labels=["patient_id", "name"])
    empty = "dose_mg_per_kg" if route == ESK else "esketamine_dose_mg"
    given = "esketamine_dose_mg" if route == ESK else "dose_mg_per_kg"
    for outcome in trained.model_set.outcomes:
        explanation = explain_patient(trained.model_set, row, outcome)
        if empty in explanation.effects:  # its share is in the given dose (or the route)
            assert explanation.effects[empty] == 0.0
        assert explanation.base + explanation.contributions.sum() == pytest.approx(
            explanation.logit)
        text = " ".join(sentences(explanation, row, outcome, top=len(explanation.effects)))
        assert "nan" not in text.split() and "not applicable" not in text
        if abs(explanation.effects.get(given, 0.0)) > 5e-4:  # as sentences() picks them
            unit = "mg" if route == ESK else "mg/kg"
            assert f"Dose {row[given]:g} {unit}" in text
            if route == ESK:
                assert "mg/kg" not in text


def test_batch_explanations_fold_the_empty_dose_for_every_row(trained) -> None:
    rows = trained.test_patients.head(200)
    explanation = explain_frame(trained.model_set, rows, "nausea_vomiting")
    esk = (rows["route"] == ESK).to_numpy()
    assert esk.any() and (~esk).any()
    assert (explanation.contributions["dose_mg_per_kg"].to_numpy()[esk] == 0).all()
    if "esketamine_dose_mg" in explanation.contributions:  # a model input or not (schema)
        assert (explanation.contributions["esketamine_dose_mg"].to_numpy()[~esk] == 0).all()
    total = explanation.base + explanation.contributions.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, explanation.logit.to_numpy(), atol=1e-9)
