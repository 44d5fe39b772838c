"""`kapcds card [VERSION] --format hti1-json|chai-xml|tripod-md|pdf` (issue 28) and `kapcds card
verify FILE`: a version's governance card, with local validity and fairness from the store.

Composition only: the facts come from ``training.governance``, the store reads from
``records``, the formats from ``interop.reports.governance``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kapcds.common import add_registry, audited, registry, store_engine

FORMATS = ("hti1-json", "chai-xml", "tripod-md", "pdf")


def store_facts(registry_dir: Path, version: str | None) -> dict[str, Any]:
    """The governance facts of ``version`` (default: the current one), with local results
    read from the configured store."""
    from models.store.registry import Registry
    from records.db import session_factory
    from records.frames import patients_frame, sessions_frame
    from records.predictions import predictions_frame
    from training.governance.clinic import read_clinic
    from training.governance.facts import governance_facts
    from training.governance.local import local_results

    _, card = Registry(registry_dir).load(version)
    engine = store_engine()
    try:
        with session_factory(engine)() as session:
            patients, sessions = patients_frame(session), sessions_frame(session)
            predictions = predictions_frame(session, card["version"])
    finally:
        engine.dispose()
    local = local_results(card["version"], list(card.get("metrics") or {}), patients, sessions,
                          predictions)
    return governance_facts(card, read_clinic(), local)


def render(facts: dict[str, Any], fmt: str) -> bytes:
    """The card in ``fmt``; the CHAI XML is signed with the installation key."""
    if fmt == "hti1-json":
        from interop.reports.governance.hti1_json import hti1_json
        return hti1_json(facts).encode("utf-8")
    if fmt == "chai-xml":
        from base.signing import installation_key
        from interop.reports.governance.chai_schema import validation_errors
        from interop.reports.governance.chai_xml import chai_xml
        from interop.reports.governance.xmldsig import sign_xml
        signed = sign_xml(chai_xml(facts), installation_key())
        errors = validation_errors(signed)
        if errors:  # never hand out a card that does not meet the schema
            raise ValueError("the CHAI card does not validate: " + "; ".join(errors[:5]))
        return signed
    if fmt == "tripod-md":
        from interop.reports.governance.tripod_md import tripod_markdown
        return tripod_markdown(facts).encode("utf-8")
    if fmt == "pdf":
        from interop.reports.governance.card_pdf import card_pdf
        return card_pdf(facts)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _card(args: argparse.Namespace) -> int:
    if args.version == "verify":
        return _verify(args)
    with audited("export", "model", f"governance card {args.format}") as note:
        facts = store_facts(args.registry, args.version)
        data = render(facts, args.format)
        note["detail"] = f"governance card {args.format} of {facts['version']}"
        if args.out is None:
            if args.format == "pdf":
                raise ValueError("a PDF needs --out FILE")
            sys.stdout.write(data.decode("utf-8"))
        else:
            from base.files import write_atomically
            write_atomically(args.out, data)
            sys.stderr.write(f"wrote {args.out} ({args.format}, version {facts['version']})\n")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from interop.reports.governance.chai_schema import validation_errors
    from interop.reports.governance.xmldsig import verify_xml

    if args.out is None:
        raise ValueError("give the signed card to check: kapcds card verify --out FILE")
    data = Path(args.out).read_bytes()
    errors = validation_errors(data)
    if errors:
        raise ValueError("not a valid CHAI v0.2 card: " + "; ".join(errors[:5]))
    key = verify_xml(data, registry(args).trusted_keys())
    sys.stdout.write(f"{args.out}: valid CHAI v0.2 card, signature verifies (key "
                     f"{key.key_id})\n")
    return 0


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add `card` to the parser."""
    p = sub.add_parser(
        "card", help="a version's governance card: HTI-1 attributes, CHAI XML, TRIPOD+AI, PDF",
        description="The 31 ONC HTI-1 source attributes (hti1-json), the CHAI Applied Model "
        "Card v0.2 signed with the installation key (chai-xml), the TRIPOD+AI checklist "
        "(tripod-md) or the PDF governance card, of VERSION (default: the current one), with "
        "local validity and fairness from the store and the clinic's statements from "
        "$KAPCDS_HOME/clinic.json. `kapcds card verify --out FILE` checks a signed CHAI card.")
    p.add_argument("version", nargs="?", default=None,
                   help="model version (default: the current one), or `verify`")
    p.add_argument("--format", choices=FORMATS, default="hti1-json")
    p.add_argument("--out", type=Path, default=None,
                   help="write to FILE (default: standard output; required for pdf)")
    add_registry(p)
    p.set_defaults(handler=_card)
