"""SMART App Launch settings: scopes (constants) and ``KAPCDS_SMART_*`` (read on each call).

| variable | default | what |
|---|---|---|
| ``KAPCDS_SMART_REDIRECT_URI`` | ``http://localhost:8501/`` | the redirect URI registered |
|  |  | with the EHR: the dashboard's own address |
| ``KAPCDS_SMART_TIMEOUT`` | ``10`` | seconds per request to the EHR |

Issuers and client ids are not settings: an administrator allow-lists them in the store
(``records.security.smart_accounts``), so a change is audited and needs no restart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

EHR_SCOPES = "launch openid fhirUser patient/*.rs"  # EHR launch (SMART 2.x scope syntax)
STANDALONE_SCOPES = "launch/patient openid fhirUser patient/*.rs"  # the EHR asks for a patient
DEFAULT_REDIRECT_URI = "http://localhost:8501/"
ID_TOKEN_ALGORITHMS = ("RS256", "ES256")  # SMART requires RS256 support; ES256 allowed
LEEWAY_SECONDS = 60  # clock difference tolerated on exp/iat
MAX_PAGES = 20  # FHIR search pages per resource type; a longer result is named as cut short
MAX_BYTES = 10 * 1024 * 1024  # one FHIR response at most
# What the FHIR importer reads besides the Patient (interop/fhir/importer): searched by patient.
SEARCHED_TYPES = ("Observation", "Condition", "MedicationRequest", "MedicationStatement",
                  "QuestionnaireResponse")


class SmartError(Exception):
    """A launch that cannot go on; the message is shown to the user as it stands."""


@dataclass(frozen=True)
class SmartSettings:
    """The launch settings in force."""

    redirect_uri: str = DEFAULT_REDIRECT_URI
    timeout_s: float = 10.0


def smart_settings() -> SmartSettings:
    """Read ``KAPCDS_SMART_*`` now (no import-time work)."""
    env = os.environ.get
    timeout = float(env("KAPCDS_SMART_TIMEOUT", "").strip() or SmartSettings.timeout_s)
    if timeout <= 0:
        raise ValueError("KAPCDS_SMART_TIMEOUT must be a positive number of seconds")
    return SmartSettings(
        redirect_uri=env("KAPCDS_SMART_REDIRECT_URI", "").strip() or DEFAULT_REDIRECT_URI,
        timeout_s=timeout)
