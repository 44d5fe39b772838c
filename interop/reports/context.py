"""Filling a ``ReportContext`` from the model layer for one stored patient.

Uncertainty and session alerts come from the same functions the dashboard shows
(``models.clinical.risk_wording`` and ``models.clinical.session_alerts``, the clinical rules
of the model layer),
so the printed report and the screen never disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from base.clock import iso_text
from interop.reports.patient_report import PredictionLine, ReportContext
from models.clinical.eligibility import EligibilityResult, screen
from models.clinical.quality_gate import UNRELIABLE, gate_table, outcome_quality
from models.clinical.risk_wording import outcome_risk
from models.clinical.session_alerts import response_status, session_alerts
from models.contract import schema
from models.contract.doses import dose_text, not_applicable
from models.inference.explain import describe, explain_patient, sentences
from models.store.modelset import ModelSet

log = logging.getLogger(__name__)

KEY_INPUTS = ("age", "sex", "bmi", "primary_diagnosis", "phq9_baseline", "gad7_baseline",
              "systolic_bp", "diastolic_bp", "heart_rate", "failed_ad_trials", "benzo_dose_mg",
              "route", "dose_mg_per_kg", "psychotherapy", "sessions_per_week",
              "planned_sessions")


def _input_text(name: str, values: Mapping[str, Any]) -> str:
    """A key input as text; the dose in its route's unit ("56 mg", "0.50 mg/kg")."""
    if name == "dose_mg_per_kg":
        return dose_text(values.get("route"), values.get("dose_mg_per_kg"),
                         values.get("esketamine_dose_mg"))
    return schema.feature(name).format_value(values[name])


def eligibility_reasons(result: EligibilityResult) -> list[str]:
    """Every finding as a line: 'Exclusion: Pregnancy (Pregnancy: yes)'."""
    return [f"{kind}: {f.label} ({f.reason})" for kind, findings in
            (("Indication", result.indications), ("Exclusion", result.exclusions),
             ("Caution", result.cautions)) for f in findings]


def card_lines(card: Mapping[str, Any], version: str) -> list[str]:
    """The model card in a few printed lines: version, data, metrics, intended use, limits."""
    data = card.get("training_data", {}) or {}
    splits = data.get("splits", {}) or {}
    lines = [f"Version {version}, created {iso_text(card.get('created_utc'))}.",
             f"Training data: {data.get('n_patients', '?')} synthetic patients, "
             f"{data.get('n_sessions', '?')} sessions (test split: {splits.get('n_test', '?')}"
             " patients).",
             f"Intended use: {card.get('intended_use', 'not stated')}"]
    aucs = []
    for spec in schema.OUTCOMES:
        auc = ((card.get("metrics", {}) or {}).get(spec.name, {}) or {}).get("auc") or {}
        if auc.get("value") is not None:
            aucs.append(f"{spec.label} {auc['value']:.2f}")
    if aucs:
        lines.append("Held-out ROC AUC: " + "; ".join(aucs) + ".")
    verdicts = gate_table(card, [o.name for o in schema.OUTCOMES])
    greyed = [schema.outcome(n).label for n, q in verdicts.items() if not q.reliable]
    threshold = next(iter(verdicts.values())).threshold
    lines.append(f"Quality gate (lower 95 % bound of the held-out AUC at least {threshold:.2f}): "
                 + (f"not shown — {', '.join(greyed)} ({UNRELIABLE})." if greyed
                    else "every outcome passes."))
    lines += [f"Limit: {item}" for item in card.get("limits", [])]
    return lines + source_attribute_lines(card, version)


def source_attribute_lines(card: Mapping[str, Any], version: str) -> list[str]:
    """Where the 31 ONC HTI-1 source attributes of the version are (issue 28), and how many
    subgroup results rest on few patients."""
    rows = [row for entries in ((card.get("fairness") or {}).get("outcomes") or {}).values()
            for row in entries]
    lines = [f"Source attributes (ONC HTI-1, 31 attributes of version {version}): the "
             "'Source attributes' panel beside each prediction in the dashboard (candidate "
             "review link with ?show=source_attributes) and `kapcds card " + version +
             " --format pdf`."]
    if rows:
        small = sum(1 for row in rows if row.get("warning"))
        lines.append(f"Subgroup results (sex, age band, route; held-out, 95 % CI): {len(rows)} "
                     f"outcome-subgroup results, {small} with a small-n warning.")
    else:
        lines.append("Subgroup results with intervals: not recorded for this version.")
    return lines


