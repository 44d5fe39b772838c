"""Verify the audit chain against itself, its head row and the signed checkpoints.

Every tamper class ends in a report naming the first broken link:

- an edited entry: its contents no longer match its hash;
- a deleted entry: a gap in the numbering (or, renumbered, a hash the checkpoints disagree
  with);
- a forged append: an entry beyond what the chain head row counts;
- a cut tail: fewer entries than the head row or the latest checkpoint counts;
- a consistent rewrite (hashes recomputed with the public function, head row updated):
  the first entry whose hash differs from the one anchored in the checkpoint file;
- an altered or forged checkpoint line: its signature does not verify.

Rows are read defensively: a missing table, a NULL or non-numeric value, an unparsable time
gives a report ("entry N cannot be read: …"), never an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from records.audit import checkpoints as anchors
from records.audit.chain import ChainReport, entry_hash
from records.tables.security import GENESIS_HASH, AuditChain, AuditEntry

log = logging.getLogger(__name__)

_CHAIN = AuditChain.__table__
_LOG = AuditEntry.__table__
_READ_ERRORS = (SQLAlchemyError, ValueError, TypeError, AttributeError, KeyError,
                OverflowError)


class _Broken(Exception):
    def __init__(self, at: int | None, problem: str) -> None:
        super().__init__(problem)
        self.at, self.problem = at, problem


def _unreadable(session: Session, at: int | None, what: str, exc: Exception) -> _Broken:
    if isinstance(exc, SQLAlchemyError):
        session.rollback()  # the failed statement ended the transaction (PostgreSQL)
    return _Broken(at, f"{what} cannot be read ({type(exc).__name__}: {exc})"[:300])


def _rows(session: Session, batch: int) -> Iterator[dict[str, Any]]:
    result = session.execute(select(_LOG).order_by(_LOG.c.id).execution_options(
        yield_per=batch))
    for row in result.mappings():
        yield dict(row)


def _hashes(found: list[anchors.Checkpoint], problems: list[str], where: str) -> list[str]:
    """The short hash of every anchored entry, in order, from one epoch's checkpoints."""
    anchored: list[str] = []
    for checkpoint in found:
        if checkpoint.first > len(anchored) + 1:
            problems.append(f"{where} line {checkpoint.line} skips entries "
                            f"{len(anchored) + 1}–{checkpoint.first - 1}")
            break
        overlap = anchored[checkpoint.first - 1:]
        if list(checkpoint.hashes[:len(overlap)]) != overlap:
            problems.append(f"{where} line {checkpoint.line} disagrees with an "
                            "earlier checkpoint")
            break
        anchored.extend(checkpoint.hashes[len(overlap):])
    return anchored


def _anchor(session: Session, source: Path | None) -> tuple[list[str], str, list[str]]:
    """(short hash per anchored entry, description, problems with the anchors)."""
    identity = anchors.store_identity(session.get_bind())  # type: ignore[arg-type]
    if identity is None:
        return [], "", ["the store has no audit_anchor row (its identity for the signed "
                        "checkpoints): it cannot be checked against them"]
    store, recorded = identity
    found, problems = anchors.read_all(store)
    anchored = _hashes(found, problems, "checkpoint file")
    newest = max((c.seq for c in found), default=0)
    if newest < recorded:
        problems.append(f"the checkpoint file ends at checkpoint {newest} but the store "
                        f"recorded {recorded}: the file was cut short, emptied or replaced")
    if source is not None:
        other, other_problems = anchors.read_source(store, source)
        problems.extend(other_problems)
        second = _hashes(other, problems, f"anchor source {source}")
        common = min(len(anchored), len(second))
        agree = anchored[:common] == second[:common]
        if not agree:
            problems.append(f"the checkpoint file disagrees with the anchor source {source}")
        other_newest = max((c.seq for c in other), default=0)
        if other_newest > newest:
            problems.append(f"the anchor source {source} holds checkpoint {other_newest}, the "
                            f"local checkpoint file only {newest}: the file was cut short or "
                            "replaced")
        if not other:
            problems.append(f"the anchor source {source} holds no checkpoint of this store")
        # the second sink is the one the database writer cannot rewrite: it names the entry
        anchored = second + anchored[len(second):] if agree else second
        found = found or other
    if not found:
        return [], "; not anchored (no checkpoint)", problems
    last = found[-1]
    return anchored, f"; anchored by the checkpoint of {last.at} ({len(anchored)} entries)", \
        problems


