"""Signed checkpoints of the audit chain, kept outside the database.

Whoever can write the database can drop the triggers and recompute every hash; nothing in
the database can stop that. So the chain is anchored outside it: an append-only file beside
the signing key (``settings.audit_checkpoint_file()``, mode 0600) gets one signed line per
checkpoint with the number of entries, the head hash, the time, and a short hash (64 bits)
of every entry added since the previous checkpoint. ``verify`` then names the first entry
that differs from what was anchored, even after a consistent rewrite.

A checkpoint is written after the commit of every transaction that added audit entries
(issue 24: fail closed, so ``verify`` treats any entry no checkpoint covers as a failure);
the writer first checks that the new entries link up with the last checkpoint and refuses
to anchor a chain that does not (it logs an error instead). A restore starts a new epoch:
its checkpoint covers the restored chain from entry 1 and supersedes earlier ones.

Checkpoints name the store by the random id kept in its ``audit_anchor`` row (revision
0011), not by its URL, so a moved data folder keeps its anchor. Each checkpoint carries a
sequence number that the store records too: a checkpoint file cut short, emptied or deleted
is behind the store, which ``verify`` reports and the writer refuses to paper over. Each
line also goes to the optional second sink (``records.audit.anchor_sink``) that the database
writer cannot rewrite.

Group commit (issue 31): the commits of one process take turns at writing checkpoints, and a
commit whose newest entry a checkpoint of this process already covers writes none: while one
checkpoint is signed and fsynced, the transactions committed meanwhile are covered by the
next one. Every commit still returns only once its entries are anchored; twenty concurrent
CDS calls then write a handful of checkpoints instead of twenty.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from base import settings
from base.signing import SignatureError, SigningKey, installation_key, verify_document
from records.audit import anchor_sink
from records.audit.chain import entry_hash
from records.tables.edge import AuditAnchor
from records.tables.security import GENESIS_HASH, AuditChain, AuditEntry

log = logging.getLogger(__name__)

PURPOSE = "audit-checkpoint"
SHORT = 16  # hex digits of each entry hash kept in the file (64 bits)
_PENDING = "kapcds_checkpoint"
_CHAIN = AuditChain.__table__
_LOG = AuditEntry.__table__
_ANCHOR = AuditAnchor.__table__
_NEWEST = "kapcds_checkpoint_newest"
_TURN = threading.Lock()  # this process's checkpoint writers take turns (group commit)
_covered: dict[tuple[str, str], tuple[int, int]] = {}  # (file, store URL) -> (seq, entries)


@dataclass(frozen=True)
class Checkpoint:
    """One verified line of the checkpoint file."""

    line: int
    store: str
    entries: int
    head: str
    at: str
    reason: str
    first: int
    hashes: tuple[str, ...]
    epoch: bool
    seq: int = 0


def store_identity(engine: Engine) -> tuple[str, int] | None:
    """(store id, newest checkpoint number the store recorded); None without the row."""
    try:
        with engine.connect() as conn:
            row = conn.execute(select(_ANCHOR.c.store_id, _ANCHOR.c.checkpoints)
                               .where(_ANCHOR.c.id == 1)).one_or_none()
    except SQLAlchemyError:
        return None
    return None if row is None else (str(row.store_id), int(row.checkpoints or 0))


def store_name(engine: Engine) -> str | None:
    """The id checkpoints name ``engine``'s store by (None: no identity row)."""
    identity = store_identity(engine)
    return None if identity is None else identity[0]


def request(session: Session, action: str, entry_id: int) -> None:
    """Called by ``audit.record``: checkpoint after this transaction commits (always)."""
    from sqlalchemy import event

    session.info.setdefault(_PENDING, set()).add(action)
    session.info[_NEWEST] = max(entry_id, session.info.get(_NEWEST, 0))
    if not event.contains(session, "after_commit", _after_commit):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_NEWEST, None)


def _after_commit(session: Session) -> None:
    reasons = session.info.pop(_PENDING, None)
    newest = session.info.pop(_NEWEST, None)
    if not reasons:
        return
    try:
        engine = session.get_bind()
        write(engine, ",".join(sorted(reasons)), epoch="restore" in reasons,  # type: ignore[arg-type]
              covering=None if "restore" in reasons else newest)
    except Exception:  # noqa: BLE001 - the committed work stands; the failure is logged loudly
        log.exception("could not write the audit checkpoint")


