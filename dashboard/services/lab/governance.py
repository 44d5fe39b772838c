"""The governance card of a version for the dashboard (issue 28; no Streamlit): the same
facts as `kapcds card`, with local validity and fairness read from the store, and the four
exports a governance board files."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine

from base.signing import installation_key
from interop.reports.governance.chai_schema import validation_errors
from interop.reports.governance.chai_xml import chai_xml
from interop.reports.governance.hti1_json import hti1_json
from interop.reports.governance.sections import attribute_text, card_sections
from interop.reports.governance.tripod_md import tripod_markdown, tripod_status_counts
from interop.reports.governance.xmldsig import sign_xml
from records.db import session_factory
from records.frames import patients_frame, sessions_frame
from records.predictions import predictions_frame
from training.governance.clinic import ClinicFileError, clinic_file, read_clinic
from training.governance.facts import governance_facts
from training.governance.local import local_results

EXPORTS = {"hti1-json": ("HTI-1 source attributes (JSON)", "json", "application/json"),
           "chai-xml": ("CHAI applied model card (signed XML)", "xml", "application/xml"),
           "tripod-md": ("TRIPOD+AI report (Markdown)", "md", "text/markdown"),
           "pdf": ("Governance card (PDF)", "pdf", "application/pdf")}


def store_facts(engine: Engine, card: dict[str, Any]) -> dict[str, Any]:
    """The facts of ``card``'s version with local results from the store. A broken clinic
    file is reported in the facts (every clinic field then says why), not raised."""
    with session_factory(engine)() as session:
        patients, sessions = patients_frame(session), sessions_frame(session)
        predictions = predictions_frame(session, card["version"])
    local = local_results(card["version"], list(card.get("metrics") or {}), patients,
                          sessions, predictions)
    try:
        clinic, problem = read_clinic(), ""
    except ClinicFileError as exc:
        clinic, problem = {}, str(exc)
    facts = governance_facts(card, clinic, local)
    facts["clinic_problem"] = problem
    return facts


def clinic_stamp() -> float:
    """When the clinic file last changed (0 when there is none): a cache key."""
    path = clinic_file()
    return path.stat().st_mtime if path.is_file() else 0.0


def attribute_rows(facts: dict[str, Any]) -> list[tuple[int, str, str, bool]]:
    """(number, title, value or "not available: reason", available) per HTI-1 attribute."""
    return [(e["number"], e["title"], attribute_text(e), "value" in e) for e in facts["hti1"]]


def tripod_table(facts: dict[str, Any]) -> pd.DataFrame:
    """The TRIPOD+AI checklist as a table (item, topic, status, where)."""
    return pd.DataFrame(facts["tripod"], columns=["item", "topic", "status", "where"])


def tripod_summary(facts: dict[str, Any]) -> str:
    """"43 reported, 9 not applicable, 6 not reported"."""
    return ", ".join(f"{n} {status}" for status, n in tripod_status_counts(facts).items())


def sections(facts: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The governance card's sections (``interop.reports.governance.sections``)."""
    return card_sections(facts)


def export(facts: dict[str, Any], fmt: str) -> bytes:
    """One export's bytes; the CHAI card signed and checked against the schema."""
    if fmt == "hti1-json":
        return hti1_json(facts).encode("utf-8")
    if fmt == "chai-xml":
        signed = sign_xml(chai_xml(facts), installation_key())
        errors = validation_errors(signed)
        if errors:
            raise ValueError("the CHAI card does not validate: " + "; ".join(errors[:5]))
        return signed
    if fmt == "tripod-md":
        return tripod_markdown(facts).encode("utf-8")
    if fmt == "pdf":  # imported here: matplotlib and reportlab, ~1 s, for one export
        from interop.reports.governance.card_pdf import card_pdf
        return card_pdf(facts)
    raise ValueError(f"unknown export {fmt!r}; use one of {', '.join(EXPORTS)}")
