"""`kapcds monitor`: the Monitoring view's figures as text (same training.lifecycle.monitor
code)."""

from __future__ import annotations

from pathlib import Path

from models.store.card_text import format_ci
from models.store.registry import Registry
from records.db import make_engine, session_factory
from records.frames import patients_frame, sessions_frame
from records.migrate import upgrade
from records.predictions import newest_patient_ids, predictions_frame
from training.lifecycle.monitor import VersionMonitor
from training.lifecycle.monitor_clinic import clinic_monitor


def monitor_store(registry_dir: Path, version: str | None, recent: int,
                  backscore: bool) -> VersionMonitor:
    """Monitor a version (default: the current one) on the configured store."""
    registry = Registry(registry_dir)
    model_set, card = registry.load(version)
    version = card["version"]
    engine = make_engine()
    try:
        upgrade(engine)
        with session_factory(engine)() as session:
            patients, sessions = patients_frame(session), sessions_frame(session)
            predictions = predictions_frame(session, version)
            recent_ids = newest_patient_ids(session, recent)
    finally:
        engine.dispose()
    return clinic_monitor(version, model_set, card, patients, sessions, predictions,
                          recent_ids, backscore=backscore)


def format_monitor(result: VersionMonitor) -> str:
    """The report as plain text: verdict, per-outcome table, deciles, drift."""
    lines = [f"model version {result.version}: {result.suggestion or 'no action suggested'}",
             *[f"  - {reason}" for reason in result.reasons],
             *[f"  → {action}" for action in result.actions],
             f"realised outcomes of {result.n_patients:,} patients ({result.source})", "",
             f"{'outcome':26} {'n':>6} {'events':>6}  {'realised AUC':22} {'test AUC':22} "
             f"{'cal. intercept':22} {'cal. slope':22} suggestion"]
    for o in result.outcomes:
        m = o.metrics
        lines.append(f"{o.outcome:26} {o.n:>6} {o.events:>6}  {format_ci(m.get('auc'), 2):22} "
                     f"{format_ci(o.test_auc, 2):22} "
                     f"{format_ci(m.get('calibration_intercept'), 2):22} "
                     f"{format_ci(m.get('calibration_slope'), 2):22} {o.suggestion or '-'}")
    for o in result.outcomes:
        if o.deciles:
            cells = ", ".join(f"{d['mean_predicted']:.0%}→{d['observed']:.0%}"
                              f" [{d['observed_lo']:.0%}-{d['observed_hi']:.0%}]"
                              for d in o.deciles)
            lines.append(f"deciles {o.outcome} (predicted→observed [95 % CI]): {cells}")
    lines += ["", f"input drift: {result.n_recent:,} newest patients vs the training patients"]
    for row in result.drift.head(12).itertuples():
        lines.append(f"  {row.feature:28} PSI {row.psi:6.3f}  {row.shift}")
    return "\n".join(lines)


def monitor_text(registry_dir: Path, version: str | None, recent: int,
                 backscore: bool) -> str:
    """What `kapcds monitor` prints."""
    return format_monitor(monitor_store(registry_dir, version, recent, backscore))
