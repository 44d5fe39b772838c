"""The eligibility screen's rules as data: thresholds and rule tables (clinical-reference §4).

Shared by the cited one-patient screen (``eligibility``) and the vectorised frame screen
(``eligibility_frame``), so both read the same numbers and neither imports the other's code.
"""

from __future__ import annotations

from models.contract import schema

# Thresholds. The uncontrolled-hypertension cut-offs are *unsourced* (clinical-reference §4)
# and named as such; the others are from the reference (seed article, Andrashko 2020,
# TRANSFORM-3).
UNSOURCED_UNCONTROLLED_SBP = 160  # mmHg, screening systolic at or above this excludes
UNSOURCED_UNCONTROLLED_DBP = 100  # mmHg, screening diastolic at or above this excludes
TRD_MIN_FAILED_TRIALS = 2
BENZO_TAPER_ABOVE_MG = 8.0  # diazepam-equivalent mg/day
OLDER_ADULT_AGE = 65

# (code, feature, value that triggers it: True for yes/no flags, else a category code)
EXCLUSIONS: tuple[tuple[str, str, object], ...] = (
    ("active_substance_use", "substance_use", "active"),
    ("psychosis_history", "psychosis_history", True),
    ("severe_heart_disease", "heart_disease", "severe"),
    ("severe_liver_disease", "liver_disease", "severe"),
    ("vascular_contraindication", "vascular_contraindication", True),
    ("raised_icp", "raised_icp", True),
    ("pregnant", "pregnant", True),
)
CAUTIONS: tuple[tuple[str, str, object], ...] = (
    ("substance_use_remission", "substance_use", "remission"),
    ("controlled_hypertension", "hypertension", "controlled"),
    ("weak_support_system", "support_system", "weak"),
    ("past_suicide_attempt", "past_suicide_attempt", True),
    ("maoi", "maoi", True),
    ("stimulant", "stimulant", True),
    ("opioid", "opioid", True),
)
# Every input the screen reads: it cannot run while one of them is missing (a data gap).
REQUIRED_INPUTS = sorted(
    {name for _, name, _ in EXCLUSIONS + CAUTIONS}
    | {f"dx_{code}" for code in schema.DIAGNOSES}
    | {"failed_ad_trials", "hypertension", "systolic_bp", "diastolic_bp", "benzo_dose_mg",
       "age"}
)
