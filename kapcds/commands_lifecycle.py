"""`kapcds evaluate` (on patients a version never saw) and `kapcds monitor`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from base import settings
from kapcds.commands import format_metrics
from kapcds.common import add_registry, add_version, load_model


def _evaluate(args: argparse.Namespace) -> int:
    from training.evaluate import metrics_table
    from training.lifecycle.heldout import own_test_patients, unseen_patients

    model_set, card = load_model(args)
    if args.data is None:
        result = own_test_patients(model_set, card, n_boot=args.bootstrap)
    else:
        result = unseen_patients(model_set, card, args.data, n_boot=args.bootstrap)
    sys.stdout.write(f"model version {card['version']} scored on {result.source} "
                     "(95 % bootstrap CIs)\n")
    sys.stdout.write(format_metrics(metrics_table(result.report)) + "\n")
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from kapcds.monitoring import monitor_text

    sys.stdout.write(monitor_text(args.registry, args.version, args.recent,
                                  args.backscore) + "\n")
    return 0


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add `evaluate` and `monitor` to the parser."""
    p = sub.add_parser("evaluate", help="metrics of a model version on patients it never saw",
                       description="ROC AUC, PR AUC, Brier, calibration intercept and slope "
                       "per outcome, each with a bootstrap 95 % CI. Without --data: the "
                       "version's own held-out test patients. With --data: the patients of "
                       "that folder the version neither trained nor validated on.")
    add_registry(p)
    p.add_argument("--data", type=Path, default=None,
                   help="folder with labelled patients.csv and sessions.csv (default: the "
                   "version's own held-out test patients)")
    add_version(p)
    p.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples")
    p.set_defaults(handler=_evaluate)

    p = sub.add_parser("monitor", help="realised performance and input drift on the store",
                       description="Per model version and outcome: realised ROC AUC and "
                       "calibration (intercept, slope, observed vs predicted by decile) with "
                       "95 % CIs on the store's patients whose series has ended, input drift "
                       "(PSI per feature) of recent patients against the training data, and "
                       "whether recalibration or retraining is suggested (docs/monitoring.md).")
    add_registry(p)
    add_version(p)
    p.add_argument("--recent", type=int, default=settings.monitor_recent_patients(),
                   help="how many of the newest patients count as recent (drift)")
    p.add_argument("--backscore", action="store_true",
                   help="also score the version on every ended series it never saw, not only "
                   "on predictions recorded when clinicians saw them")
    p.set_defaults(handler=_monitor)