def _reverse_lines(handle: Any, block: int = 1 << 16) -> Iterator[bytes]:
    """The file's lines, last first, read in blocks from the end."""
    handle.seek(0, os.SEEK_END)
    position, rest = handle.tell(), b""
    while position > 0:
        step = min(block, position)
        position -= step
        handle.seek(position)
        chunk = handle.read(step) + rest
        lines = chunk.split(b"\n")
        rest = lines.pop(0)
        yield from (line for line in reversed(lines) if line.strip())
    if rest.strip():
        yield rest


def parse(raw: bytes, number: int, keys: list[Any]) -> Checkpoint:
    """One line as a Checkpoint; SignatureError or ValueError when it is not valid."""
    doc = json.loads(raw)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    verify_document(PURPOSE, doc, keys)
    hashes = tuple(str(h) for h in doc["hashes"])
    if int(doc["first"]) + len(hashes) - 1 != int(doc["entries"]):
        raise ValueError("its hash list does not end at its entry count")
    return Checkpoint(number, str(doc["store"]), int(doc["entries"]), str(doc["head"]),
                      str(doc["at"]), str(doc["reason"]), int(doc["first"]), hashes,
                      bool(doc.get("epoch")), int(doc.get("seq") or 0))


def _last(handle: Any, store: str, key: SigningKey) -> Checkpoint | None:
    for raw in _reverse_lines(handle):
        try:
            checkpoint = parse(raw, 0, [key.public])
        except (SignatureError, ValueError, KeyError, TypeError):
            log.error("the audit checkpoint file has an invalid line; `kapcds audit verify`")
            continue
        if checkpoint.store == store:
            return checkpoint
    return None


def _segment(engine: Engine, after: Checkpoint | None) -> tuple[int, str, list[str]]:
    """(entries, head hash, full hashes after ``after``), checked to link up; else ValueError."""

    start = after.entries if after else 0
    with engine.connect() as conn:
        head = conn.execute(select(_CHAIN.c.entries, _CHAIN.c.head_hash)
                            .where(_CHAIN.c.id == 1)).one_or_none()
        if head is None:
            raise ValueError("the audit chain head row is missing")
        rows = conn.execute(select(_LOG).where(_LOG.c.id > start, _LOG.c.id <= head.entries)
                            .order_by(_LOG.c.id)).mappings().all()
        last_anchored = None
        if after is not None:
            last_anchored = conn.execute(select(_LOG.c.hash).where(
                _LOG.c.id == after.entries)).scalar_one_or_none()
    if head.entries < start or (after is not None and last_anchored != after.head):
        raise ValueError(f"entry {start} no longer matches the last checkpoint")
    previous, hashes = (after.head if after else GENESIS_HASH), []
    for expected_id, row in enumerate(rows, start=start + 1):
        if row["id"] != expected_id or row["prev_hash"] != previous or \
                entry_hash(dict(row)) != row["hash"]:
            raise ValueError(f"entry {expected_id} does not link up")
        previous = row["hash"]
        hashes.append(row["hash"])
    if len(rows) != head.entries - start or head.head_hash != previous:
        raise ValueError("the chain head does not match its last entry")
    return int(head.entries), previous, hashes


def write(engine: Engine, reason: str, epoch: bool = False,
          covering: int | None = None) -> Checkpoint | None:
    """Append a signed checkpoint of ``engine``'s chain (None if not anchored or refused).

    ``covering``: the newest entry the caller needs anchored; when a checkpoint this process
    wrote already reaches it, nothing is written (group commit) and None is returned."""
    key = (str(settings.audit_checkpoint_file()), str(engine.url))
    with _TURN:
        if covering is not None and _already_covered(engine, key, covering):
            return None
        written = _write(engine, reason, epoch)
        if written is not None:
            _covered[key] = (written.seq, written.entries)
        return written


