"""Prospective monitoring (issue 14, part 3): a clinic whose recent patients come from a
shifted generator triggers the drift and calibration warnings; an unshifted one does not."""

from __future__ import annotations

import dataclasses
import logging

import pandas as pd
import pytest

from models.contract.schema import ID_COLUMN
from training.generator.generate import generate_cohort
from training.generator.settings import EffectSettings, PopulationSettings
from training.lifecycle.monitor import ALPHA, PSI_SIGNIFICANT
from training.lifecycle.monitor_clinic import clinic_monitor, ended_series

log = logging.getLogger(__name__)

# Older referrals with higher screening blood pressure, mostly intranasal esketamine, and a
# stronger post-dose blood-pressure rise and weaker response than the training clinic.
SHIFTED_POPULATION = PopulationSettings(age_shift=15, bp_shift=15,
                                        route_mix=(0.15, 0.05, 0.6, 0.2))
SHIFTED_EFFECTS = dataclasses.replace(EffectSettings(), sbp_rise_mean=24.0,
                                      improvement_intercept=-0.1)
CLINIC_PATIENTS = 1500
# The session model (2,000 patients) is measurably under-confident for the weak side-effect
# outcomes on any fresh clinic (realised slopes ~1.8-2.0 for dissociation and nausea), so
# the rule rightly suggests recalibrating it even without a shift. The shift test needs a
# version that is calibrated on its own population: one trained on 8,000 patients.
TRAIN_PATIENTS = 8000


@pytest.fixture(scope="module")
def trained(trained):  # noqa: F811 - replaces the session fixture in this module
    from training.train import train_model_set

    cohort = generate_cohort(TRAIN_PATIENTS, seed=777)
    result = train_model_set(cohort.patients, cohort.sessions, seed=0, n_bootstrap=20)
    return type(trained)(cohort, result, trained.holdout)


def clinic(trained, seed: int, shifted: bool):
    cohort = generate_cohort(CLINIC_PATIENTS, seed, id_offset=80_000,
                             settings=SHIFTED_EFFECTS if shifted else None,
                             population=SHIFTED_POPULATION if shifted else None)
    patients = cohort.patients
    proba = trained.model_set.predict_proba(patients)
    shown = pd.concat([pd.DataFrame({"id": range(len(patients)),
                                     ID_COLUMN: patients[ID_COLUMN],
                                     "model_version": "v1"}), proba], axis=1)
    recent = patients[ID_COLUMN].tail(300).tolist()
    return clinic_monitor("v1", trained.model_set, trained.result.card, patients,
                          cohort.sessions, shown, recent, n_boot=100)


def _log(label: str, result) -> None:
    for o in result.outcomes:
        m = o.metrics
        log.warning("%s %s n=%d AUC %s slope %s intercept %s cox p=%s -> %s", label,
                    o.outcome, o.n, m.get("auc"), m.get("calibration_slope"),
                    m.get("calibration_intercept"), o.cox_p, o.suggestion or "ok")
    log.warning("%s drift top: %s", label, result.drift.head(4).to_dict("records"))
    log.warning("%s -> %s %s", label, result.suggestion, result.reasons)


def test_unshifted_clinic_raises_no_warning(trained) -> None:
    result = clinic(trained, seed=31337, shifted=False)
    _log("unshifted", result)
    assert result.n_patients == CLINIC_PATIENTS
    assert all(o.suggestion != "retraining" for o in result.outcomes), result.reasons
    # Issue 23 (defect 8): recalibration is also suggested when a calibration CI excludes
    # its ideal value. 1,500 ended series resolve small miscalibration in the large that
    # the Bonferroni-corrected joint test lets pass (here dissociation intercept 0.15,
    # 95 % CI 0.01-0.29; nausea -0.16, -0.25 to -0.06), so such a suggestion may appear on
    # an unshifted clinic; the joint test itself still rejects nothing.
    for o in result.outcomes:
        assert o.cox_p >= ALPHA / len(result.outcomes), result.reasons
        if o.suggestion:
            assert o.suggestion == "recalibration" and "excludes the ideal" in o.reason
    assert (result.drift["psi"] <= PSI_SIGNIFICANT).all()
    assert result.suggestion in ("", "recalibration suggested")
    assert not any("drift" in r for r in result.reasons)


def test_shifted_clinic_triggers_drift_and_calibration_warnings(trained) -> None:
    result = clinic(trained, seed=31338, shifted=True)
    _log("shifted", result)
    significant = set(result.drift.loc[result.drift["shift"] == "significant", "feature"])
    assert {"age", "systolic_bp", "route"} <= significant
    flagged = {o.outcome for o in result.outcomes if o.suggestion}
    assert "recalibration" in {o.suggestion for o in result.outcomes} or \
        "retraining" in {o.suggestion for o in result.outcomes}
    assert {"hypertensive_reaction", "response"} & flagged
    assert result.suggestion == "retraining suggested"
    assert any("significant input drift" in r for r in result.reasons)


def test_only_ended_series_count(trained) -> None:
    cohort = generate_cohort(200, 4242)
    sessions = cohort.sessions
    first = cohort.patients[ID_COLUMN].iloc[0]
    planned = int(cohort.patients["planned_sessions"].iloc[0])
    cut = sessions[~((sessions[ID_COLUMN] == first) & (sessions["session_number"] > 1))]
    cut = cut.assign(dropout_after=cut["dropout_after"].where(cut[ID_COLUMN] != first, False))
    realised = ended_series(cohort.patients, cut)
    assert (first in set(realised[ID_COLUMN])) == (planned <= 1)
    assert len(realised) == len(cohort.patients) - (planned > 1)
    with pytest.raises(KeyError):
        ended_series(cohort.patients.drop(columns=["planned_sessions"]), cut)


def test_maintenance_sessions_do_not_change_realised_outcomes(trained) -> None:
    """Outcomes are the induction series': a maintenance session (PHQ-9 27) after it would
    turn responders into non-responders if it were counted."""
    cohort = generate_cohort(300, 4343, id_offset=90_000)
    patients, sessions = cohort.patients, cohort.sessions.assign(phase="induction")
    last = sessions.groupby(ID_COLUMN).tail(1)
    later = pd.concat([sessions, last.assign(session_number=last["session_number"] + 20,
                                             phq9=27, phase="maintenance")],
                      ignore_index=True)
    assert ended_series(patients, sessions)["response"].sum() != \
        ended_series(patients, later)["response"].sum()  # it would matter unfiltered
    proba = trained.model_set.predict_proba(patients)
    shown = pd.concat([pd.DataFrame({"id": range(len(patients)), ID_COLUMN: patients[ID_COLUMN],
                                     "model_version": "v1"}), proba], axis=1)
    runs = [clinic_monitor("v1", trained.model_set, trained.result.card, patients, s, shown,
                           [], n_boot=20) for s in (sessions, later)]
    assert [(o.outcome, o.n, o.events) for o in runs[0].outcomes] == \
        [(o.outcome, o.n, o.events) for o in runs[1].outcomes]
