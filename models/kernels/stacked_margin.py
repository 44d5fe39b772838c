"""Raw margins of several LightGBM boosters in one compiled pass over the rows.

Scoring a partition walks 72 boosters per patient (6 outcome models, 6 x 10 interval
members and the outcome models again for the interval's centre); row-by-row walks were
79 % of a partition's time. ``StackedMargin`` flattens the boosters' parsed forests
(``fastshap_parse.FlatForest``) into one array set for ``stacked_kernels``, which
evaluates each tree's splits branch-free over blocks of rows. The numbers are
``booster.predict(raw_score=True)``'s, bit for bit (same decisions, same additions in the
same order); trees with more than 64 leaves are not supported (``build`` returns None and
callers keep the row walk).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.kernels import stacked_kernels as kernels
from models.kernels.fastshap_parse import FlatForest

MAX_LEAVES = 64  # one int64 bit per leaf
MIN_BLOCK_ROWS = 256  # below this a parallel task's loops are too short to pay (kernels)
_FIELDS = ("kind", "feat", "thr", "nan_left", "keep", "word", "default_left", "missing",
           "cat_start", "cat_n")


def _leaf_order(left: np.ndarray, right: np.ndarray, n_int: int) -> tuple[list[int], dict]:
    """Leaves left to right, and each internal node's left-subtree leaf range [lo, hi)."""
    order: list[int] = []
    spans: dict[int, tuple[int, int]] = {}

    def visit(node: int) -> tuple[int, int]:
        if node >= n_int:
            order.append(node - n_int)
            return len(order) - 1, len(order)
        lo, mid = visit(int(left[node]))
        _, hi = visit(int(right[node]))
        spans[node] = (lo, mid)
        return lo, hi

    visit(0)
    return order, spans


class _Arrays:
    """Growing node, leaf and walk lists for the stack."""

    def __init__(self) -> None:
        self.nodes: dict[str, list] = {k: [] for k in _FIELDS}
        self.cat_words: list[int] = []
        self.leaf_value: list[float] = []
        self.node_start, self.leaf_start = [0], [0]
        self.walk_start: list[int] = [0]
        self.walk_tree: list[int] = []
        self.walk_const: list[float] = []

    def add_tree(self, forest: FlatForest, t: int) -> bool:
        g0, g1 = int(forest.int_start[t]), int(forest.int_start[t + 1])
        l0, l1 = int(forest.leaf_start[t]), int(forest.leaf_start[t + 1])
        if l1 - l0 > MAX_LEAVES:
            return False
        order, spans = _leaf_order(forest.node_left[g0:g1], forest.node_right[g0:g1], g1 - g0)
        self.leaf_value.extend(float(forest.leaf_value[l0 + leaf]) for leaf in order)
        nodes = self.nodes
        for local in range(g1 - g0):
            g = g0 + local
            lo, hi = spans[local]
            left_leaves = ((1 << (hi - lo)) - 1) << lo
            nodes["keep"].append(~left_leaves & ((1 << 64) - 1))
            self._add_split(forest, g)
        self.node_start.append(self.node_start[-1] + g1 - g0)
        self.leaf_start.append(self.leaf_start[-1] + l1 - l0)
        return True

    def _add_split(self, forest: FlatForest, g: int) -> None:
        nodes = self.nodes
        thr, missing = float(forest.node_thr[g]), int(forest.node_missing[g])
        default_left = bool(forest.node_default_left[g])
        cat_n = int(forest.node_cat_words[g])
        c0 = int(forest.node_cat_start[g])
        if forest.node_is_cat[g]:
            kind = kernels.KIND_CATEGORY if cat_n == 1 else kernels.KIND_GENERAL_CATEGORY
        else:
            kind = kernels.KIND_GENERAL if missing == 1 else kernels.KIND_NUMERIC
        nodes["kind"].append(kind)
        nodes["feat"].append(int(forest.node_feat[g]))
        nodes["thr"].append(thr)
        # NaN goes left: missing None treats it as 0.0, missing NaN takes the default side.
        nodes["nan_left"].append(0.0 <= thr if missing == 0 else default_left)
        nodes["word"].append(int(forest.cat_words[c0]) if forest.node_is_cat[g] else 0)
        nodes["default_left"].append(default_left)
        nodes["missing"].append(missing)
        nodes["cat_start"].append(len(self.cat_words))
        nodes["cat_n"].append(cat_n)
        self.cat_words.extend(int(w) for w in forest.cat_words[c0:c0 + cat_n])

    def add_forest(self, forest: FlatForest) -> bool:
        first_tree = len(self.node_start) - 1
        for k, t in enumerate(forest.tree_walk.tolist()):
            self.walk_tree.append(-1 if t < 0 else first_tree + t)
            self.walk_const.append(float(forest.tree_const[k]))
        for t in range(forest.n_trees):
            if not self.add_tree(forest, t):
                return False
        self.walk_start.append(len(self.walk_tree))
        return True


