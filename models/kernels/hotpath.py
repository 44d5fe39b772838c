"""One conversion of patient rows for every outcome model (the one-patient hot path).

Predicting and explaining one patient used to rebuild a pandas model frame, and then have
LightGBM convert it again, for every outcome and every call: a few hundred microseconds of
trees under tens of milliseconds of pandas. Here the rows become one float64 matrix of
model codes (category = its index in the schema's categories, unknown or missing = NaN,
exactly what ``to_model_frame`` + ``fastshap.model_matrix`` give) that every outcome's
``FastTreeShap`` reads, both for the margin (``margin_matrix``, LightGBM's own sum, same
bits) and for the SHAP values.

Small batches of plain values (the dashboard's and the CDS service's patients) skip pandas
entirely; anything else (large batches, pandas extension types, text in a numeric field)
takes the frame route once, which also raises the same errors as before.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from models.contract.doses import model_doses
from models.contract.features import to_model_frame
from models.contract.schema import DOSE_FEATURES, FEATURES, MODEL_DOSE

SMALL_FRAME = 32  # rows; above this the column-wise pandas conversion is cheaper
_SPECS = {spec.name: spec for spec in FEATURES}
_CATEGORY_CODES = {spec.name: {c: i for i, c in enumerate(spec.categories)}
                   for spec in FEATURES if spec.dtype == "category"}
_PLAIN_NUMBERS = (bool, int, float, np.bool_, np.integer, np.floating)
_direct: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


class _NotPlain(Exception):
    """A value the direct conversion does not handle: use the frame route."""


def _code(name: str, value: Any) -> float:
    codes = _CATEGORY_CODES[name]
    try:
        code = codes.get(value, -1)
    except TypeError as exc:  # unhashable: let pandas decide
        raise _NotPlain from exc
    return float("nan") if code < 0 else float(code)


def _number(value: Any) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, _PLAIN_NUMBERS):
        return float(value)
    raise _NotPlain


def _source_names(names: list[str]) -> list[str]:
    """The recorded columns behind model columns ``names``: ``MODEL_DOSE`` is read from
    the route and both dose columns (appended at the end)."""
    if MODEL_DOSE not in names:
        return names
    extra = [n for n in ("route", *DOSE_FEATURES) if n not in names]
    return [*names, *extra]


def _with_model_dose(rows: list[list[Any]] | np.ndarray,
                        names: list[str]) -> tuple[list[list[Any]], list[str]]:
    """Rows over ``_source_names(names)`` -> rows over ``names`` with the model dose
    (``models.contract.doses.model_doses``, as ``to_model_frame`` computes it)."""
    sources = _source_names(names)
    if sources is names:
        return rows, names  # type: ignore[return-value]
    pick = [sources.index(n) for n in ("route", *DOSE_FEATURES)]
    for row in rows:
        for i in pick[1:]:
            if row[i] is not None and not isinstance(row[i], _PLAIN_NUMBERS):
                raise _NotPlain
    dose = model_doses(*([row[i] for row in rows] for i in pick))
    j = names.index(MODEL_DOSE)
    return [[*row[:j], float(d), *row[j + 1:len(names)]] for row, d in zip(rows, dose,
                                                                            strict=True)], names


def plain_matrix(rows: list[list[Any]] | np.ndarray, names: list[str]) -> np.ndarray | None:
    """Rows of raw values (columns ``names``) as model codes; None if any is not plain.

    With ``MODEL_DOSE`` among ``names`` the rows hold ``_source_names(names)``: the
    model dose is computed here from the route and the recorded dose."""
    try:
        rows, names = _with_model_dose(rows, names)
    except _NotPlain:
        return None
    out = np.empty((len(rows), len(names)), dtype=np.float64)
    convert = [(_code if n in _CATEGORY_CODES else None) for n in names]
    try:
        for i, row in enumerate(rows):
            for j, (name, value) in enumerate(zip(names, row, strict=True)):
                out[i, j] = _number(value) if convert[j] is None else _code(name, value)
    except _NotPlain:
        return None
    return out


def _direct_ok(model: Any, names: list[str]) -> bool:
    """Whether a model reads the schema's codes as they are (same columns, categories)."""
    known = _direct.get(model)
    if known is None:
        explainer = model.fast_explainer()
        schema = [list(_SPECS[n].categories) for n in names if n in _CATEGORY_CODES]
        trained = [list(c) for c in (explainer.pandas_categorical or [])]
        known = list(model.feature_names_) == list(names) and trained == schema
        _direct[model] = known
    return known


def _direct_matrix(df: pd.DataFrame | Mapping[str, Any], names: list[str]) -> np.ndarray | None:
    sources = [n for n in _source_names(names)]
    if isinstance(df, pd.DataFrame):
        if len(df) > SMALL_FRAME or not df.columns.is_unique:
            return None
        positions = df.columns.get_indexer([n if n != MODEL_DOSE else "route"
                                            for n in sources])
        if (positions < 0).any():
            return None
        return plain_matrix(df.to_numpy(dtype=object)[:, positions].tolist(), names)
    if any(n not in df for n in sources if n != MODEL_DOSE):
        return None
    return plain_matrix([[df.get(n) for n in sources]], names)


def outcome_matrices(model_set: Any, df: pd.DataFrame | Mapping[str, Any]
                     ) -> dict[str, np.ndarray]:
    """The float64 matrix each outcome model reads, converted once for all of them.

    ``df``: raw patient rows (a frame), or one patient as a mapping of inputs.
    """
    names = list(model_set.feature_names)
    direct = _direct_matrix(df, names)
    frame: pd.DataFrame | None = None
    out: dict[str, np.ndarray] = {}
    for name, model in model_set.outcome_models.items():
        if direct is not None and _direct_ok(model, names):
            out[name] = direct
            continue
        if frame is None:
            raw = df if isinstance(df, pd.DataFrame) else (
                pd.Series(df).to_frame().T.infer_objects())
            frame = to_model_frame(raw)[names]
        out[name] = model.fast_explainer().to_matrix(frame[model.feature_names_])
    return out
