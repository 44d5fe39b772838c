"""Fast exact TreeSHAP for LightGBM boosters (cohort explanations).

LightGBM's own TreeSHAP (``predict(pred_contrib=True)``, also what ``shap.TreeExplainer``
calls) re-derives the Shapley path weights for every patient, O(leaves x depth^2) per
tree. The weights depend only on the model, so ``FastTreeShap`` parses the booster once,
tabulates them per leaf and then needs O(leaves x depth) look-ups per patient, compiled
with numba and parallel over patients. Values are the same path-dependent SHAP values
(equal to ``pred_contrib`` to ~1e-12), in the same layout: one column per model feature,
then the expected value.

Routes: ``"table"`` (tabulated weights; leaves with very many unique path features use
the quadrature formula), ``"poly"`` (quadrature for every leaf, no tables: a fraction of
the memory) and ``"reference"`` (``pred_contrib``; also the fallback without numba).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.kernels import fastshap_kernels as kernels
from models.kernels.fastshap_parse import (
    FlatForest,
    UnsupportedModel,
    gauss_legendre,
    parse_dump,
    shapley_weights,
)
from models.kernels.stacked_margin import StackedMargin

log = logging.getLogger(__name__)

ROUTES = ("table", "poly", "reference")
DEFAULT_TABLE_MAX_DEPTH = 14  # 2^14 doubles = 128 KiB for one leaf at most
DEFAULT_TABLE_BUDGET_MB = 256.0
PARALLEL_MIN_ROWS = 64  # below this, threads cost more than they save (benchmarks/)
STACKED_MIN_ROWS = 64  # from this many rows the margin takes the stacked kernel
DEFAULT_CHUNK = 1024  # rows per parallel task; measured best of 64..4096 (benchmarks/)


def reference_shap_values(booster: lgb.Booster, X: Any) -> np.ndarray:
    """LightGBM's own exact TreeSHAP: the reference every fast route is tested against."""
    return np.asarray(booster.predict(X, pred_contrib=True), dtype=np.float64)


def _column_array(X: pd.DataFrame, j: int) -> Any:
    """Column j's values without building a Series (a large share of one-row latency)."""
    getter = getattr(X, "_get_column_array", None)  # pandas >= 1.3; public fallback below
    return getter(j) if getter is not None else X.iloc[:, j].array


