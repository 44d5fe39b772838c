"""`kapcds update` (update a version on the clinic's realised outcomes) and the store source
of `kapcds train --from-store`: both read the store here and hand plain frames to
``training.updating``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kapcds.common import add_registry, add_version, audited, progress_bar, registry
from models.store.card_text import format_ci

METRICS = ("auc", "calibration_intercept", "calibration_slope", "brier")


def store_clinic(test_fraction: float | None = None):
    """The store's ended series as ``training.updating.clinic_data.ClinicData``; arrival
    order = the store's insertion order (what "recent patients" means in monitoring)."""
    from records.db import make_engine, session_factory
    from records.frames import patients_frame, sessions_frame
    from records.migrate import upgrade
    from records.predictions import newest_patient_ids
    from training.updating.clinic_data import TEST_FRACTION, clinic_dataset

    engine = make_engine()
    try:
        upgrade(engine)
        with session_factory(engine)() as session:
            patients, sessions = patients_frame(session), sessions_frame(session)
            arrival = list(reversed(newest_patient_ids(session, len(patients))))
    finally:
        engine.dispose()
    return clinic_dataset(patients, sessions, arrival, test_fraction or TEST_FRACTION)


def folder_clinic(folder: Path):
    """A cohort folder as a clinic: rows in file order are the arrival order."""
    from training.data import load_dataset
    from training.updating.clinic_data import clinic_dataset

    patients, sessions = load_dataset(folder)
    return clinic_dataset(patients, sessions, patients["patient_id"].astype(str).tolist())


def train_from_store(registry_dir: Path, promote: bool, seed: int = 0, progress=None) -> str:
    """``kapcds train --from-store``: a full training on the clinic's ended series, the most
    recent patients as the test split; registered (promoted only when asked)."""
    from models.store.registry import Registry
    from training.lifecycle.first_run import cli_user
    from training.train import train_model_set

    clinic = store_clinic()
    result = train_model_set(clinic.patients, clinic.sessions, seed=seed, progress=progress,
                             data_description={"source": "the clinic's store",
                                               "synthetic": False,
                                               "description": clinic.describe()},
                             test_ids=clinic.test["patient_id"].astype(str).tolist())
    result.card["trained_by"] = cli_user()
    models = Registry(registry_dir)
    version = models.register(result.model_set, result.card)
    if promote:
        models.promote(version)
    return version


def _update(args: argparse.Namespace) -> int:
    from models.store.card_text import render_card_markdown
    from training.lifecycle.first_run import cli_user
    from training.updating.card import update_card, update_markdown
    from training.updating.update import update_model_set

    source = "the store" if args.data is None else str(args.data)
    with audited("model_update", "model", f"--method {args.method} from {source}") as note:
        clinic = store_clinic() if args.data is None else folder_clinic(args.data)
        models = registry(args)
        model_set, card = models.load(args.version)
        with progress_bar("updating"):
            updated, results = update_model_set(model_set, clinic.fit, clinic.test,
                                                args.method, args.seed, args.bootstrap,
                                                args.outcome or None)
        sys.stdout.write(f"model version {card['version']} on {clinic.describe()}\n")
        sys.stdout.write(format_results(results) + "\n")
        if updated is None:
            note["detail"] += ": every outcome kept; nothing registered"
            sys.stdout.write("every outcome kept as it is: nothing registered\n")
            return 0
        new_card = update_card(card, updated, clinic.fit, clinic.test, results, args.method,
                               clinic.describe(), args.bootstrap, args.seed, cli_user())
        version = models.register(updated, new_card, render_card_markdown(new_card)
                                  + update_markdown(new_card))
        note["detail"] += f": candidate {version} (not promoted)"
    sys.stdout.write(f"registered candidate {version} (not promoted; review it in the model "
                     f"lab or with `kapcds evaluate --version {version}`)\n")
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