class StackedMargin:
    """Boosters' raw margins from one matrix in one kernel call: ``margins(matrix)``."""

    def __init__(self, arrays: _Arrays, n_features: int, parallel: bool) -> None:
        nodes = arrays.nodes
        self.n_features = n_features
        self.parallel = parallel
        self.n_boosters = len(arrays.walk_start) - 1
        i64 = np.int64
        self._args = (
            np.asarray(arrays.walk_start, dtype=i64), np.asarray(arrays.walk_tree, dtype=i64),
            np.asarray(arrays.walk_const, dtype=np.float64),
            np.asarray(arrays.node_start, dtype=i64), np.asarray(arrays.leaf_start, dtype=i64),
            np.asarray(nodes["kind"], dtype=i64), np.asarray(nodes["feat"], dtype=i64),
            np.asarray(nodes["thr"], dtype=np.float64),
            np.asarray(nodes["nan_left"], dtype=np.bool_),
            np.asarray(nodes["keep"], dtype=np.uint64).view(i64),
            np.asarray(nodes["word"], dtype=i64),
            np.asarray(nodes["default_left"], dtype=np.bool_),
            np.asarray(nodes["missing"], dtype=i64),
            np.asarray(arrays.cat_words or [0], dtype=np.uint32),
            np.asarray(nodes["cat_start"], dtype=i64), np.asarray(nodes["cat_n"], dtype=i64),
            np.asarray(arrays.leaf_value or [0.0], dtype=np.float64))

    @classmethod
    def build(cls, forests: Sequence[FlatForest | None],
              parallel: bool = True) -> StackedMargin | None:
        """The stack of these forests, or None if any is missing or unsupported."""
        if not kernels.NUMBA_AVAILABLE or not forests or any(f is None for f in forests):
            return None
        widths = {f.n_features for f in forests}
        if len(widths) != 1:
            return None
        arrays = _Arrays()
        if not all(arrays.add_forest(forest) for forest in forests):
            return None
        return cls(arrays, widths.pop(), parallel)

    def margins(self, matrix: np.ndarray) -> np.ndarray:
        """Raw margins, shape (n_boosters, n_rows), of a converted float64 matrix."""
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} columns, got {matrix.shape}")
        out = np.zeros((self.n_boosters, matrix.shape[0]), dtype=np.float64)
        n = matrix.shape[0]
        if n:
            block = min(kernels.BLOCK_ROWS, n)
            kernel = kernels.stacked_margin_kernel_serial
            if self.parallel and n > MIN_BLOCK_ROWS:
                from numba import get_num_threads

                threads = max(1, int(get_num_threads()))
                block = min(block, max(MIN_BLOCK_ROWS, -(-n // threads)))
                kernel = kernels.stacked_margin_kernel
            kernel(matrix, out, block, *self._args)
        return out