def model_matrix(X: Any, n_features: int,
                 pandas_categorical: list[list[Any]] | None = None) -> np.ndarray:
    """The float64 matrix LightGBM itself would predict on.

    Category columns become their codes in the training categories (unknown or missing
    categories become NaN), exactly as ``lightgbm.basic._data_from_pandas`` does.
    """
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != n_features:
            raise ValueError(f"expected {n_features} feature columns, got {X.shape[1]}")
        out = np.empty((len(X), n_features), dtype=np.float64)
        cat_index = 0
        for j, dtype in enumerate(X.dtypes.tolist()):
            values = _column_array(X, j)
            if isinstance(dtype, pd.CategoricalDtype):
                if pandas_categorical is not None:
                    if cat_index >= len(pandas_categorical):
                        raise ValueError("more category columns than the model was trained on")
                    categories = list(pandas_categorical[cat_index])
                    if list(dtype.categories) != categories:
                        values = pd.Categorical(values).set_categories(categories)
                cat_index += 1
                codes = np.asarray(values.codes)
                out[:, j] = codes
                out[codes < 0, j] = np.nan
            elif isinstance(values, np.ndarray):
                out[:, j] = values
            else:  # pandas extension arrays (nullable Int64/Float64/boolean): NA -> NaN
                out[:, j] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        if pandas_categorical is not None and cat_index != len(pandas_categorical):
            raise ValueError("category columns do not match the model's training frame")
        return out
    array = np.asarray(X, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != n_features:
        raise ValueError(f"expected a 2-D array with {n_features} columns, got {array.shape}")
    return np.ascontiguousarray(array)


def numba_threads() -> int:
    """Threads numba's parallel loops will use (1 when numba is missing)."""
    if not kernels.NUMBA_AVAILABLE:
        return 1
    import numba

    return int(numba.get_num_threads())


class CompiledMargin:
    """A booster's raw margin by the compiled tree walk, without the SHAP tables.

    For boosters that are only ever predicted (e.g. the interval's bootstrap members):
    the same bits as ``booster.predict(raw_score=True)``, no per-call LightGBM start-up.
    """

    def __init__(self, booster: lgb.Booster, parallel: bool = True) -> None:
        self.booster = booster
        self.n_features = int(booster.num_feature())
        self.pandas_categorical = getattr(booster, "pandas_categorical", None)
        self.parallel = parallel
        self.forest: FlatForest | None = None
        if kernels.NUMBA_AVAILABLE:
            try:
                self.forest = parse_dump(booster.dump_model())
            except UnsupportedModel as exc:
                log.warning("compiled margin falls back to LightGBM's predict: %s", exc)

    def to_matrix(self, X: Any) -> np.ndarray:
        """Model frame (or array) -> the float64 matrix the kernel reads."""
        return model_matrix(X, self.n_features, self.pandas_categorical)

    def margin_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Raw margin of a converted matrix (``booster.predict(raw_score=True)``'s bits)."""
        return _margin(self, matrix)


def _margin(holder: Any, matrix: np.ndarray) -> np.ndarray:
    """The margin by the cheapest exact route for this many rows.

    Batches go through the branch-free ``StackedMargin`` (built once per holder, ~10x the
    row walk at 20,000 rows); a few rows keep the row walk, which visits only the splits
    on each row's path (the one-patient hot path).
    """
    forest, booster, parallel = holder.forest, holder.booster, holder.parallel
    if forest is None:
        return np.asarray(booster.predict(matrix, raw_score=True), dtype=np.float64)
    matrix = np.ascontiguousarray(matrix, dtype=np.float64)
    if matrix.shape[0] >= STACKED_MIN_ROWS:
        stack = holder.__dict__.get("_stack", False)
        if stack is False or (stack is not None and stack.parallel != parallel):
            stack = StackedMargin.build([forest], parallel=parallel)
            holder.__dict__["_stack"] = stack
        if stack is not None:
            return stack.margins(matrix)[0]
    out = np.zeros(matrix.shape[0], dtype=np.float64)
    kernel = (kernels.margin_kernel if parallel and matrix.shape[0] >= PARALLEL_MIN_ROWS
              else kernels.margin_kernel_serial)
    kernel(matrix, out, forest.tree_walk, forest.tree_const, forest.int_start,
           forest.leaf_start, forest.node_is_cat, forest.node_feat, forest.node_thr,
           forest.node_default_left, forest.node_missing, forest.node_left,
           forest.node_right, forest.cat_words, forest.node_cat_start,
           forest.node_cat_words, forest.leaf_value)
    return out


class FastTreeShap:
    """Exact path-dependent TreeSHAP for one LightGBM booster, compiled and tabulated.

    Build once per model (parsing + tables take about a second for a few hundred trees),
    then call ``shap_values`` on any batch. Picklable, so it can be shipped to workers.
    """

    def __init__(self, booster: lgb.Booster, route: str = "table",
                 table_max_depth: int = DEFAULT_TABLE_MAX_DEPTH,
                 table_budget_mb: float = DEFAULT_TABLE_BUDGET_MB,
                 chunk_size: int = DEFAULT_CHUNK, parallel: bool = True) -> None:
        if route not in ROUTES:
            raise ValueError(f"route must be one of {ROUTES}, got {route!r}")
        started = time.perf_counter()
        self.booster = booster
        self.n_features = int(booster.num_feature())
        self.pandas_categorical = getattr(booster, "pandas_categorical", None)
        self.chunk_size = max(1, int(chunk_size))
        # parallel=False when the caller already runs one explainer per core (e.g. Dask).
        self.parallel = parallel
        self.requested_route = route
        self.forest: FlatForest | None = None
        if route != "reference" and not kernels.NUMBA_AVAILABLE:
            log.warning("numba is not installed; FastTreeShap falls back to pred_contrib")
            route = "reference"
        if route != "reference":
            try:
                self.forest = parse_dump(booster.dump_model())
            except UnsupportedModel as exc:
                log.warning("FastTreeShap falls back to pred_contrib: %s", exc)
                route = "reference"
        self.route = route
        if self.forest is not None:
            max_depth = table_max_depth if route == "table" else -1
            self._prepare(max_depth, table_budget_mb)
        self.build_seconds = time.perf_counter() - started
        log.info("FastTreeShap route=%s built in %.3f s (%s)", self.route, self.build_seconds,
                 self.forest.stats if self.forest is not None else "reference")

    def _prepare(self, table_max_depth: int, table_budget_mb: float) -> None:
        """Choose which leaves get weight tables (small d first, within the budget)."""
        forest = self.forest
        assert forest is not None
        d = forest.leaf_d
        budget = int(table_budget_mb * 2**20 / 8)
        tbl = np.full(len(d), -1, dtype=np.int64)
        used = 0
        for leaf in np.argsort(d, kind="stable"):
            size = 1 << int(d[leaf])
            if d[leaf] > table_max_depth or used + size > budget:
                break
            tbl[leaf] = used
            used += size
        self._leaf_tbl = tbl
        self._tables = np.zeros(max(used, 1), dtype=np.float64)
        with np.errstate(divide="ignore"):
            inv_z = 1.0 / forest.leaf_z
        # A zero cover ratio cannot use the table's division form: use quadrature there.
        zero_z = np.zeros(len(d), dtype=bool)
        for leaf in np.flatnonzero(tbl >= 0):
            off = forest.leaf_off[leaf]
            zero_z[leaf] = bool(np.any(forest.leaf_z[off:off + d[leaf]] <= 0.0))
        tbl[zero_z] = -1
        self._leaf_inv_z = np.where(np.isfinite(inv_z), inv_z, 0.0)
        self._gl_t, self._gl_w = gauss_legendre()
        if used:
            kernels.build_tables(forest.leaf_value, d, forest.leaf_off, forest.leaf_z, tbl,
                                 shapley_weights(), self._tables)
        forest.stats.update({"tabulated_leaves": int((tbl >= 0).sum()),
                             "table_mb": round(used * 8 / 2**20, 2)})

    @property
    def expected_value(self) -> float:
        """The last column of every row: mean raw margin over the training cover."""
        if self.forest is not None:
            return self.forest.expected_value
        return float(reference_shap_values(self.booster, np.zeros((1, self.n_features)))[0, -1])

    @property
    def table_bytes(self) -> int:
        """Memory held by the precomputed weight tables."""
        return int(getattr(self, "_tables", np.zeros(0)).nbytes)

    def to_matrix(self, X: Any) -> np.ndarray:
        """Model frame (or array) -> the float64 matrix the kernels read."""
        return model_matrix(X, self.n_features, self.pandas_categorical)

    def shap_values(self, X: Any) -> np.ndarray:
        """Exact SHAP values, shape (n, n_features + 1), last column = expected value."""
        if self.route == "reference" or self.forest is None:
            return reference_shap_values(self.booster, X)
        matrix = self.to_matrix(X)
        return self.shap_values_matrix(matrix)

    def margin_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Raw margin (``booster.predict(raw_score=True)``, identical bits) of a converted
        float64 matrix, without LightGBM's per-call conversion and thread start-up."""
        return _margin(self, matrix)

    def shap_values_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """As ``shap_values`` for an already converted float64 matrix (see ``to_matrix``)."""
        forest = self.forest
        if forest is None:
            return reference_shap_values(self.booster, matrix)
        n = matrix.shape[0]
        out = np.zeros((n, self.n_features + 1), dtype=np.float64)
        if n and forest.n_trees:
            # Enough chunks to keep every thread busy, but long enough inner loops.
            parallel = self.parallel and n >= PARALLEL_MIN_ROWS
            # numba_threads() starts the pool: not for the serial path (one patient).
            threads = max(1, numba_threads()) if parallel else 1
            chunk = int(min(self.chunk_size, max(16, -(-n // threads))))
            kernel = kernels.shap_kernel if parallel else kernels.shap_kernel_serial
            kernel(
                np.ascontiguousarray(matrix, dtype=np.float64), out, chunk,
                forest.max_tree_nodes, *forest.tree_arrays(), self._leaf_inv_z,
                self._leaf_tbl, self._tables, self._gl_t, self._gl_w)
        out[:, -1] = forest.expected_value
        return out
