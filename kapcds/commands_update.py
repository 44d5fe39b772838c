"""`kapcds update` (update a version on the clinic's realised outcomes): the store or a cohort
folder as a clinic, handed to ``kapcds.updating`` (shared with the lab's worker)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kapcds.common import add_registry, add_version, audited, progress_bar, registry
from models.store.card_text import format_ci

METRICS = ("auc", "calibration_intercept", "calibration_slope", "brier")


def folder_clinic(folder: Path):
    """A cohort folder as a clinic: rows in file order are the arrival order."""
    from training.data import load_dataset
    from training.updating.clinic_data import clinic_dataset

    patients, sessions = load_dataset(folder)
    return clinic_dataset(patients, sessions, patients["patient_id"].astype(str).tolist())


def _update(args: argparse.Namespace) -> int:
    from kapcds.updating import store_clinic, update_version
    from training.lifecycle.first_run import cli_user

    source = "the store" if args.data is None else str(args.data)
    with audited("model_update", "model", f"--method {args.method} from {source}") as note:
        clinic = store_clinic() if args.data is None else folder_clinic(args.data)
        with progress_bar("updating"):
            run = update_version(registry(args), args.version, clinic, args.method,
                                 cli_user(), args.seed, args.bootstrap, args.outcome)
        sys.stdout.write(f"model version {run.parent} on {clinic.describe()}\n")
        sys.stdout.write(format_results(run.results) + "\n")
        if run.version is None:
            note["detail"] += ": every outcome kept; nothing registered"
            sys.stdout.write("every outcome kept as it is: nothing registered\n")
            return 0
        note["detail"] += f": candidate {run.version} (not promoted)"
    sys.stdout.write(f"registered candidate {run.version} (not promoted; review it in the "
                     f"model lab or with `kapcds evaluate --version {run.version}`)\n")
    return 0


def format_results(results) -> str:
    """Per outcome: the step and why, refused steps, current vs updated on recent patients."""
    lines = []
    for name, r in results.items():
        lines.append(f"{name}: {r.step} — {r.reason}")
        for step, check in r.sample_size.items():
            if not check.sufficient:
                lines.append(f"  {step} refused: {check.describe()}")
        for label, metrics in (("current", r.current_on_recent), ("updated",
                                                                   r.updated_on_recent)):
            if metrics:
                cells = "  ".join(f"{m} {format_ci(metrics.get(m), 3)}" for m in METRICS)
                lines.append(f"  {label:8} on recent patients: {cells}")
    return "\n".join(lines)


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add `update` to the parser."""
    from training.updating.update import METHODS

    p = sub.add_parser("update", help="update a version on the clinic's realised outcomes",
                       description="Per outcome, on the store's ended series (older patients "
                       "to fit, the most recent to test): recalibration in the large, "
                       "logistic recalibration, revision or refit, each only when Riley et "
                       "al.'s sample-size criteria allow it; --method auto lets a closed "
                       "likelihood-ratio test choose (Vergouwe 2017). The result is "
                       "registered as a candidate, never promoted.")
    add_registry(p)
    add_version(p)
    p.add_argument("--method", choices=METHODS, default="auto",
                   help="updating step, or auto (default) for the closed test")
    p.add_argument("--from-store", action="store_true", default=True,
                   help="use the store's patients (the default; --data replaces it)")
    p.add_argument("--data", type=Path, default=None,
                   help="a labelled cohort folder instead of the store (rows in arrival order)")
    p.add_argument("--outcome", action="append", default=None,
                   help="only this outcome (repeatable; default: every outcome)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fits and the bootstrap")
    p.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for CIs")
    p.set_defaults(handler=_update)
