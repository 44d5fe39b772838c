"""Fitting, evaluating and watching model versions.

``generator`` makes the synthetic cohort, ``lifecycle`` runs first-run, held-out
evaluation, jobs and monitoring, ``distributed`` the Dask engine; fitting itself is here.
"""

__all__ = [
    "distributed",
    "generator",
    "governance",
    "lifecycle",
    "bootstrap_metrics",
    "data",
    "data_dictionary",
    "evaluate",
    "model_card",
    "outcomes",
    "parallel",
    "provenance",
    "train",
    "train_relapse",
]
