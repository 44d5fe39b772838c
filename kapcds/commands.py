"""Sub-commands of `kapcds`; each registers its parser and imports its work lazily."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kapcds import config


def _generate(args: argparse.Namespace) -> int:
    from training.generate import generate_cohort, write_cohort

    cohort = generate_cohort(args.patients, args.seed, with_truth=args.with_truth)
    for path in write_cohort(cohort, args.out):
        sys.stdout.write(f"{path}\n")
    return 0


def register_generate(sub: argparse._SubParsersAction) -> None:
    """`kapcds generate`: write a synthetic cohort."""
    parser = sub.add_parser("generate", help="generate a synthetic KAP cohort",
                            description="Generate a seeded, reproducible synthetic cohort: "
                            "patients.csv and sessions.csv (and truth.csv + effects.json "
                            "with --with-truth).")
    parser.add_argument("--patients", type=int, default=config.SAMPLE_PATIENTS,
                        help="number of patients (default %(default)s)")
    parser.add_argument("--seed", type=int, default=config.SAMPLE_SEED,
                        help="random seed (default %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--with-truth", action="store_true",
                        help="also write each patient's true outcome probabilities")
    parser.set_defaults(handler=_generate)


REGISTRARS = [register_generate]
