"""The audit trail (HIPAA 45 CFR 164.312(b)): record, verify the hash chain, read, export.

``record`` appends one entry inside the caller's transaction, so an action and its audit
entry are saved together or not at all; ``record_now`` commits an entry on its own (for
views, sign-ins and failures whose own transaction was rolled back).

Chain: each entry's ``hash`` is the SHA-256 of a canonical JSON serialisation of the entry
(sorted keys, no spaces, UTC time with microseconds) that includes the previous entry's
hash. Appends lock the single ``audit_chain`` row first (an UPDATE: SQLite's write lock,
a row lock on PostgreSQL), so concurrent writers take turns and never fork the chain.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from records.audit import checkpoints
from records.audit.chain import (  # noqa: F401  (re-exported: the trail's public API)
    COLUMNS,
    FORMAT,
    HASHED_FIELDS,
    ChainReport,
    canonical,
    entry_hash,
    iso_utc,
)
from records.db import session_factory
from records.errors import RecordError
from records.security.policy import CATEGORIES, Actor
from records.tables.clinical import utcnow
from records.tables.security import OUTCOMES, AuditChain, AuditEntry

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

ACTIONS = (
    "login", "logout", "session_timeout", "access_denied", "page_view",
    "patient_view", "patient_create", "patient_edit", "session_create", "session_edit",
    "import", "export", "prediction_view", "decision",
    "model_training", "model_update", "model_promotion", "model_migration", "job_cancel",
    "user_create", "user_disable", "user_enable", "role_change", "password_change",
    "audit_view", "audit_export", "audit_verify", "backup", "restore",
    "session_list", "session_revoke", "user_sso",  # issue 15: sign-in sessions, SSO identity
    "followup_create", "followup_edit", "plan_change",  # issue 13: follow-up records
    "prom_invite", "prom_submit", "prom_refused", "prom_alert_ack", "prom_schedule",  # issue 27
    "integrity_failure", "signin_limited", "cds_refused", "cds_error",  # issue 24
    "cds_feedback", "smart_issuer", "smart_identity",  # issue 26
    "urgent_alert_push",  # issue 23: suicide-risk alerts e-mailed to on-call (HAZ-009)
    "cohort_build",  # issue 31: each cohort table build, under the store's lease or not
)
_CHAIN = AuditChain.__table__
_LOG = AuditEntry.__table__


def _check(action: str, category: str, outcome: str) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to records.audit.trail.ACTIONS")
    if category not in CATEGORIES:
        raise ValueError(f"unknown data category {category!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")


def record(session: Session, actor: Actor, action: str, category: str, *,
           patient_id: str | None = None, outcome: str = "success",
           detail: str | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction (the caller commits)."""
    _check(action, category, outcome)
    head = session.execute(update(_CHAIN).where(_CHAIN.c.id == 1)
                           .values(entries=_CHAIN.c.entries + 1)
                           .returning(_CHAIN.c.entries, _CHAIN.c.head_hash)).one_or_none()
    if head is None:
        raise RecordError("the audit chain has no head row; run `python -m records.migrate "
                          "upgrade` on this store")
    fields: dict[str, Any] = {
        "id": int(head.entries), "at": utcnow(), "username": (actor.username or "?")[:64],
        "role": actor.role or None, "patient_id": patient_id, "action": action,
        "category": category, "outcome": outcome, "detail": detail,
        "prev_hash": head.head_hash}
    entry = AuditEntry(**fields, hash=entry_hash(fields))
    session.add(entry)
    session.flush()
    session.execute(update(_CHAIN).where(_CHAIN.c.id == 1).values(head_hash=entry.hash))
    checkpoints.request(session, action, entry.id)  # anchored outside once committed
    log.debug("audit %s %s by %s: %s", entry.id, action, entry.username, outcome)
    return entry


def record_now(engine: Engine, actor: Actor, action: str, category: str,
               **details: Any) -> AuditEntry:
    """Append one entry in its own transaction and commit it."""
    with session_factory(engine)() as session:
        entry = record(session, actor, action, category, **details)
        session.commit()
        return entry


def verify(session: Session, batch: int = 2000, anchored_only: bool = True,
           source: Any = None) -> ChainReport:
    """Check every link, the head row and the signed checkpoints (every entry must be
    anchored; ``source``: a second sink too); report the first broken link
    (``records.audit.verify``). Never raises for a damaged table."""
    from records.audit.verify import verify_chain

    return verify_chain(session, batch, anchored_only, source)


@dataclass(frozen=True)
class AuditFilter:
    """What the admin page and `kapcds audit export` filter on (all optional)."""

    since: datetime | None = None
    until: datetime | None = None
    username: str | None = None
    patient_id: str | None = None
    action: str | None = None
    outcome: str | None = None


def _select(filters: AuditFilter, newest_first: bool = False) -> Any:
    stmt = select(_LOG)
    for value, condition in (
            (filters.since, lambda v: _LOG.c.at >= v), (filters.until, lambda v: _LOG.c.at < v),
            (filters.username, lambda v: _LOG.c.username == v),
            (filters.patient_id, lambda v: _LOG.c.patient_id == v),
            (filters.action, lambda v: _LOG.c.action == v),
            (filters.outcome, lambda v: _LOG.c.outcome == v)):
        if value:
            stmt = stmt.where(condition(value))
    return stmt.order_by(_LOG.c.id.desc() if newest_first else _LOG.c.id)


def iter_entries(session: Session, filters: AuditFilter | None = None,
                 batch: int = 2000) -> Iterator[dict[str, Any]]:
    """Matching entries oldest first as dicts (time as ISO 8601 UTC), read in batches."""
    rows = session.execute(_select(filters or AuditFilter()).execution_options(
        yield_per=batch))
    for row in rows.mappings():
        yield {**row, "at": iso_utc(row["at"])}


def entries_frame(session: Session, filters: AuditFilter | None = None,
                  limit: int | None = 500) -> pd.DataFrame:
    """Newest matching entries first, as a table for the admin page."""
    import pandas as pd

    stmt = _select(filters or AuditFilter(), newest_first=True)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = [{**row, "at": iso_utc(row["at"])} for row in session.execute(stmt).mappings()]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def export_csv(session: Session, filters: AuditFilter | None = None) -> str:
    """Matching entries as CSV text (formula-like text neutralised)."""
    from base.safety import csv_rows_text

    return csv_rows_text(COLUMNS, iter_entries(session, filters))
