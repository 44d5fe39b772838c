"""The cohort table kept on disk per model version, so a restarted server neither reads
every patient row nor predicts the whole store again (issue 18: a 100,000-patient store
took 26 s to predict and 2 s to read).

A file written at the store's current fingerprint (count, newest edit, sum of row
versions, schema revision) is read as it is. Otherwise each cached row's patient
``version`` and ``updated_at`` (raised by every ORM edit) are compared with the store's:
only new or changed rows are read and predicted, removed ones dropped, and the file
rewritten. Every column of a cohort row depends on that row alone (prediction, screen,
OOD flags, gap marks), which makes the row-wise update equal to a rebuild (tested).
Arrow IPC holds data only (nothing executes on load); the file is owner-only, like the
store, because it names patients.

Replicas on one store (issue 31): the build runs under a lease row in the store and its
bytes are published there (``dashboard.services.cohort.shared``), so another process, whose
own file is missing or older, reads them instead of building the same store state again.

Nothing read back is trusted unverified (issue 24): the file starts with an HMAC (the
installation's key, ``base.signing.SigningKey.mac``) over the model version, the card's
date, the store and the Arrow bytes, which carry the store fingerprint. A file whose tag does
not match (crafted numbers, another installation's file, a cache moved between stores) is
discarded, logged, audited as ``integrity_failure`` and rebuilt from the store: it is
never shown.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
from sqlalchemy.orm import Session

from base.files import write_atomically
from base.settings import home_dir
from base.signing import installation_key
from dashboard.services.cohort import shared
from dashboard.services.workspace import Workspace
from models.contract.schema import ID_COLUMN
from records.db import session_factory
from records.frames import patient_keys, patients_frame, store_fingerprint

log = logging.getLogger(__name__)

FORMAT = 4  # bump when the cohort table's columns change: older files are ignored
VERSION, UPDATED = "_row_version", "_row_updated_at"
MAGIC = b"KAPCDS-MAC1 "  # the file: MAGIC, hex HMAC, newline, Arrow IPC bytes
PURPOSE = "cohort-cache"
BuildRows = Callable[[Workspace, pd.DataFrame], pd.DataFrame]


def cache_file(ws: Workspace) -> Path:
    """One file per model version (and card, so a re-registered version never matches)
    and store (two stores sharing a home folder never share rows)."""
    created = str(ws.card.get("created_utc", "")).replace(":", "").replace("-", "")
    store = hashlib.sha256(ws.engine.url.render_as_string(hide_password=True).encode()
                           ).hexdigest()[:12]
    name = f"cohort-f{FORMAT}-v{ws.version}-{created}-{store}.arrow"
    return home_dir() / "cache" / name


def _context(ws: Workspace) -> bytes:
    """What the tag binds besides the bytes: model version, card date and store."""
    created = str(ws.card.get("created_utc", ""))
    store = ws.engine.url.render_as_string(hide_password=True)
    return f"{ws.version}|{created}|{store}\n".encode()


def cached_cohort(ws: Workspace, build_rows: BuildRows) -> pd.DataFrame:
    """The cohort table of every stored patient (indexed by id, ordered by id).

    ``build_rows(ws, patients)`` turns stored rows (``records.frames.patients_frame``)
    into cohort rows; it runs only for patients new or changed since the file was written.
    An unreadable file is ignored: replaced by the verified table published in the store,
    or rebuilt.
    """
    path = cache_file(ws)
    with _lock(path):  # one builder per file; a second caller then reads what it wrote
        return _cached_cohort(ws, build_rows, path)


def _lock(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path, threading.Lock())


_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _cached_cohort(ws: Workspace, build_rows: BuildRows, path: Path) -> pd.DataFrame:
    """The local file if it is at the store's state; else the table another replica
    published in the store; else built here under the store's lease (issue 31)."""
    cached = _read(path, ws)
    key = shared.build_key(ws, FORMAT)
    lease = shared.Lease(ws, key)
    deadline = time.monotonic() + shared.wait_seconds()
    rejected = None  # a published table that failed its check: not fetched again
    while True:
        with session_factory(ws.engine)() as session:
            fingerprint = store_fingerprint(session)
        if cached is not None and cached.fingerprint == fingerprint:
            log.info("cohort table: %d from the cache, 0 built", len(cached.table))
            return cached.table
        theirs = shared.published_fingerprint(ws, key)
        if theirs not in (None, rejected) and (cached is None or theirs != cached.fingerprint):
            installed = _install(path, ws, key)
            if installed is None:
                rejected = theirs
            else:
                cached = installed  # the store's state, or the base to update
                continue
        if lease.claim():
            break
        if time.monotonic() > deadline:
            log.warning("cohort build %s still leased by another replica after %d s: "
                        "building here without the lease", key, shared.wait_seconds())
            break
        time.sleep(shared.POLL_SECONDS)
    try:
        return _update(ws, build_rows, path, cached, lease)
    finally:
        lease.release()  # a build that failed before publishing lets the others in


