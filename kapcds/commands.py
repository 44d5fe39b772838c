"""Sub-commands of `kapcds`; each registers its parser and imports its work lazily."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from base import settings
from base.files import write_atomically
from kapcds.common import (
    add_registry,
    add_version,
    audited,
    load_model,
    progress_bar,
    promotion_audit,
    registry,
)

log = logging.getLogger(__name__)


def _generate(args: argparse.Namespace) -> int:
    from training.generator.generate import generate_cohort, write_cohort

    if args.patients < 1:
        raise ValueError("--patients must be at least 1")
    cohort = generate_cohort(args.patients, args.seed, with_truth=args.with_truth)
    for path in write_cohort(cohort, args.out):
        sys.stdout.write(f"{path}\n")
    return 0


def _train(args: argparse.Namespace) -> int:
    from kapcds.promotion import promote_trained
    from training.lifecycle.first_run import train_and_register
    from training.parallel import command_threads

    source = "the store" if getattr(args, "from_store", False) else args.data
    with audited("model_training", "model", f"from {source}") as note:
        with progress_bar("training") as update, command_threads(getattr(args, "threads", None)):
            if getattr(args, "from_store", False):
                from kapcds.updating import train_from_store
                from training.lifecycle.first_run import cli_user

                version = train_from_store(args.registry, cli_user(), args.seed, update)
            elif getattr(args, "engine", "local") == "dask":
                from kapcds.commands_scale import train_and_register_dask

                version = train_and_register_dask(args.data, args.registry, False,
                                                  args.seed, update, args.scheduler)
            else:
                version = train_and_register(args.data, args.registry, promote=False,
                                             seed=args.seed, progress=update)
        note["detail"] = f"version {version} from {source}"
        if args.promote:  # reviewed like `kapcds promote` (issue 23, defect 7)
            note["detail"] += promote_trained(args.registry, version)
    sys.stdout.write(f"{version}\n")
    return 0


def format_metrics(table) -> str:
    columns = ["outcome", "n", "prevalence"]
    out = table[columns].copy()
    for metric in ("auc", "pr_auc", "brier", "calibration_intercept", "calibration_slope"):
        out[metric] = [f"{v:.3f} [{lo:.3f}, {hi:.3f}]" for v, lo, hi in zip(
            table[metric], table[f"{metric}_lo"], table[f"{metric}_hi"], strict=True)]
    out["prevalence"] = out["prevalence"].map("{:.3f}".format)
    return out.to_string(index=False)


def _predict(args: argparse.Namespace) -> int:
    from base.safety import csv_text
    from models.clinical.quality_gate import UNRELIABLE, gate_table, withhold_unreliable
    from models.inference.predict import predict_frame
    from training.data import load_patients

    patients = load_patients(args.input)
    if args.followup_from_store:
        patients = _with_stored_followup(patients)
    model_set, card = load_model(args)
    predicted = predict_frame(model_set, patients, explain=args.explain)
    names = [c.removesuffix("_probability") for c in predicted.columns
             if c.endswith("_probability")]  # every outcome, relapse included
    result = withhold_unreliable(predicted, card, names, withhold=not args.include_unreliable)
    write_atomically(args.output, csv_text(result))  # text cells safe for spreadsheets
    sys.stdout.write(f"wrote {len(result)} predictions to {args.output}\n")
    kept = "kept (--include-unreliable)" if args.include_unreliable else "left empty"
    for name, quality in gate_table(card, names).items():
        if not quality.reliable:
            sys.stderr.write(f"{name}: {UNRELIABLE} (held-out test AUC {quality.auc_text}); "
                             f"probability {kept}, {name}_reliable is false\n")
    return 0


def _with_stored_followup(patients):
    """``patients`` with the store's follow-up inputs (plan, end-of-series PHQ-9, series
    completed) for the rows whose id is in the store and has follow-up; others unchanged."""
    from records.db import session_factory
    from records.first_run import ensure_store
    from records.followup.frames import followup_inputs

    with session_factory(ensure_store())() as session:
        stored = followup_inputs(session, list(patients["patient_id"].astype(str)))
    out = patients.copy()
    for name in stored.columns:
        known = out["patient_id"].astype(str).map(stored[name])
        out[name] = known if name not in out else out[name].where(known.isna(), known)
    found = int(out["patient_id"].astype(str).isin(stored.index).sum())
    sys.stderr.write(f"follow-up from the store for {found} patient(s)\n")
    return out


def _versions(args: argparse.Namespace) -> int:
    for entry in registry(args).versions():
        marker = "*" if entry.get("current") else " "
        sys.stdout.write(f"{marker} {entry['id']}  {entry.get('description', '')}\n")
        if entry.get("promotion"):
            sys.stdout.write(f"    {entry['promotion']}\n")
    return 0


def _promote(args: argparse.Namespace) -> int:
    from kapcds.promotion import promote

    return promote(args)


def _dashboard(args: argparse.Namespace) -> int:
    from base.oidc import write_secrets_file
    from records.first_run import ensure_store
    from training.lifecycle.first_run import ensure_model

    with progress_bar("preparing model and store") as update:
        ensure_model(progress=update, audit=promotion_audit())
    ensure_store().dispose()
    command = dashboard_command(args.port, args.address)
    secrets_file = write_secrets_file()  # single sign-on, when KAPCDS_OIDC_* are set
    if secrets_file is not None:
        command += ["--secrets.files", str(secrets_file)]
    os.chdir(settings.PROJECT_ROOT)  # the project's .streamlit/config.toml (WCAG theme) applies
    os.execv(sys.executable, command)
    return 0  # not reached


def dashboard_command(port: int, address: str | None = None) -> list[str]:
    """The Streamlit command line: loopback only unless an address is given (docs/security.md).

    Headless always: a non-headless first start asks for an e-mail address on stdin, which
    hangs or fails without a terminal. The URL is printed; open it in a browser.
    """
    address = address or settings.dashboard_address()
    app = settings.PROJECT_ROOT / "dashboard" / "app.py"
    shown = "localhost" if address in ("127.0.0.1", "::1", "localhost") else address
    sys.stderr.write(f"KAP-CDS dashboard: open http://{shown}:{port}\n")
    if address not in ("127.0.0.1", "::1", "localhost"):
        log.warning("the dashboard listens on %s over plain HTTP: put a TLS proxy in front "
                    "(docs/security.md)", address)
    return [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
            "--server.address", address, "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer"]


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add every sub-command of this module to the parser."""
    _register_data_and_training(sub)
    _register_models_and_dashboard(sub)


