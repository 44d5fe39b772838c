"""`kapcds export-fhir`: one stored patient as a FHIR R4 Bundle (sessions included)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from base import settings


def default_bundle_path(patient_id: str, folder: Path | None = None) -> Path:
    """``<folder>/<id>-fhir.json`` from a safe name only (as the PDF report's path)."""
    from base.safety import safe_path
    from models.contract.identifiers import safe_patient_id

    name = safe_patient_id(str(patient_id), prefix="patient-")
    return safe_path(folder or Path.cwd(), f"{name}-fhir.json")


def _export(args: argparse.Namespace) -> int:
    from base.files import write_atomically
    from interop.fhir.exporter.patient import patient_bundle
    from kapcds.common import promotion_audit, record_cli
    from models.store.registry import Registry
    from records.db import session_factory
    from records.first_run import ensure_store
    from records.gaps import labels, prediction_blockers
    from records.lookup import require_patient
    from records.security.policy import IDENTIFIED
    from training.lifecycle.first_run import ensure_model

    with session_factory(ensure_store())() as session:  # refused before any training
        blockers = prediction_blockers(require_patient(session, args.patient_id).data_gaps
                                       or [])
    if blockers:
        raise ValueError(f"{args.patient_id}: no FHIR export while inputs are missing; "
                         f"predictions need: {labels(blockers)}")
    ensure_model(args.registry, audit=promotion_audit())
    model_set, card = Registry(args.registry).load(args.version)
    version = str(card.get("version") or args.version or "unknown")
    with session_factory(ensure_store())() as session:
        bundle = patient_bundle(session, args.patient_id, model_set, card, version)
    text = json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
    if str(args.out) == "-":
        sys.stdout.write(text)
    else:
        out = args.out or default_bundle_path(args.patient_id)
        write_atomically(out, text.encode("utf-8"))
        sys.stdout.write(f"{out}\n")
    record_cli("export", IDENTIFIED, patient_id=args.patient_id,
               detail=f"FHIR Bundle ({len(bundle['entry'])} entries), model {version}")
    return 0


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to the parser."""
    p = sub.add_parser("export-fhir", help="one stored patient as a FHIR R4 Bundle",
                       description="Write the patient (screening values as LOINC "
                       "Observations, every other model input as KAP-CDS-coded Observations), "
                       "each dosing session (an Encounter with its LOINC Observations), the "
                       "eligibility screen and a RiskAssessment per outcome that passes the "
                       "quality gate. The Bundle imports back whole with `kapcds import-fhir`. "
                       "Refused while a model input is missing.")
    p.add_argument("patient_id", help="e.g. KAP-00001")
    p.add_argument("--out", type=Path, default=None,
                   help="JSON path (default: ID-fhir.json; '-' writes to standard output)")
    p.add_argument("--registry", type=Path, default=settings.default_registry_dir(),
                   help="model registry folder (default: %(default)s)")
    p.add_argument("--version", default=None, help="model version (default: current)")
    p.set_defaults(handler=_export)