def _install(path: Path, ws: Workspace, key: str) -> _Cached | None:
    """Write the table published in the store as this process's cohort file, and read it."""
    found = shared.fetch(ws, key)
    if found is None:
        return None
    _, body = found
    _store_file(path, body, ws)
    read = _read(path, ws)
    if read is not None:
        log.info("cohort table: %d read from the build another replica published",
                 len(read.table))
    return read


def _update(ws: Workspace, build_rows: BuildRows, path: Path, cached: _Cached | None,
            lease: shared.Lease) -> pd.DataFrame:
    """Build the rows new or changed since ``cached`` (all without it), write the file and
    publish it under the lease."""
    with session_factory(ws.engine)() as session:
        fingerprint = store_fingerprint(session)
        keys = patient_keys(session).set_index(ID_COLUMN)
        stale = keys.index
        if cached is not None:
            known = cached.keys.reindex(keys.index)
            same = (known["version"] == keys["version"]) & (known["updated_at"]
                                                             == keys["updated_at"])
            stale = keys.index[~same.to_numpy(dtype=bool)]
        parts = [] if cached is None else [cached.table.drop(index=stale, errors="ignore")]
        parts += _built(ws, build_rows, session, list(stale), lease.renew)
    table = pd.concat(parts) if len(parts) > 1 else parts[0]
    del parts  # each full copy of the table is ~150 MiB at 100,000 patients: one at a time
    # in store order; a patient removed between the two reads (another writer) is left out
    present = keys.index[keys.index.isin(table.index)]
    if not table.index.equals(present):
        table = table.loc[present]
    table.index = table.index.rename(ID_COLUMN)  # as a read from the file names it (no copy)
    keys = keys.loc[present]
    body = _write(path, table, keys, fingerprint, ws)
    leased = lease.held
    published = lease.publish(fingerprint, body)
    n_built = len(stale)
    log.info("cohort table: %d from the cache, %d built", len(table) - n_built, n_built)
    shared.audit_build(ws, f"cohort table {lease.key} at {fingerprint}: {n_built} rows built, "
                 f"{len(table) - n_built} from the cache, by {lease.holder}; "
                 + ("published under the store's lease" if published else
                    "lease lost, not published" if leased else "built without the lease"))
    return table


BUILD_CHUNK = 20_000  # patients read and predicted at a time


def _built(ws: Workspace, build_rows: BuildRows, session: Session, stale: list[str],
           renew: Callable[[], None]) -> list[pd.DataFrame]:
    """Cohort rows of the ``stale`` patients, read and built ``BUILD_CHUNK`` at a time:
    reading 100,000 stored rows at once held ~400 MiB of row objects beside the model,
    which set the server's peak memory (issue 31). Rows are independent, so the chunks
    are the rows one build would make."""
    parts = []
    for i in range(0, len(stale), BUILD_CHUNK):
        parts.append(build_rows(ws, patients_frame(session,
                                                   patient_ids=stale[i:i + BUILD_CHUNK])))
        renew()  # the store's lease: still building
    return parts


@dataclass
class _Cached:
    table: pd.DataFrame  # the cohort table, as ``build_rows`` made it
    keys: pd.DataFrame  # version and updated_at of each row when it was built, by id
    fingerprint: str  # the store's fingerprint when the file was written


