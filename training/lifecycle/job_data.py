"""The training data a job names, rebuilt by the worker from the job's plain-data spec.

Specs: ``{"source": "data_samples/"}``; ``{"source": "generated", "n": 2000, "seed": 1,
"effect_settings": {...}}`` (``training.generator.settings.EffectSettings`` fields);
``{"source": "upload", "folder": "<job folder>"}`` (validated CSVs the lab wrote there).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from base.settings import DATA_SAMPLES_DIR
from training.data import load_dataset
from training.generator.generate import generate_cohort
from training.generator.settings import EffectSettings


def load_job_data(spec: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(patients, sessions) for a job's data spec; ValueError for an unknown source."""
    source = spec.get("source")
    if source == "data_samples/":
        return load_dataset(DATA_SAMPLES_DIR)
    if source == "generated":
        settings = dataclasses.replace(EffectSettings(), **(spec.get("effect_settings") or {}))
        cohort = generate_cohort(int(spec["n"]), int(spec["seed"]), settings=settings)
        return cohort.patients, cohort.sessions
    if source == "upload":
        return load_dataset(Path(spec["folder"]))
    raise ValueError(f"unknown training data source {source!r}")


def data_description(spec: dict[str, Any]) -> dict[str, Any]:
    """What the model card says about the data (folder paths resolved)."""
    if spec.get("source") == "data_samples/":
        return {"source": str(DATA_SAMPLES_DIR.resolve()), "synthetic": True}
    return {k: v for k, v in spec.items() if k != "folder"} | (
        {"source": str(Path(spec["folder"]).resolve())} if "folder" in spec else {})
