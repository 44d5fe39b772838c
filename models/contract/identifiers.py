"""The one rule for patient ids, shared by every entry point (forms, CSV, FHIR, store).

An id is 1 to 32 characters from ``A-Z a-z 0-9 . _ -``, starting with a letter or digit.
That keeps ids safe everywhere they end up: as file names (no ``/``, no ``..``, no leading
dot or dash), in HTML and Markdown (no markup characters), in terminals (no control
characters), in CSV (no formula start) and in the store's 32-character columns. Re-exported
by ``models.contract.schema``.
"""

from __future__ import annotations

import hashlib
import re

PATIENT_ID_MAX_LENGTH = 32
PATIENT_ID_RULE = (f"1 to {PATIENT_ID_MAX_LENGTH} characters: letters, digits, '.', '_' or "
                   "'-', starting with a letter or digit")
_PATIENT_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{PATIENT_ID_MAX_LENGTH - 1}}}")


def patient_id_problem(value: object) -> str | None:
    """Why ``value`` is not an acceptable patient id, or None if it is."""
    if not isinstance(value, str) or not value:
        return f"a patient id is required ({PATIENT_ID_RULE})"
    if _PATIENT_ID.fullmatch(value):
        return None
    shown = value if len(value) <= 40 else value[:40] + "…"
    return f"{shown!r} is not a valid patient id ({PATIENT_ID_RULE})"


def is_valid_patient_id(value: object) -> bool:
    """True when ``value`` follows the patient id rule."""
    return patient_id_problem(value) is None


def safe_patient_id(value: str, prefix: str = "FHIR-") -> str:
    """``value`` if it follows the rule, else a stable id derived from it (prefix + hash).

    For imports from systems with other rules (FHIR ids allow 64 characters): the same
    foreign id always maps to the same local id; keep the original as an identifier.
    """
    if is_valid_patient_id(value):
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return f"{prefix}{digest[:PATIENT_ID_MAX_LENGTH - len(prefix)]}"
