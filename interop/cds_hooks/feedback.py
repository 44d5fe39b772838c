"""The CDS Hooks ``feedback`` endpoint, the record of cards returned, and CORS (issue 26).

Feedback (CDS Hooks 2.0) tells the clinic which cards were accepted or overridden and why;
it is stored through ``records.cds_feedback`` (append-only, all or nothing) and audited.
CORS: browser-based CDS clients call from another origin, so every endpoint answers the
preflight and names the allowed origins (``KAPCDS_CDS_CORS_ORIGINS``, default ``*``; calls
are authorised by a bearer JWT, never by cookies, so no credentials are allowed).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from interop.cds_hooks.guard import parse_json
from interop.cds_hooks.settings import CdsSettings

log = logging.getLogger(__name__)


def allow_cors(app: FastAPI, settings: CdsSettings) -> None:
    """CORS on every endpoint, preflight included."""
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                       allow_credentials=False, allow_methods=["GET", "POST", "OPTIONS"],
                       allow_headers=["Authorization", "Content-Type"], max_age=600)


def record_issued(engine: Engine | None, service_id: str, cards: list[dict[str, Any]],
                  issuer: str, patient_id: str, audit: dict[str, Any]) -> None:
    """Audit the call (``audit``: ``records.audit.trail.record``'s arguments) and keep every
    returned card's uuid and type, so feedback can be counted per type: one transaction, so
    the record of what was shown and its audit entry are saved together (and one commit,
    not two, per call: issue 31)."""
    if engine is None:
        return
    from records.audit.trail import record
    from records.cds_feedback import record_cards
    from records.db import session_factory

    with session_factory(engine)() as session:
        record(session, **audit)
        if cards:
            record_cards(session, service_id, cards, issuer, f"Patient/{patient_id}")
        session.commit()


def store_feedback(engine: Engine | None, service_id: str, issuer: str,
                   raw: bytes) -> JSONResponse:
    """Validate and store one feedback request (400 naming the field; 200 with a count)."""
    if engine is None:
        return JSONResponse({"error": "this service has no store to keep feedback in"}, 503)
    from records.audit.trail import record
    from records.cds_feedback import FeedbackError, record_feedback
    from records.db import session_factory
    from records.security.policy import MODEL, SYSTEM_ROLE, Actor

    try:
        body = parse_json(raw)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)[:300]}, 400)
    with session_factory(engine)() as session:
        try:
            count = record_feedback(session, service_id, body, issuer)
        except FeedbackError as exc:
            session.rollback()
            return JSONResponse({"error": str(exc)[:300]}, 400)
        outcomes = [str(item.get("outcome")) for item in body["feedback"]]
        record(session, Actor(f"cds:{issuer}"[:64], SYSTEM_ROLE), "cds_feedback", MODEL,
               detail=f"{service_id}: {count} feedback entries "
                      f"({outcomes.count('accepted')} accepted, "
                      f"{outcomes.count('overridden')} overridden)")
        session.commit()
    return JSONResponse({"stored": count})
