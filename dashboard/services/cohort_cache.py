"""The cohort table kept on disk per model version, so a restarted server neither reads
every patient row nor predicts the whole store again (issue 18: a 100,000-patient store
took 26 s to predict and 2 s to read).

Each cached row carries its patient's ``version`` and ``updated_at`` (raised by every ORM
edit): a start reads those two columns for every patient, reads and predicts only the rows
that are new or changed, drops the removed ones and rewrites the file. Every column of a
cohort row depends on that row alone (prediction, screen, OOD flags, gap marks), which is
what makes the row-wise update equal to a rebuild (tested). Parquet holds data only
(nothing executes on load); the file is owner-only, like the store, because it names
patients.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from base.files import write_atomically
from base.settings import home_dir
from dashboard.services.workspace import Workspace
from models.schema import ID_COLUMN
from records.db import session_factory
from records.frames import patient_keys, patients_frame

log = logging.getLogger(__name__)

FORMAT = 2  # bump when the cohort table's columns change: older files are ignored
VERSION, UPDATED = "_row_version", "_row_updated_at"
BuildRows = Callable[[Workspace, pd.DataFrame], pd.DataFrame]


def cache_file(ws: Workspace) -> Path:
    """One file per model version (and card, so a re-registered version never matches)
    and store (two stores sharing a home folder never share rows)."""
    created = str(ws.card.get("created_utc", "")).replace(":", "").replace("-", "")
    store = hashlib.sha256(ws.engine.url.render_as_string(hide_password=True).encode()
                           ).hexdigest()[:12]
    name = f"cohort-f{FORMAT}-v{ws.version}-{created}-{store}.parquet"
    return home_dir() / "cache" / name


def cached_cohort(ws: Workspace, build_rows: BuildRows) -> pd.DataFrame:
    """The cohort table of every stored patient (indexed by id, ordered by id).

    ``build_rows(ws, patients)`` turns stored rows (``records.frames.patients_frame``)
    into cohort rows; it runs only for patients new or changed since the file was written.
    An unreadable file is ignored and rebuilt.
    """
    with session_factory(ws.engine)() as session:
        keys = patient_keys(session).set_index(ID_COLUMN)
        path = cache_file(ws)
        cached = _read(path)
        stale = keys.index
        if cached is not None:
            known = cached[[VERSION, UPDATED]].reindex(keys.index)
            same = ((known[VERSION] == keys["version"]) & (known[UPDATED] == keys["updated_at"]))
            stale = keys.index[~same.to_numpy(dtype=bool)]
        if len(stale) == 0 and cached is not None and len(cached) == len(keys):
            log.info("cohort table: %d from the cache, 0 built", len(keys))
            return cached.drop(columns=[VERSION, UPDATED])
        patients = None if len(stale) == 0 else patients_frame(
            session, patient_ids=None if len(stale) == len(keys) else list(stale))
    parts = [] if cached is None else [cached.drop(index=stale, errors="ignore")]
    if patients is not None:
        built = build_rows(ws, patients)
        built[VERSION] = keys.loc[built.index, "version"].to_numpy()
        built[UPDATED] = keys.loc[built.index, "updated_at"].to_numpy()
        parts.append(built)
    table = (pd.concat(parts) if len(parts) > 1 else parts[0]).loc[keys.index]
    _write(path, table)
    n_built = 0 if patients is None else len(patients)
    log.info("cohort table: %d from the cache, %d built", len(table) - n_built, n_built)
    return table.drop(columns=[VERSION, UPDATED])


def _read(path: Path) -> pd.DataFrame | None:
    """The cached table, list columns back as lists (or None: absent or unreadable)."""
    if not path.exists():
        return None
    try:
        arrow = pq.read_table(path)
        lists = [f.name for f in arrow.schema if pa.types.is_list(f.type)]
        frame = arrow.drop_columns(lists).to_pandas()
        for name in lists:  # lists, as the store's reader gives them (not numpy arrays)
            frame[name] = pd.Series(arrow.column(name).to_pylist(), index=frame.index,
                                    dtype=object)
        frame = frame[arrow.schema.names]
        frame.index = pd.Index(frame[ID_COLUMN].astype(str))
        return frame
    except Exception:  # noqa: BLE001 - a partial or older file: build afresh
        log.warning("cohort cache %s unreadable; rebuilding", path)
        return None


def _write(path: Path, table: pd.DataFrame) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    buffer = io.BytesIO()
    table.reset_index(drop=True).to_parquet(buffer, index=False)
    # owner-only (it holds patient ids and predictions); readers see the old or the new file
    write_atomically(path, buffer.getvalue())