def _verified(path: Path, ws: Workspace) -> bytes | None:
    """The file's Arrow bytes if its tag is this installation's for this model and store;
    None (logged, audited) otherwise."""
    data = path.read_bytes()
    head, _, body = data.partition(b"\n")
    tag = head.removeprefix(MAGIC).decode("ascii", "replace") if head.startswith(MAGIC) else ""
    if installation_key().mac_matches(PURPOSE, _context(ws) + body, tag):
        return body
    log.error("cohort cache %s failed its integrity check (not written by this installation "
              "for model %s and this store): discarded as unreadable; rebuilding from the "
              "store", path, ws.version)
    path.unlink(missing_ok=True)
    shared.audit_integrity_failure(
        ws, f"cohort cache {path.name} failed its HMAC check; discarded")
    return None


def _read(path: Path, ws: Workspace) -> _Cached | None:
    """The cached table, keys and fingerprint (None: absent, unreadable or failing its
    integrity check). List columns travel as comma-joined names (feature names hold no
    comma)."""
    if not path.exists():
        return None
    try:
        body = _verified(path, ws)
        if body is None:
            return None
        arrow = feather.read_table(pa.BufferReader(body))
        meta = arrow.schema.metadata or {}
        lists = json.loads(meta[b"kapcds.lists"])
        ids = arrow.column(ID_COLUMN).to_pylist()
        keys = pd.DataFrame({"version": arrow.column(VERSION).to_numpy(),
                             "updated_at": arrow.column(UPDATED).to_pylist()},
                            index=pd.Index(ids, name=ID_COLUMN))
        frame = arrow.drop_columns([VERSION, UPDATED]).to_pandas()
        for name in lists:  # lists, as the store's reader gives them
            frame[name] = pd.Series(_split(frame[name]), index=frame.index, dtype=object)
        frame.index = pd.Index(frame[ID_COLUMN].astype(str))
        return _Cached(frame, keys, meta[b"kapcds.fingerprint"].decode())
    except Exception:  # noqa: BLE001 - a partial or older file: build afresh
        log.warning("cohort cache %s unreadable; rebuilding", path)
        return None


def _split(texts: pd.Series) -> list[list[str]]:
    """Comma-joined names back to lists, with the cyclic garbage collector paused: lists of
    strings make no cycles, and 300,000 new containers otherwise trigger collections over
    the whole heap (0.42 s of a 0.7 s read at 100,000 patients, measured)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return [text.split(",") if text else [] for text in texts]
    finally:
        if was_enabled:
            gc.enable()


def _write(path: Path, table: pd.DataFrame, keys: pd.DataFrame, fingerprint: str,
           ws: Workspace) -> bytes:
    """Write the cohort file; its Arrow bytes (to publish)."""
    # straight from the table, without a pandas copy of it (issue 31: the copies of the
    # write phase set the fresh server's peak memory)
    lists = [name for name in table.columns if table[name].dtype == object
             and len(table) and isinstance(table[name].iloc[0], list)]
    arrow = pa.Table.from_pandas(table, preserve_index=False,
                                 columns=[c for c in table.columns if c not in lists])
    for name in lists:  # in the table's column order, as comma-joined names
        joined = pa.array([",".join(map(str, value)) for value in table[name]], pa.string())
        arrow = arrow.add_column(table.columns.get_loc(name), name, joined)
    arrow = arrow.append_column(VERSION, pa.array(keys["version"].to_numpy()))
    arrow = arrow.append_column(UPDATED, pa.array(keys["updated_at"].to_numpy()))
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                           b"kapcds.lists": json.dumps(lists).encode(),
                                           b"kapcds.fingerprint": fingerprint.encode()})
    buffer = pa.BufferOutputStream()
    feather.write_feather(arrow, buffer, compression="lz4")
    body = buffer.getvalue().to_pybytes()
    _store_file(path, body, ws)
    return body


def _store_file(path: Path, body: bytes, ws: Workspace) -> None:
    """The Arrow bytes behind this installation's tag for this model and store."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # owner-only (it holds patient ids and predictions); readers see the old or the new file
    tag = installation_key().mac(PURPOSE, _context(ws) + body)
    write_atomically(path, MAGIC + tag.encode("ascii") + b"\n" + body)
