"""What an import returns, and the gate that keeps predictions hidden while inputs are missing.

Kept apart from the parser so the dashboard and the store code can use it without loading
the FHIR models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from models import schema
from models.eligibility import _REQUIRED as _SCREEN_INPUTS  # the screen's required inputs


@dataclass
class ImportResult:
    """One imported patient: schema-keyed values and what could not be read.

    ``missing`` lists every schema feature that was not found (nothing is guessed or
    defaulted); ``evidence`` maps each found feature to the resources it came from (the
    basis of an exported RiskAssessment); ``ignored`` counts skipped resource types.
    """

    patient: dict[str, Any]
    found: list[str]
    missing: list[str]
    warnings: list[str]
    source_ids: list[str]
    name: str | None = None
    fhir_patient_id: str | None = None
    evidence: dict[str, list[str]] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)
    reference_date: date | None = None

    @property
    def basis_observations(self) -> list[str]:
        """References of the Observations behind the found values (for the export)."""
        refs = [r for refs in self.evidence.values() for r in refs
                if r.startswith("Observation/")]
        return list(dict.fromkeys(refs))


def blocking_fields(result: ImportResult) -> list[str]:
    """Missing model inputs: no prediction may be shown until these are filled in."""
    needed = set(schema.model_feature_names())
    return [n for n in result.missing if n in needed]


def screen_blocking_fields(result: ImportResult) -> list[str]:
    """Missing inputs of the eligibility screen (it refuses to run without them)."""
    return [n for n in result.missing if n in _SCREEN_INPUTS]


def can_predict(result: ImportResult) -> bool:
    """True only when every model input was found (or has since been filled in)."""
    return not blocking_fields(result)


def can_screen(result: ImportResult) -> bool:
    """True only when every eligibility-screen input is present."""
    return not screen_blocking_fields(result)
