"""The training data a job names, rebuilt by the worker from the job's plain-data spec.

Specs: ``{"source": "data_samples/"}``; ``{"source": "generated", "n": 2000, "seed": 1,
"effect_settings": {...}}`` (``training.generator.settings.EffectSettings`` fields);
``{"source": "upload", "folder": "<job folder>"}`` (validated CSVs the lab wrote there,
sealed with the installation's HMAC: ``seal_upload`` when written, checked before training,
so a file swapped in the jobs folder between upload and training is refused, issue 24).
"""

from __future__ import annotations

import dataclasses
import hmac
import json
from pathlib import Path
from typing import Any

import pandas as pd

from base.files import write_atomically
from base.settings import DATA_SAMPLES_DIR
from base.signing import installation_key
from training.data import load_dataset
from training.generator.generate import generate_cohort
from training.generator.settings import EffectSettings

UPLOAD_FILES = ("patients.csv", "sessions.csv")
SEAL = "upload.mac"
PURPOSE = "job-upload"


def _tags(folder: Path) -> dict[str, str]:
    key = installation_key()
    return {name: key.mac(PURPOSE, f"{folder.name}/{name}\n".encode()
                          + (folder / name).read_bytes()) for name in UPLOAD_FILES}


def seal_upload(folder: Path) -> None:
    """Write the HMAC of each uploaded file (bound to the job folder's name) beside it."""
    write_atomically(folder / SEAL, json.dumps(_tags(folder), sort_keys=True))


def check_upload(folder: Path) -> None:
    """ValueError naming the file unless every upload file matches its seal."""
    try:
        sealed = json.loads((folder / SEAL).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"the job's upload in {folder} has no valid seal ({SEAL}); "
                         "upload the data again") from exc
    for name, tag in _tags(folder).items():
        if not hmac.compare_digest(str(sealed.get(name, "")), tag):
            raise ValueError(f"the job's {name} in {folder} was changed after upload (its "
                             "HMAC does not match); refused, upload the data again")


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
        check_upload(Path(spec["folder"]))
        return load_dataset(Path(spec["folder"]))
    raise ValueError(f"unknown training data source {source!r}")


def data_description(spec: dict[str, Any]) -> dict[str, Any]:
    """What the model card says about the data (folder paths resolved)."""
    if spec.get("source") == "data_samples/":
        return {"source": str(DATA_SAMPLES_DIR.resolve()), "synthetic": True}
    return {k: v for k, v in spec.items() if k != "folder"} | (
        {"source": str(Path(spec["folder"]).resolve())} if "folder" in spec else {})
