"""Rule-based eligibility screen (clinical-reference §4), kept apart from the ML models.

The screen must be explainable line by line, so each rule is a plain table entry and every
finding cites the patient's own value. Labels and value wording come from
``models.contract.schema``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from models.clinical.eligibility_frame import screen_codes
from models.clinical.eligibility_rules import (  # noqa: F401  (re-exported: the screen's numbers)
    BENZO_TAPER_ABOVE_MG,
    OLDER_ADULT_AGE,
    REQUIRED_INPUTS,
    TRD_MIN_FAILED_TRIALS,
    UNSOURCED_UNCONTROLLED_DBP,
    UNSOURCED_UNCONTROLLED_SBP,
)
from models.clinical.eligibility_rules import CAUTIONS as _CAUTIONS
from models.clinical.eligibility_rules import EXCLUSIONS as _EXCLUSIONS
from models.contract import schema

log = logging.getLogger(__name__)

Kind = Literal["indication", "exclusion", "caution"]
Status = Literal["eligible", "eligible_with_cautions", "not_eligible", "no_indication"]


@dataclass(frozen=True)
class Finding:
    """One rule that fired, with the patient's value that made it fire."""

    code: str
    kind: Kind
    label: str
    reason: str


@dataclass
class EligibilityResult:
    """The screen's verdict and every finding behind it."""

    status: Status
    indications: list[Finding] = field(default_factory=list)
    exclusions: list[Finding] = field(default_factory=list)
    cautions: list[Finding] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return self.status in ("eligible", "eligible_with_cautions")

    @property
    def summary(self) -> str:
        """One sentence a clinician can read at a glance."""
        def listed(findings: list[Finding]) -> str:  # the reason only when it adds something
            return "; ".join(f.label if f.reason == f.label else f"{f.label} ({f.reason})"
                             for f in findings)

        if self.status == "not_eligible":
            return f"Not eligible. Exclusion: {listed(self.exclusions)}."
        if self.status == "no_indication":
            needed = ", ".join(schema.DIAGNOSIS_LABELS)
            return (f"No indication for this programme (needs one of: {needed}; "
                    f"treatment-resistant depression needs ≥ {TRD_MIN_FAILED_TRIALS} failed "
                    "antidepressant trials).")
        indications = ", ".join(f.label for f in self.indications)
        if self.status == "eligible_with_cautions":
            return f"Eligible ({indications}) with cautions: {listed(self.cautions)}."
        return f"Eligible ({indications}); no cautions."


def _flag(value: object, name: str) -> bool:
    """Yes/no value from a validated frame, a form or a CSV string."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes", "false", "0", "no"):
            return text in ("true", "1", "yes")
        raise ValueError(f"{name}: {value!r} is not a yes/no value")
    return bool(value)


def _cite(patient: Mapping[str, object], name: str) -> str:
    """The patient's value in clinical wording, e.g. ``Age: 70 years``."""
    spec = schema.feature(name)
    return f"{spec.label}: {spec.format_value(patient[name])}"


def _matches(patient: Mapping[str, object], name: str, trigger: object) -> bool:
    if trigger is True:
        return _flag(patient[name], name)
    return str(patient[name]).strip() == trigger


def _table_findings(patient: Mapping[str, object], rules: tuple[tuple[str, str, object], ...],
                    kind: Kind) -> list[Finding]:
    findings = []
    for code, name, trigger in rules:
        if _matches(patient, name, trigger):
            spec = schema.feature(name)
            label = spec.label if trigger is True else \
                f"{spec.label}: {spec.category_label(str(trigger))}"
            findings.append(Finding(code, kind, label, _cite(patient, name)))
    return findings


def _indications(patient: Mapping[str, object]) -> list[Finding]:
    found = []
    trials = int(float(patient["failed_ad_trials"]))  # type: ignore[arg-type]
    for code, label in zip(schema.DIAGNOSES, schema.DIAGNOSIS_LABELS, strict=True):
        name = f"dx_{code}"
        if not _flag(patient[name], name):
            continue
        reason = _cite(patient, name)
        if code == "trd":
            if trials < TRD_MIN_FAILED_TRIALS:
                continue
            reason += f"; {_cite(patient, 'failed_ad_trials')} ≥ {TRD_MIN_FAILED_TRIALS}"
        found.append(Finding(code, "indication", label, reason))
    return found


