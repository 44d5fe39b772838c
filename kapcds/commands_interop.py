"""`kapcds` sub-commands for FHIR import and printable reports."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from base import settings

log = logging.getLogger(__name__)

def _store_session():
    from records.db import session_factory
    from records.first_run import ensure_store

    return session_factory(ensure_store())()


def _parse_settings(pairs: list[str]) -> dict[str, str]:
    """``FEATURE=VALUE`` pairs the clinician gives for inputs the FHIR data lacks."""
    from models.contract.schema import feature

    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--set {pair!r}: expected FEATURE=VALUE")
        feature(name.strip())  # KeyError names an unknown feature
        values[name.strip()] = value.strip()
    return values


def terminal_text(value: object) -> str:
    """``value`` as text safe to print: control and format characters (escape sequences,
    carriage returns, bidi overrides) are shown escaped, never sent to the terminal raw."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in str(value))


def _save_all(args: argparse.Namespace, results: list, completions: dict,
              source_format: str) -> list:
    """Save every patient in one transaction; ``--dry-run`` runs the very same steps and
    rolls back instead of committing, so it fails exactly where the import would."""
    from interop.fhir.importer.store import store_import
    from kapcds.common import operator
    from records.audit import trail as audit
    from records.security.policy import IDENTIFIED

    on_match = "refuse" if args.refuse_existing else "update"
    with _store_session() as session:
        outcomes = [store_import(session, result, completions=completions, commit=False,
                                 source_format=source_format, on_match=on_match,
                                 name=args.name)
                    for result in results]
        for outcome in [] if args.dry_run else outcomes:  # audited in the import's transaction
            audit.record(session, operator(), "import" if outcome.created else "patient_edit",
                         IDENTIFIED, patient_id=outcome.patient.patient_id,
                         detail=f"FHIR {args.target}: {outcome.summary()}"[:2000])
        if args.dry_run:
            session.rollback()
        else:
            session.commit()
    return outcomes


def _parse_and_save(args: argparse.Namespace) -> list | None:
    from interop.fhir.importer.batch import import_fhir

    if not args.target.exists():
        raise FileNotFoundError(f"{args.target} does not exist")
    report = import_fhir(args.target, source=args.source)  # parse all first: all or nothing
    results = report.results
    for line in report.lines(args.list_unmapped):  # names, warnings from the upload: escaped
        sys.stdout.write(terminal_text(line) + "\n")
    completions = _parse_settings(args.set)
    if (completions or args.name) and len(results) > 1:
        raise ValueError("--set and --name apply to a single patient; this input has "
                         f"{len(results)} patients")
    if not results:
        return []
    return _save_all(args, results, completions, report.format)


def _import_fhir(args: argparse.Namespace) -> int:
    from kapcds.common import record_cli
    from records.security.policy import IDENTIFIED

    try:
        outcomes = _parse_and_save(args)
    except Exception as error:  # every failed import leaves an audit entry, then fails
        try:
            record_cli("import", IDENTIFIED, outcome="failure",
                       detail=f"FHIR {args.target}: {error}"[:2000])
        except Exception:  # noqa: BLE001 - the import's own error is the one to report
            log.exception("could not audit the failed import")
        raise
    verb = "dry run, nothing saved: would store as" if args.dry_run else "saved as"
    for outcome in outcomes or []:  # gaps are saved and listed, never guessed (issue 7)
        patient, gaps = outcome.patient, list(outcome.patient.data_gaps or [])
        if not outcome.created or outcome.sessions:
            sys.stdout.write(terminal_text(outcome.summary()) + "\n")
        sys.stdout.write(f"{verb} {patient.patient_id} "
                         + (f"with {len(gaps)} gap(s) to fill in: {', '.join(gaps)}; "
                            "predictions stay hidden until model inputs are filled\n"
                            if gaps else "(complete)\n"))
    return 0


def default_report_path(patient_id: str, folder: Path | None = None,
                        suffix: str = "report") -> Path:
    """``<folder>/<id>-<suffix>.pdf`` built only from a safe name, inside ``folder``.

    An id that breaks the rule (a store from before it, or a crafted one such as
    ``../../tmp/x``) is replaced by a stable hash-based name; the result is checked to
    stay inside the folder (default: the working folder).
    """
    from base.safety import safe_path
    from models.contract.identifiers import safe_patient_id

    name = safe_patient_id(str(patient_id), prefix="patient-")
    return safe_path(folder or Path.cwd(), f"{name}-{suffix}.pdf")


def _session_report(args: argparse.Namespace) -> int:
    """``kapcds report ID --session N``: the session's monitoring form; no model needed."""
    from base.files import write_atomically
    from interop.reports.monitoring_form import session_monitoring_pdf
    from kapcds.common import record_cli
    from records.security.policy import IDENTIFIED

    with _store_session() as session:
        pdf = session_monitoring_pdf(session, args.patient_id, args.session)
    out = args.out or default_report_path(args.patient_id,
                                          suffix=f"session-{args.session}-monitoring")
    write_atomically(out, pdf)
    record_cli("export", IDENTIFIED, patient_id=args.patient_id,
               detail=f"session {args.session} monitoring form PDF {out}")
    sys.stdout.write(f"{out}\n")
    return 0