def _already_covered(engine: Engine, key: tuple[str, str], covering: int) -> bool:
    """True when this process's newest checkpoint reaches ``covering`` and is still the
    store's newest (a restore or another process's checkpoint since then: not trusted)."""
    seq, entries = _covered.get(key, (0, 0))
    if seq == 0 or entries < covering:
        return False
    identity = store_identity(engine)
    return identity is not None and identity[1] == seq


def _write(engine: Engine, reason: str, epoch: bool) -> Checkpoint | None:
    identity = store_identity(engine)
    if identity is None:
        log.error("not anchoring the audit chain: the store has no audit_anchor row "
                  "(run `python -m records.migrate upgrade`)")
        return None
    store, recorded = identity
    key = installation_key()
    path = settings.audit_checkpoint_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        newest = _last(handle, store, key)
        seq = newest.seq if newest else 0
        if seq < recorded and not epoch:
            log.error("not anchoring the audit chain of %s: the checkpoint file ends at "
                      "checkpoint %d but the store recorded %d (the file was cut short, "
                      "emptied or replaced); run `kapcds audit verify`", store, seq, recorded)
            return None
        last = None if epoch else newest
        try:
            entries, head, hashes = _segment(engine, last)
        except ValueError as exc:
            log.error("not anchoring the audit chain of %s: %s; run `kapcds audit verify`",
                      store, exc)
            return None
        if last is not None and entries == last.entries:
            return last
        doc = key.sign(PURPOSE, {
            "store": store, "entries": entries, "head": head, "reason": reason,
            "at": datetime.now(timezone.utc).isoformat(), "epoch": epoch,
            "seq": max(seq, recorded) + 1,
            "first": (last.entries if last else 0) + 1, "hashes": [h[:SHORT] for h in hashes]})
        line = json.dumps(doc, separators=(",", ":")).encode("ascii")
        handle.write(line + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
        with engine.begin() as conn:  # the store remembers how far the file must reach
            conn.execute(update(_ANCHOR).where(_ANCHOR.c.id == 1)
                         .values(checkpoints=doc["seq"]))
    anchor_sink.send(store, doc["seq"], line)
    log.info("audit checkpoint: %d entries (%s)", entries, reason)
    return parse(json.dumps(doc).encode("ascii"), 0, [key.public])


def read_all(store: str, path: Path | None = None) -> tuple[list[Checkpoint], list[str]]:
    """The current epoch's checkpoints of ``store`` in order, and a problem per bad line."""
    path = path or settings.audit_checkpoint_file()
    if not path.is_file():
        return [], []
    with path.open("rb") as handle:
        return select_epoch(store, enumerate(handle, start=1), "checkpoint file")


def select_epoch(store: str, lines: Iterable[tuple[int, bytes]],
                 where: str) -> tuple[list[Checkpoint], list[str]]:
    """Of numbered raw lines, the current epoch's valid checkpoints of ``store`` in order
    (by sequence number) and a problem per invalid line."""
    keys = [installation_key().public]
    found: list[Checkpoint] = []
    problems: list[str] = []
    for number, raw in lines:
        if not raw.strip():
            continue
        try:
            checkpoint = parse(raw, number, keys)
        except (SignatureError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{where} line {number} is invalid ({exc}): the "
                            f"{where} was altered")
            continue
        if checkpoint.store == store:
            found.append(checkpoint)
    found.sort(key=lambda c: (c.seq, c.line))
    starts = [i for i, c in enumerate(found) if c.epoch]
    return (found[starts[-1]:] if starts else found), problems


def read_source(store: str, source: Path) -> tuple[list[Checkpoint], list[str]]:
    """Checkpoints of ``store`` from a second sink: a folder of one-checkpoint files, or a
    file of lines (syslog lines: the JSON from the first ``{``)."""
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.name.endswith(".json"))
        lines = [(number, path.read_bytes()) for number, path in enumerate(files, start=1)]
    elif source.is_file():
        lines = list(enumerate(source.read_bytes().splitlines(), start=1))
    else:
        raise OSError(f"no anchor source at {source}")
    lines = [(number, raw[raw.find(b"{"):] if b"{" in raw else raw) for number, raw in lines]
    return select_epoch(store, lines, f"anchor source {source}")