def _hypertension(patient: Mapping[str, object], sbp_limit: float,
                  dbp_limit: float) -> list[Finding]:
    sbp, dbp = float(patient["systolic_bp"]), float(patient["diastolic_bp"])  # type: ignore
    reasons = []
    if str(patient["hypertension"]).strip() == "uncontrolled":
        reasons.append(_cite(patient, "hypertension"))
    if sbp >= sbp_limit or dbp >= dbp_limit:
        reasons.append(f"screening BP {sbp:g}/{dbp:g} mmHg ≥ {sbp_limit:g}/{dbp_limit:g} "
                       "[unsourced threshold]")
    if not reasons:
        return []
    return [Finding("uncontrolled_hypertension", "exclusion", "Uncontrolled hypertension",
                    "; ".join(reasons))]


def known_exclusions(patient: Mapping[str, object], *,
                     sbp_limit: float = UNSOURCED_UNCONTROLLED_SBP,
                     dbp_limit: float = UNSOURCED_UNCONTROLLED_DBP) -> list[Finding]:
    """The exclusions the values present already prove, while other inputs are missing.

    A contraindication outranks a gap: an EHR order for a patient with a recorded psychosis
    must be flagged even when the screen as a whole cannot run yet (issue 26). Values that
    are absent (or None) prove nothing and are never assumed.
    """
    known = {k: v for k, v in patient.items() if v is not None and not (
        isinstance(v, float) and v != v)}
    present = tuple(rule for rule in _EXCLUSIONS if rule[1] in known)
    found = _table_findings(known, present, "exclusion")
    if {"hypertension", "systolic_bp", "diastolic_bp"} <= known.keys():
        found += _hypertension(known, sbp_limit, dbp_limit)
    elif str(known.get("hypertension", "")).strip() == "uncontrolled":
        found.append(Finding("uncontrolled_hypertension", "exclusion",
                             "Uncontrolled hypertension", _cite(known, "hypertension")))
    return found


def screen(patient: Mapping[str, object], *,
           sbp_limit: float = UNSOURCED_UNCONTROLLED_SBP,
           dbp_limit: float = UNSOURCED_UNCONTROLLED_DBP) -> EligibilityResult:
    """Apply the §4 rules to one patient (validated values, or a form's raw values).

    Any exclusion makes the patient ``not_eligible`` (a contraindication outranks a missing
    indication); otherwise no indication gives ``no_indication``. A missing or empty input
    raises ``ValueError``: a screen must never pass a patient because a field was blank.
    """
    missing = [name for name in REQUIRED_INPUTS if name not in patient or patient[name] is None
               or (isinstance(patient[name], float) and patient[name] != patient[name])
               or str(patient[name]).strip() == ""]
    if missing:
        raise ValueError(f"cannot screen: missing value(s) for {', '.join(missing)}")
    indications = _indications(patient)
    exclusions = _table_findings(patient, _EXCLUSIONS, "exclusion")
    exclusions += _hypertension(patient, sbp_limit, dbp_limit)
    cautions = _table_findings(patient, _CAUTIONS, "caution")
    if any(f.code == "uncontrolled_hypertension" for f in exclusions):
        cautions = [c for c in cautions if c.code != "controlled_hypertension"]
    benzo = float(patient["benzo_dose_mg"])  # type: ignore[arg-type]
    if benzo > BENZO_TAPER_ABOVE_MG:
        cautions.append(Finding(
            "benzodiazepine_dose", "caution",
            f"{schema.feature('benzo_dose_mg').label} > {BENZO_TAPER_ABOVE_MG:g} mg/day",
            f"{_cite(patient, 'benzo_dose_mg')} > {BENZO_TAPER_ABOVE_MG:g}: weaker response "
            "expected, consider a taper"))
    if float(patient["age"]) >= OLDER_ADULT_AGE:  # type: ignore[arg-type]
        cautions.append(Finding("age_65_plus", "caution", f"Age ≥ {OLDER_ADULT_AGE}",
                                f"{_cite(patient, 'age')} ≥ {OLDER_ADULT_AGE}"))
    if exclusions:
        status: Status = "not_eligible"
    elif not indications:
        status = "no_indication"
    else:
        status = "eligible_with_cautions" if cautions else "eligible"
    return EligibilityResult(status, indications, exclusions, cautions)


def screen_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Screen every row; codes are semicolon-joined so the frame writes cleanly to CSV.

    Validated frames take the vectorised rules (``models.clinical.eligibility_frame``, the same
    codes
    without building each finding's text); anything else goes row by row through ``screen``.
    """
    out = screen_codes(df)
    if out is None:
        results = [screen(row) for row in df.to_dict("records")]
        out = pd.DataFrame({
            "eligibility_status": [r.status for r in results],
            "exclusions": [";".join(f.code for f in r.exclusions) for r in results],
            "cautions": [";".join(f.code for f in r.cautions) for r in results],
        }, index=df.index)
    log.info("screened %d patients: %s", len(out),
             out["eligibility_status"].value_counts().to_dict())
    return out