def _walk(session: Session, anchored: list[str], batch: int) -> tuple[int, str]:
    """Check each entry in order; (entries, last hash) or ``_Broken``."""
    previous, checked = GENESIS_HASH, 0
    rows = _rows(session, batch)
    while True:
        position = checked + 1
        try:
            fields = next(rows, None)
        except _READ_ERRORS as exc:
            raise _unreadable(session, position, "it", exc) from exc
        if fields is None:
            return checked, previous
        if fields["id"] != position:
            if isinstance(fields["id"], int) and fields["id"] > position:
                raise _Broken(position, f"entry {position} is missing (next is {fields['id']})")
            raise _Broken(position, f"its id is {fields['id']!r}, not {position}")
        try:
            recomputed = entry_hash(fields)
        except _READ_ERRORS as exc:
            raise _unreadable(session, position, "it", exc) from exc
        if fields["prev_hash"] != previous:
            raise _Broken(position, "its previous-entry hash does not match the entry before it")
        if recomputed != fields["hash"]:
            raise _Broken(position, "its contents do not match its hash (the entry was altered)")
        if position <= len(anchored) and str(fields["hash"])[:anchors.SHORT] != \
                anchored[position - 1]:
            raise _Broken(position, "it differs from the entry anchored in the checkpoint file "
                          "(the chain was rewritten from here, hashes recomputed)")
        previous, checked = fields["hash"], position


def _check_head(session: Session, checked: int, previous: str, anchored: list[str]) -> None:
    try:
        head = session.execute(select(_CHAIN.c.entries, _CHAIN.c.head_hash)
                               .where(_CHAIN.c.id == 1)).one_or_none()
    except _READ_ERRORS as exc:
        raise _unreadable(session, None, "the audit chain head", exc) from exc
    if head is None:
        raise _Broken(None, "the audit chain head row is missing")
    if checked > head.entries:
        raise _Broken(head.entries + 1, f"entry {head.entries + 1} was appended outside the "
                      f"audit code (the chain head counts {head.entries} entries, the table "
                      f"holds {checked}: a forged append)")
    if head.entries != checked or head.head_hash != previous:
        raise _Broken(checked + 1, f"the chain head expects {head.entries} entries but "
                      f"{checked} link up (entries were removed from the end)")
    if checked < len(anchored):
        raise _Broken(checked + 1, f"entries {checked + 1}–{len(anchored)} are missing: the "
                      f"checkpoint file anchored {len(anchored)} entries (the tail was cut)")


def verify_chain(session: Session, batch: int = 2000, anchored_only: bool = True,
                 source: Path | None = None) -> ChainReport:
    """Recompute every hash in order and compare with the head row and the checkpoints.

    ``anchored_only`` (the default, issue 24) fails closed: an entry no signed checkpoint
    covers is a failure. ``False`` checks the chain alone (scratch copies in backup and
    restore, which are not this store). ``source``: a second sink to check against too.
    """
    anchored, anchor_note, problems = [], "", []
    if anchored_only:
        try:
            anchored, anchor_note, problems = _anchor(session, source)
        except OSError as exc:
            return ChainReport(False, 0, None, f"the checkpoint file cannot be read ({exc})")
    checked = 0
    try:
        checked, previous = _walk(session, anchored, batch)
        _check_head(session, checked, previous, anchored)
    except _Broken as broken:
        return ChainReport(False, max(0, (broken.at or 1) - 1), broken.at, broken.problem)
    if problems:
        return ChainReport(False, checked, None, problems[0])
    if anchored_only and checked > len(anchored):
        return ChainReport(False, len(anchored), len(anchored) + 1,
                           f"entries {len(anchored) + 1}–{checked} are not anchored by any "
                           "signed checkpoint (written outside the audit code, or their "
                           "checkpoint was lost)")
    return ChainReport(True, checked, note=anchor_note)
