"""Cohort predictions kept on disk per model version, so a restarted server does not
predict the whole store again (issue 18: a 100k-patient store took 26 s to predict).

Rows are keyed by patient id and a hash of every stored value: a row whose values changed is
predicted again, the others are read back. Parquet holds data only (nothing executes on
load); the file is owner-only, like the store, because it names patients.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from base.files import write_atomically
from base.settings import home_dir
from dashboard.services.workspace import Workspace
from models.predict import predict_frame
from models.schema import ID_COLUMN

log = logging.getLogger(__name__)

ROW_HASH = "_row_hash"


def _cache_file(ws: Workspace) -> Path:
    """One file per model version (and card, so a re-registered version never matches)."""
    created = str(ws.card.get("created_utc", "")).replace(":", "").replace("-", "")
    return home_dir() / "cache" / f"cohort-predictions-v{ws.version}-{created}.parquet"


def cached_predictions(ws: Workspace, patients: pd.DataFrame) -> pd.DataFrame:
    """``predict_frame`` of every stored patient, kept on disk per model version.

    Each row is keyed by its patient id and a hash of its stored values: a fresh server
    reads the file instead of predicting the whole store, and only patients added or edited
    since are predicted (every column of a row depends on that row alone). An unreadable
    cache is ignored and rebuilt.
    """
    hashes = _row_hashes(patients)
    keys = pd.MultiIndex.from_arrays([patients[ID_COLUMN].astype(str).to_numpy(), hashes])
    path = _cache_file(ws)
    cached = None
    if path.exists():
        try:
            cached = pd.read_parquet(path)
            cached.index = pd.MultiIndex.from_arrays(
                [cached.pop(ID_COLUMN).astype(str).to_numpy(), cached.pop(ROW_HASH).to_numpy()])
        except Exception:  # a partial or older file: predict afresh
            log.warning("cohort prediction cache %s unreadable; rebuilding", path)
            cached = None
    known = keys.isin(cached.index) if cached is not None else np.zeros(len(keys), bool)
    if known.all():
        out = cached.loc[keys]
    else:
        fresh = predict_frame(ws.model_set, patients.loc[~known]).drop(columns=[ID_COLUMN])
        fresh.index = keys[~known]
        out = fresh if cached is None or not known.any() else pd.concat(
            [cached.loc[keys[known]], fresh])
        out = out.loc[keys]
        _write_cache(path, out)
    log.info("cohort predictions: %d from the cache, %d predicted", int(known.sum()),
             int((~known).sum()))
    return out.set_axis(patients.index)


def _row_hashes(patients: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash of every stored value of each row (lists and dicts by their repr)."""
    columns = {}
    for name in patients.columns:
        column = patients[name]
        try:
            columns[name] = pd.util.hash_pandas_object(column, index=False).to_numpy()
        except TypeError:  # unhashable values (e.g. lists) in an object column
            columns[name] = pd.util.hash_pandas_object(column.map(repr), index=False).to_numpy()
    return pd.util.hash_pandas_object(pd.DataFrame(columns, index=patients.index),
                                      index=False).to_numpy()


def _write_cache(path: Path, predicted: pd.DataFrame) -> None:
    frame = predicted.copy()
    frame.insert(0, ROW_HASH, predicted.index.get_level_values(1))
    frame.insert(0, ID_COLUMN, predicted.index.get_level_values(0))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    buffer = io.BytesIO()
    frame.reset_index(drop=True).to_parquet(buffer, index=False)
    # owner-only (it holds patient ids and predictions); readers see the old or the new file
    write_atomically(path, buffer.getvalue())
