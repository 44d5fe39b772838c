"""The model lab's update result tables (dashboard.services.lab.updating) from a job's
stored result: step and why with the closed test's p-values, refused steps with Riley's
numbers, current vs updated with CIs (issue 29, HAZ-230)."""

from __future__ import annotations

from dashboard.services.lab import updating

CI = {"value": 0.7, "lo": 0.65, "hi": 0.75}
RESULT = {"kind": "update", "version": "v2", "parent": "v1", "data": "2,500 ended series",
          "outcomes": {
              "response": {"step": "logistic", "reason": "logistic is the simplest step",
                           "step_text": "logistic recalibration",
                           "test_details": [{"bigger": "logistic", "smaller": "current",
                                             "statistic": 20.0, "df": 2, "p_value": 4.5e-5}],
                           "sample_size": {"refit": {"sufficient": False, "n_required": 3800,
                                                     "events_required": 2100,
                                                     "text": "needs n >= 3,800"},
                                           "logistic": {"sufficient": True, "n_required": 400,
                                                        "events_required": 200,
                                                        "text": "needs n >= 400"}},
                           "current_on_recent": {m: CI for m in updating.METRICS},
                           "updated_on_recent": {m: CI for m in updating.METRICS}},
              "dropout": {"step": "current", "reason": "not significantly better",
                          "step_text": "kept", "test_details": [], "sample_size": {},
                          "current_on_recent": {m: CI for m in updating.METRICS},
                          "updated_on_recent": {}}}}


def test_steps_refusals_and_evaluation_come_from_the_stored_result() -> None:
    steps = updating.steps_table(RESULT).set_index("outcome")
    assert steps.loc["Response", "step"] == "logistic"
    assert steps.loc["Response", "closed test (p-values)"] == "logistic vs current: p = 4.5e-05"
    assert steps.loc["Dropout", "closed test (p-values)"].startswith("no test")
    refused = updating.refused_table(RESULT)
    assert refused[["outcome", "step", "patients needed"]].values.tolist() == [
        ["Response", "refit", 3800]]
    evaluation = updating.evaluation_table(RESULT)
    assert evaluation[["outcome", "version"]].values.tolist() == [
        ["Response", "current"], ["Response", "updated"], ["Dropout", "current"]]
    assert set(evaluation["AUC"]) == {"0.700 (0.650–0.750)"}
    assert updating.headline(RESULT) == ("Update of v1 on 2,500 ended series: candidate v2 "
                                         "registered (not promoted): Response updated.")


def test_an_update_that_keeps_everything_says_nothing_was_registered() -> None:
    kept = {**RESULT, "version": None,
            "outcomes": {"dropout": RESULT["outcomes"]["dropout"]}}
    assert updating.headline(kept).endswith("every outcome kept as it is: nothing registered.")
