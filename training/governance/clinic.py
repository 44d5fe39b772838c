"""What only the clinic can say about a model it deploys: a small file it edits by hand.

``$KAPCDS_HOME/clinic.json`` (override with ``KAPCDS_CLINIC_FILE``), for example::

    {"developer_contact": "AI governance lead, governance@clinic.example",
     "funding": "Clinic operating budget", "release_stage": "pilot (synthetic data only)"}

Every key is optional; a missing key is shown as "not available: not entered in ..." in
every export, never filled with a default. Unknown keys and non-text values are refused with
the key named, so a typo does not silently drop an attribute.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from base import settings

FIELDS: dict[str, str] = {
    "developer": "who developed and deploys the intervention (organisation)",
    "developer_contact": "name and contact of the person answering for the intervention",
    "funding": "funding source of the technical implementation",
    "stakeholders_consulted": "who was consulted (clinicians, patients, governance board)",
    "release_stage": "e.g. pilot, limited release, general use",
    "regulatory_approval": "regulatory status in the clinic's jurisdiction",
    "monitoring_frequency": "how often the clinic reviews the Monitoring view",
    "update_frequency": "how often the clinic retrains or recalibrates",
    "patient_disclosure": "how patients are told a model informs their care",
    "outcome_evaluations": "references to evaluations of the tool's effect on outcomes",
}
MAX_LENGTH = 2000


class ClinicFileError(ValueError):
    """The clinic file is not valid JSON or holds an unknown key or a non-text value."""


def clinic_file() -> Path:
    """Where the clinic's own statements live."""
    override = os.environ.get("KAPCDS_CLINIC_FILE")
    return Path(override).expanduser() if override else settings.home_dir() / "clinic.json"


def parse_clinic(text: str, where: str = "clinic.json") -> dict[str, str]:
    """The clinic's statements from JSON text (ClinicFileError saying what is wrong)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClinicFileError(f"{where} is not valid JSON (line {exc.lineno}, column "
                              f"{exc.colno}): {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ClinicFileError(f"{where} must hold one JSON object of text fields")
    out: dict[str, str] = {}
    for key, value in data.items():
        if key not in FIELDS:
            raise ClinicFileError(f"{where}: unknown key {key!r}; allowed: "
                                  f"{', '.join(FIELDS)}")
        if not isinstance(value, str):
            raise ClinicFileError(f"{where}: {key} must be text, not "
                                  f"{type(value).__name__}")
        if len(value) > MAX_LENGTH:
            raise ClinicFileError(f"{where}: {key} is {len(value)} characters (at most "
                                  f"{MAX_LENGTH})")
        if value.strip():
            out[key] = value.strip()
    return out


def read_clinic(path: Path | None = None) -> dict[str, str]:
    """The clinic's statements ({} when the file does not exist)."""
    path = Path(path) if path is not None else clinic_file()
    if not path.is_file():
        return {}
    return parse_clinic(path.read_text(encoding="utf-8"), str(path))


def missing_reason(key: str, path: Path | None = None) -> str:
    """The explicit reason an unfilled clinic field is shown with."""
    where = path or clinic_file()
    return f"not entered by the clinic ({key} in {Path(where).name}: {FIELDS[key]})"
