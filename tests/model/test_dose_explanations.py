"""Explanations in the clinician's dose unit (HAZ-240): an esketamine patient reads "Dose 56 mg",
a ketamine patient "Dose 0.5 mg/kg"; the not-applicable dose carries no effect and is never
shown as a value, as "nan" or as "not applicable"; SHAP stays additive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.contract.schema import MODEL_DOSE
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


def test_batch_explanations_give_the_dose_to_the_routes_unit_for_every_row(trained) -> None:
    rows = trained.test_patients.head(200)
    explanation = explain_frame(trained.model_set, rows, "nausea_vomiting")
    esk = (rows["route"] == ESK).to_numpy()
    assert esk.any() and (~esk).any()
    contributions = explanation.contributions
    assert MODEL_DOSE not in contributions  # the model's column is never shown
    assert (contributions["dose_mg_per_kg"].to_numpy()[esk] == 0).all()
    assert (contributions["esketamine_dose_mg"].to_numpy()[~esk] == 0).all()
    assert (contributions["esketamine_dose_mg"].to_numpy()[esk] != 0).any()
    total = explanation.base + contributions.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, explanation.logit.to_numpy(), atol=1e-9)


def test_the_models_tell_56_from_84_mg(trained) -> None:
    """Issue 30 (b): esketamine mg reaches the models (as mg / 56), so 56 and 84 mg give
    different predictions for the same patient; a stray mg/kg value beside it changes
    nothing (never read for esketamine)."""
    rows = trained.test_patients
    row = rows[rows["route"] == ESK].iloc[[0]]
    proba = {mg: trained.model_set.predict_proba(row.assign(esketamine_dose_mg=mg)).iloc[0]
             for mg in (28.0, 56.0, 84.0)}
    assert (proba[56.0] != proba[84.0]).any() or (proba[28.0] != proba[56.0]).any()
    stray = trained.model_set.predict_proba(row.assign(dose_mg_per_kg=2.5)).iloc[0]
    pd.testing.assert_series_equal(stray, trained.model_set.predict_proba(row).iloc[0])
