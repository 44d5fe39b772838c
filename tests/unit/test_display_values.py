"""Numbers as a clinician reads them: units, plural forms and honest percentages."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from models.clinical.risk_wording import percent_text, percent_value, percent_values
from models.contract.schema import feature


@pytest.mark.parametrize(("name", "value", "shown"), [
    ("failed_ad_trials", 1, "1 trial"), ("failed_ad_trials", 3, "3 trials"),
    ("age", 1, "1 year"), ("phq9_baseline", 1, "1 point"), ("bmi", 1.0, "1 kg/m²"),
    ("phq9_baseline", 0, "0 points"), ("dose_mg_per_kg", 0.5, "0.5 mg/kg")])
def test_units_and_plurals(name: str, value: object, shown: str) -> None:
    assert feature(name).format_value(value) == shown


@pytest.mark.parametrize(("p", "shown"), [
    (0.6105, "61%"), (0.995, "100%"), (0.004, "0.4%"), (0.0004, "0%"), (0.0096, "1%"),
    (0.0094, "0.9%"), (1.0, "100%"), (0.0, "0%"), (None, "not available"),
    (float("nan"), "not available")])
def test_percentages_are_whole_numbers_with_one_decimal_below_one(p: object,
                                                                   shown: str) -> None:
    assert percent_text(p) == shown


def test_percent_values_keep_missing_values_missing() -> None:
    out = percent_values(pd.Series([0.61234, float("nan"), 0.0042]))
    assert out.iloc[0] == 61 and math.isnan(out.iloc[1]) and out.iloc[2] == 0.4
    assert percent_value(0.333333) == 33