def _register_data_and_training(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate a synthetic KAP cohort",
                       description="Write patients.csv and sessions.csv of a seeded, "
                       "reproducible synthetic cohort (truth.csv + effects.json with "
                       "--with-truth).")
    p.add_argument("--patients", type=int, default=settings.SAMPLE_PATIENTS,
                   help="number of patients (default %(default)s)")
    p.add_argument("--seed", type=int, default=settings.SAMPLE_SEED,
                   help="random seed (default %(default)s)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--with-truth", action="store_true",
                   help="also write each patient's true outcome probabilities")
    p.set_defaults(handler=_generate)

    p = sub.add_parser("train", help="train a model set and register it",
                       description="Train one calibrated LightGBM model per outcome, the "
                       "PHQ-9 trajectory model and the OOD detector; print the new version.")
    p.add_argument("--data", type=Path, default=settings.DATA_SAMPLES_DIR,
                   help="folder with patients.csv and sessions.csv (default: data_samples/)")
    p.add_argument("--from-store", action="store_true",
                   help="train on the store's patients whose series ended (realised outcomes; "
                   "the most recent patients are the test split) instead of --data")
    add_registry(p)
    p.add_argument("--seed", type=int, default=0, help="split and model seed")
    p.add_argument("--promote", action="store_true", help="make the new version current")
    p.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="fit the outcome boosters in-process or on Dask (see docs/scaling.md)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address for --engine "
                   "dask, e.g. tcp://host:8786 (default: a local 2-worker cluster)")
    p.add_argument("--threads", default=None, help="independent training steps run side by "
                   "side, a number or 'auto' (the usable cores); the models are the same "
                   "either way (default: KAPCDS_TRAIN_THREADS, else auto)")
    p.set_defaults(handler=_train)


def _register_models_and_dashboard(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="predict (and explain) every outcome for a CSV",
                       description="One row per patient: <outcome>_probability and "
                       "<outcome>_reliable (the per-outcome quality gate: false leaves the "
                       "probability empty), eligibility and OOD columns; with --explain the "
                       "base value and SHAP contribution (calibrated log-odds) per clinical "
                       "feature.")
    add_registry(p)
    p.add_argument("--input", type=Path, required=True, help="patients CSV")
    p.add_argument("--output", type=Path, required=True, help="output CSV (written whole)")
    p.add_argument("--explain", action="store_true", help="add SHAP columns")
    p.add_argument("--include-unreliable", action="store_true",
                   help="keep the probabilities (and SHAP) of outcomes that fail the quality "
                   "gate (for model evaluation); by default they are left empty")
    p.add_argument("--followup-from-store", action="store_true",
                   help="for patients stored with follow-up records, take the maintenance "
                   "plan and end-of-series PHQ-9 from the store (relapse_probability)")
    add_version(p)
    p.set_defaults(handler=_predict)

    p = sub.add_parser("versions", help="list registered model versions (* = current)")
    add_registry(p)
    p.set_defaults(handler=_versions)

    p = sub.add_parser("promote", help="make a registered version current",
                       description="Verify a version's manifest, show what it changes per "
                       "outcome against the current version, and make it current. A version "
                       "that greys an outcome (quality gate) or lowers an AUC needs --confirm "
                       "and --reason.")
    add_registry(p)
    p.add_argument("version", help="version id (see `kapcds versions`)")
    p.add_argument("--reason", help="why this version should be current (kept in the signed "
                   "promotion record and the audit trail; required when the promotion greys "
                   "or worsens an outcome)")
    p.add_argument("--confirm", action="store_true", help="promote although an outcome "
                   "would become greyed or get worse (needs --reason)")
    p.set_defaults(handler=_promote)

    p = sub.add_parser("dashboard", help="start the Streamlit dashboard",
                       description="Train a first model (seeded generated cohort) and seed the "
                       "store if needed, then serve the dashboard.")
    p.add_argument("--port", type=int, default=8501, help="port (default %(default)s)")
    p.add_argument("--address", default=None,
                   help="address to listen on (default: KAPCDS_DASHBOARD_ADDRESS or 127.0.0.1, "
                   "this machine only; see docs/security.md before listening elsewhere)")
    p.add_argument("--headless", action="store_true",
                   help="accepted for compatibility; the server always runs headless")
    p.set_defaults(handler=_dashboard)

