"""`kapcds import-followup`: follow-up visits and maintenance doses from a CSV, all or nothing.

The same checks as the Data entry page (``records.followup.imports``): every problem is
printed with its row and column and nothing is saved; a good file is saved in one
transaction with its audit entry.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _import_followup(args: argparse.Namespace) -> int:
    from kapcds.commands_interop import terminal_text
    from kapcds.common import operator, record_cli
    from models.contract.csv_input import read_csv_strict
    from models.contract.validation import InputValidationError
    from records.audit import trail as audit
    from records.db import session_factory
    from records.first_run import ensure_store
    from records.followup.imports import import_followup
    from records.security.policy import IDENTIFIED

    if not args.file.is_file():
        sys.stderr.write(f"{args.file} does not exist\n")
        return 2
    try:
        frame = read_csv_strict(args.file)
        engine = ensure_store()
        with session_factory(engine)() as session:
            audit.record(session, operator(), "import", IDENTIFIED,
                         detail=f"{len(frame)} follow-up rows from {args.file.name}")
            summary = import_followup(session, frame)  # commits with the audit entry
    except InputValidationError as error:
        record_cli("import", IDENTIFIED, outcome="failure",
                   detail=f"follow-up {args.file.name}: {len(error.errors)} problem(s)")
        for item in error.errors:
            sys.stderr.write(terminal_text(f"row {item.row or '-'}, column "
                                           f"{item.column or '-'}: {item.message}") + "\n")
        sys.stderr.write("nothing was saved\n")
        return 1
    sys.stdout.write(f"saved {summary.visits} follow-up visit(s) and {summary.doses} "
                     "maintenance dose(s)\n")
    return 0


def register_all(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import-followup", help="import follow-up visits (and maintenance "
                       "doses) from a CSV, all or nothing",
                       description="Columns: patient_id; day_after_series and/or visit_at "
                       "(ISO 8601, clinic time unless it has an offset); any of phq9, gad7, "
                       "craving_score, moca, blunting_score, urinary_symptoms, notes (empty "
                       "= not done); optional kind (followup / maintenance) with route and the "
                       "dose in its unit for maintenance doses: dose_mg_per_kg for ketamine, "
                       "esketamine_dose_mg (28, 56 or 84 mg, never per kg) for intranasal "
                       "esketamine. Every problem is reported by "
                       "row and column and nothing is saved.")
    p.add_argument("file", type=Path, help="the CSV file")
    p.set_defaults(handler=_import_followup)
