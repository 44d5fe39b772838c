"""Effect sizes of the synthetic cohort's structural causal model.

Every number is a setting so the model lab can generate cohorts with other effects. Where
`clinical-reference.md` gives a direction or size it is cited; anything else is marked
*unsourced* and chosen only to land the cohort's marginal rates in the published ranges.
Effects on response act on the logit of a patient's latent maximal improvement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class EffectSettings:
    """Effect sizes (logit scale unless stated) of the generator's causal model."""

    # --- response: latent improvement logit -------------------------------------------
    improvement_intercept: float = 0.55  # *unsourced*: tuned so ~55 % respond (McInnes 2022)
    improvement_sd: float = 0.9  # unexplained between-patient variation
    bmi_per_unit: float = 0.06  # higher BMI -> better (Niciu 2014; Freeman 2019)
    family_aud: float = 0.5  # family history of AUD -> better (Niciu 2014)
    past_attempt: float = -0.45  # past suicide attempt -> less improvement (Niciu 2014)
    benzo_per_mg_above_8: float = -0.07  # > 8 mg diazepam-eq/day -> weaker (Andrashko 2020)
    anxious_depression: float = 0.45  # -> better (Ionescu 2014)
    ace_per_point: float = 0.12  # childhood adversity -> more improvement (clinic cohort)
    failed_trial_per_trial: float = -0.12  # *unsourced* size; direction per Price 2022
    esketamine_age65: float = -0.8  # age >= 65 with esketamine -> lower (TRANSFORM-3)
    psychotherapy: dict[str, float] = field(
        default_factory=lambda: {"none": -0.35, "supportive": 0.0, "integrated": 0.45}
    )  # *unsourced* size; integrated psychotherapy -> better (seed article)
    support: dict[str, float] = field(
        default_factory=lambda: {"weak": -0.45, "moderate": 0.0, "strong": 0.3}
    )  # *unsourced* size; strong support -> better (seed article)
    route: dict[str, float] = field(
        default_factory=lambda: {
            "iv": 0.35, "im": 0.25, "intranasal_esketamine": 0.0, "oral_sublingual": -0.5,
        }
    )  # *unsourced* ordering IV >= IM > intranasal > oral (bioavailability)
    dose_per_relative_unit: float = 0.4  # dose / route's typical dose; *unsourced*
    dissociation_benefit: float = 0.35  # per SD of dissociation propensity, IV/IM only
    improvement_time_constant: float = 2.6  # sessions; median ~3 infusions (Phillips 2019)

    # --- dissociation (CADSS) ---------------------------------------------------------
    cadss_log_mean: float = 1.8  # IV mean CADSS ~7.7 (Yale 2018)
    cadss_log_sd: float = 0.85
    cadss_dose_per_relative_unit: float = 0.9
    cadss_route: dict[str, float] = field(
        default_factory=lambda: {
            "iv": 0.0, "im": 0.15, "intranasal_esketamine": -0.1, "oral_sublingual": -0.9,
        }
    )
    cadss_tolerance_per_session: float = -0.05

    # --- nausea / vomiting --------------------------------------------------------------
    nausea_intercept: float = -2.95  # *unsourced*: ~35 % of patients over a series
    nausea_female: float = 0.35  # *unsourced*
    nausea_dose_per_relative_unit: float = 0.9
    nausea_route: dict[str, float] = field(
        default_factory=lambda: {
            "iv": 0.0, "im": 0.2, "intranasal_esketamine": 0.45, "oral_sublingual": 0.3,
        }
    )  # esketamine nausea 29.4 % vs placebo 10.6 % (TRANSFORM-1)
    nausea_opioid: float = 0.5  # *unsourced*
    vomiting_given_nausea: float = 0.28

    # --- blood pressure (mmHg) ----------------------------------------------------------
    sbp_rise_mean: float = 16.0  # IV systolic +16 (SD 11) at 30-40 min (Yale 2024)
    sbp_rise_sd: float = 7.0
    sbp_rise_per_year_over_45: float = 0.25  # older age raises risk (OR 1.04/yr, Yale 2024)
    sbp_rise_hypertension: dict[str, float] = field(
        default_factory=lambda: {"none": 0.0, "controlled": 6.0, "uncontrolled": 12.0}
    )
    sbp_rise_per_cadss_point: float = 0.25  # dissociation raises BP (Yale 2024)
    sbp_rise_dose_per_relative_unit: float = 10.0
    sbp_rise_route_factor: dict[str, float] = field(
        default_factory=lambda: {
            "iv": 1.0, "im": 1.0, "intranasal_esketamine": 0.75, "oral_sublingual": 0.5,
        }
    )
    patient_bp_reactivity_sd: float = 9.5

    # --- dropout ------------------------------------------------------------------------
    dropout_intercept: float = -2.95  # *unsourced*: tuned so ~20 % stop after session 1
    dropout_first_session: float = 1.6  # the first session is where most stop (ORKA-2)
    dropout_nausea: float = 0.6
    dropout_vomiting: float = 0.5
    dropout_cadss_per_point_over_20: float = 0.04
    dropout_bp_event: float = 0.7
    dropout_per_improvement: float = -1.5  # benefit keeps patients in treatment
    dropout_support: dict[str, float] = field(
        default_factory=lambda: {"weak": 0.6, "moderate": 0.0, "strong": -0.35}
    )
    dropout_substance: dict[str, float] = field(
        default_factory=lambda: {"none": 0.0, "remission": 0.45, "active": 1.0}
    )
    dropout_psychotherapy: dict[str, float] = field(
        default_factory=lambda: {"none": 0.35, "supportive": 0.0, "integrated": -0.35}
    )
    dropout_patient_sd: float = 0.5

    def to_dict(self) -> dict[str, object]:
        """Plain dict for model cards and the model lab."""
        return asdict(self)