def _predictions(model_set: ModelSet, card: Mapping[str, Any],
                 frame: pd.DataFrame) -> list[PredictionLine]:
    proba = model_set.predict_proba(frame).iloc[0]
    bounds = model_set.predict_interval(frame)
    lines = []
    for spec in schema.OUTCOMES:
        if spec.name not in proba.index:
            continue
        risk = outcome_risk(dict(card), None, spec.name, float(proba[spec.name]))
        observed = (None if risk.observed is None else
                    (risk.observed, float(risk.observed_lo), float(risk.observed_hi)))
        interval = (None if f"{spec.name}_lo" not in bounds or not risk.reliable else
                    (float(bounds[f"{spec.name}_lo"].iloc[0]),
                     float(bounds[f"{spec.name}_hi"].iloc[0])))
        lines.append(PredictionLine(spec.label, spec.kind, risk.probability,
                                    risk.calibration, observed, risk.auc, risk.reliable,
                                    interval))
    return lines


def _alerts(patient_id: str, baseline: float, sessions: pd.DataFrame) -> tuple[list[str], str]:
    alerts = [f"Session {a.session_number} · {a.kind} ({a.severity}): {a.message}"
              for a in session_alerts(patient_id, baseline, sessions)]
    return alerts, response_status(baseline, sessions)


def _explanation(model_set: ModelSet, values: dict[str, Any], name: str,
                 top: int) -> tuple[list[str], list[tuple[str, float]]]:
    """Sentences and the largest effects (probability points) of one outcome."""
    explanation = explain_patient(model_set, values, name)
    effects = explanation.effects.reindex(
        explanation.effects.abs().sort_values(ascending=False, kind="stable").index)
    effects = effects[effects.abs() > 5e-4].head(top)
    return (sentences(explanation, values, name, top=5),
            [(describe(n, values[n]), float(v)) for n, v in effects.items()
             if not not_applicable(n, values.get("route"))])  # no empty-dose line


def build_report_context(model_set: ModelSet, card: Mapping[str, Any],
                         patient_row: Mapping[str, Any] | pd.Series,
                         sessions_frame: pd.DataFrame, *, model_version: str | None = None,
                         explain_outcome: str = "response", alerts: Sequence[str] | None = None,
                         top: int = 8, generated_at: datetime | None = None,
                         followup: Sequence[str] = (),
                         decisions: Sequence[str] = ()) -> ReportContext:
    """A full report context for one patient (``patient_row`` holds id, name and every
    schema feature; ``sessions_frame`` the patient's sessions, possibly empty; ``followup``
    the lines of ``interop.reports.followup.followup_lines``; ``decisions`` those of
    ``interop.reports.decisions.decision_lines``)."""
    row = dict(patient_row)
    values = {f.name: row[f.name] for f in schema.FEATURES}
    pid = str(row[schema.ID_COLUMN])
    frame = pd.DataFrame([values])
    version = model_version or str(card.get("version") or "unknown")
    result = screen(values)
    quality = outcome_quality(card, explain_outcome)
    explained, withheld = [], ""
    if quality.reliable:
        explained = _explanation(model_set, values, explain_outcome, top)
    else:  # the quality gate: no sentences, no chart for this outcome
        withheld = f"{schema.outcome(explain_outcome).label}: not explained — {UNRELIABLE}."
    sessions = sessions_frame.sort_values("session_number")
    sessions.attrs = {}  # validated frames carry per-row line numbers, deep-copied by every op
    last = int(sessions["session_number"].max()) if len(sessions) else 0
    band = model_set.trajectory.predict_band(frame, max(int(values["planned_sessions"]), last))
    baseline = float(values["phq9_baseline"])
    computed_alerts, status = _alerts(pid, baseline, sessions)
    context = ReportContext(
        patient_id=pid, patient_name=str(row.get(schema.NAME_COLUMN) or pid),
        model_version=version, eligibility_status=result.status,
        eligibility_summary=result.summary, eligibility_reasons=eligibility_reasons(result),
        predictions=_predictions(model_set, card, frame),
        explanation_outcome=schema.outcome(explain_outcome).label,
        explanation_sentences=explained[0] if explained else [],
        explanation_effects=explained[1] if explained else [],
        explanation_withheld=withheld,
        phq9=[(int(s), float(p)) for s, p in zip(sessions.get("session_number", []),
                                                 sessions.get("phq9", []), strict=True)],
        band=[(int(r.session_number), float(r.q10), float(r.q50), float(r.q90))
              for r in band.itertuples()],
        baseline_phq9=baseline, progress_status=status,
        alerts=list(alerts) if alerts is not None else computed_alerts,
        ood=model_set.ood.explain_flags(values), model_card=card_lines(card, version),
        inputs=[(schema.feature(n).label, _input_text(n, values)) for n in KEY_INPUTS],
        generated_at=generated_at, followup=list(followup),
        decisions=list(decisions))
    log.info("report context for %s: %s, %d sessions, %d alerts", pid, result.status,
             len(sessions), len(context.alerts))
    return context