def _report(args: argparse.Namespace) -> int:
    if args.session is not None:
        return _session_report(args)
    from base.files import write_atomically
    from interop.reports.context import build_report_context
    from interop.reports.decisions import decision_lines
    from interop.reports.followup import followup_lines
    from interop.reports.patient_report import render_patient_report
    from kapcds.common import promotion_audit, record_cli
    from models.contract.schema import ID_COLUMN, NAME_COLUMN
    from models.store.registry import Registry
    from records.gaps import labels, prediction_blockers
    from records.repository import get_patient, sessions_frame
    from records.security.policy import IDENTIFIED
    from training.lifecycle.first_run import ensure_model

    with _store_session() as session:
        patient = get_patient(session, args.patient_id)
        if patient is None:
            raise LookupError(f"no patient {args.patient_id!r} in the store")
        blockers = prediction_blockers(patient.data_gaps or [])
        if blockers:  # issue 7: a report would print predictions made from placeholders
            raise ValueError(f"{args.patient_id}: no report while inputs are missing; "
                             f"predictions need: {labels(blockers)}")
        row = {**patient.features(), ID_COLUMN: patient.patient_id, NAME_COLUMN: patient.name}
        sessions = sessions_frame(session, args.patient_id)
        followup = followup_lines(session, args.patient_id)
        decisions = decision_lines(session, args.patient_id)
    # after the checks: a refused report trains nothing
    ensure_model(args.registry, audit=promotion_audit())
    model_set, card = Registry(args.registry).load(args.version)
    context = build_report_context(model_set, card, row, sessions,
                                   explain_outcome=args.outcome, followup=followup,
                                   decisions=decisions)
    out = args.out or default_report_path(args.patient_id)
    write_atomically(out, render_patient_report(context))
    record_cli("export", IDENTIFIED, patient_id=args.patient_id, detail=f"PDF report {out}")
    sys.stdout.write(f"{out}\n")
    return 0


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to the parser."""
    p = sub.add_parser("import-fhir", help="import patients from FHIR R4 (Bundles, "
                       "resources, NDJSON, Bulk Data folders)",
                       description="Read FHIR R4 (a Bundle with one or many patients, a single "
                       "resource, NDJSON, or a Bulk Data export folder; the format is told by "
                       "content), say per patient what was found and what is missing and which "
                       "resources name no patient, and save the patients (all or nothing) with "
                       "their gaps listed. Missing inputs are never guessed; predictions stay "
                       "hidden until the gaps are filled.")
    p.add_argument("target", type=Path, help="a .json/.ndjson file or a Bulk Data folder")
    p.add_argument("--dry-run", action="store_true", help="run the whole import and report "
                   "what it would do, then roll back: save nothing")
    p.add_argument("--list-unmapped", action="store_true", help="list every code that maps "
                   "to no model input (by default the first 8 per file, with a count)")
    p.add_argument("--name", default=None, help="the patient's name when the FHIR Patient "
                   "has none (a single patient; otherwise it is named from its FHIR id or "
                   "identifier and marked unnamed)")
    p.add_argument("--source", default=None, metavar="EHR", help="name of the EHR or server "
                   "the data came from when it does not say (Patient.meta.source or an "
                   "absolute fullUrl win); a FHIR id is matched only within its source")
    p.add_argument("--set", action="append", default=[], metavar="FEATURE=VALUE",
                   help="enter an input the FHIR data lacks (repeatable; validated)")
    p.add_argument("--refuse-existing", action="store_true",
                   help="refuse a patient already in the store (same Patient.identifier) "
                   "instead of updating it")
    p.set_defaults(handler=_import_fhir)

    p = sub.add_parser("report", help="printable PDF report for one stored patient",
                       description="Eligibility, predictions with uncertainty, the "
                       "explanation, treatment progress, alerts and the model card summary; "
                       "with --session N, that session's monitoring form (REMS-style record; "
                       "fields not recorded print as \"not recorded\").")
    p.add_argument("patient_id", help="e.g. KAP-00001")
    p.add_argument("--session", type=int, default=None, metavar="N",
                   help="print session N's monitoring form instead of the patient report")
    p.add_argument("--out", type=Path, default=None, help="PDF path (default: ID-report.pdf, "
                   "or ID-session-N-monitoring.pdf)")
    p.add_argument("--outcome", default="response", help="outcome to explain")
    p.add_argument("--registry", type=Path, default=settings.default_registry_dir(),
                   help="model registry folder (default: %(default)s)")
    p.add_argument("--version", default=None, help="model version (default: current)")
    p.set_defaults(handler=_report)