# Directions the generator plants, per outcome (+1 raises the outcome's probability).
# Tests check that models recover each one by the sign of the mean SHAP effect.
PLANTED_DIRECTIONS: dict[str, dict[str, int]] = {
    "response": {
        "bmi": +1, "family_history_aud": +1, "past_suicide_attempt": -1, "benzo_dose_mg": -1,
        "anxious_depression": +1, "ace_score": +1, "failed_ad_trials": -1,
    },
    "remission": {"bmi": +1, "ace_score": +1, "failed_ad_trials": -1, "phq9_baseline": -1},
    "significant_dissociation": {"dose_mg_per_kg": +1},
    "nausea_vomiting": {"dose_mg_per_kg": +1},
    "hypertensive_reaction": {"age": +1, "systolic_bp": +1},
    "dropout": {},
}
PLANTED_CATEGORY_ORDER: dict[str, dict[str, tuple[str, ...]]] = {
    # Categories listed from lowest to highest planted effect on the outcome.
    "response": {
        "psychotherapy": ("none", "supportive", "integrated"),
        "support_system": ("weak", "moderate", "strong"),
    },
    "dropout": {"support_system": ("strong", "moderate", "weak")},
    "hypertensive_reaction": {"hypertension": ("none", "controlled")},
}


@dataclass(frozen=True)
class PopulationSettings:
    """A shifted referral population (issue 14: monitoring tests, a clinic that changed).

    Applied after the baseline draw: ``age_shift`` years added (clipped to 18-90),
    ``bp_shift`` mmHg added to screening systolic and half of it to diastolic (clipped to
    the schema ranges), and, with ``route_mix``, routes redrawn with these probabilities
    (order ``models.contract.schema.ROUTES``) and doses redrawn around the new route's typical dose.
    The defaults change nothing.
    """

    age_shift: float = 0.0
    bp_shift: float = 0.0
    route_mix: tuple[float, float, float, float] | None = None
