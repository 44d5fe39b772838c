"""The learners: calibrated LightGBM outcome models, the PHQ-9 trajectory and relapse
models, per-patient intervals and out-of-distribution flags.
"""

__all__ = [
    "calibration",
    "estimators",
    "lgbm_params",
    "ood",
    "relapse",
    "trajectory",
    "uncertainty",
    "updated_interval",
]
