"""Compiled raw-margin kernel for many boosters at once (bit-vector tree evaluation).

Walking a tree row by row costs a mispredicted branch at almost every node (which child
depends on the patient) and one more when the walk ends. Here every split of a tree is
evaluated for a block of rows at once, node-outer and row-inner, without branches in the
row loop (QuickScorer's idea, Lucchese et al. 2015): each row keeps a 64-bit set of the
tree's leaves still reachable (leaves numbered left to right); a split the row does *not*
take to the left clears the leaves of its left subtree. The exit leaf is then the lowest
set bit: it survives every split on its own path, and every leaf left of it is cleared by
the split where their paths part. Each decision is LightGBM's own ``Tree::Decision``
(``fastshap_kernels._goes_left``) and each row adds its trees' leaf values from 0.0 in
boosting order, so the sums are ``booster.predict(raw_score=True)``'s bits.

All boosters of a stack share the rows: one transposed block of rows serves every tree of
every booster (the 6 outcome models and 60 interval members read the same matrix).
"""

from __future__ import annotations

import numpy as np

from models.kernels.fastshap_kernels import NUMBA_AVAILABLE, _renamed

# Split kinds: plain numeric, category below 32, then LightGBM's general rule (numeric with
# zero-as-missing, category of 32 or more) handled row by row.
KIND_NUMERIC, KIND_CATEGORY, KIND_GENERAL, KIND_GENERAL_CATEGORY = 0, 1, 2, 3
# Rows per block. Each split's row loop is vectorised (8 rows per AVX-512 compare), so the
# per-split overhead needs long loops: measured on 66 boosters x 20,000 rows, 64 rows 2.2 s,
# 256 0.61 s, 1024 0.25 s, 2048 0.20-0.23 s, 4096 0.22-0.31 s. A 2048-row block of 35
# features is 573 KB, inside this machine's L2.
BLOCK_ROWS = 2048

if NUMBA_AVAILABLE:
    from numba import njit, prange
    from numba.cpython.unsafe.numbers import trailing_zeros

    from models.kernels.fastshap_kernels import _goes_left

    @njit(cache=True, inline="always")
    def _split(xt, m, f, g, bits, kind, thr, nan_left, keep, word, default_left, missing,
               cat_words, cat_start, cat_n):
        """Clear the left subtree's leaves (``keep``) of rows that do not go left at g."""
        if kind[g] == 0:  # numeric: x <= thr, NaN by the node's missing rule
            t = thr[g]
            nl = nan_left[g]
            k = keep[g]
            for i in range(m):
                x = xt[f, i]
                left = (x <= t) | ((x != x) & nl)
                bits[i] &= k | -np.int64(left)
        elif kind[g] == 1:  # category codes below 32: one bitset word
            w = word[g]
            k = keep[g]
            for i in range(m):
                x = xt[f, i]
                ok = (x > -1.0) & (x < 32.0)  # NaN fails both; C++ truncates like int()
                code = np.int64(x if ok else 0.0)
                left = ok & (((w >> code) & 1) == 1)
                bits[i] &= k | -np.int64(left)
        else:
            k = keep[g]
            for i in range(m):
                left = _goes_left(xt[f, i], kind[g] == 3, thr[g], default_left[g],
                                  missing[g], cat_words, cat_start[g], cat_n[g])
                bits[i] &= k | -np.int64(left)

    def _stacked_margin_kernel(X, out, block, walk_start, walk_tree, walk_const, node_start,
                               leaf_start, kind, feat, thr, nan_left, keep, word,
                               default_left, missing, cat_words, cat_start, cat_n,
                               leaf_value):
        """``out[b, i]``: raw margin of booster b for row i (see the module docstring).

        Booster b's trees are ``walk_tree[walk_start[b]:walk_start[b + 1]]`` in boosting
        order (-1: a single-leaf tree worth ``walk_const``); tree t's splits are
        ``node_start[t]:node_start[t + 1]``, its leaves from ``leaf_start[t]``; rows go in
        blocks of ``block`` (one parallel task each).
        """
        n, n_features = X.shape
        n_blocks = (n + block - 1) // block
        for c in prange(n_blocks):
            lo = c * block
            m = min(n, lo + block) - lo
            xt = np.empty((n_features, m))
            for i in range(m):
                for f in range(n_features):
                    xt[f, i] = X[lo + i, f]
            acc = np.empty(m)
            bits = np.empty(m, dtype=np.int64)
            for b in range(walk_start.shape[0] - 1):
                for i in range(m):
                    acc[i] = 0.0
                for k in range(walk_start[b], walk_start[b + 1]):
                    t = walk_tree[k]
                    if t < 0:
                        for i in range(m):
                            acc[i] += walk_const[k]
                        continue
                    for i in range(m):
                        bits[i] = -1
                    for g in range(node_start[t], node_start[t + 1]):
                        _split(xt, m, feat[g], g, bits, kind, thr, nan_left, keep, word,
                               default_left, missing, cat_words, cat_start, cat_n)
                    l0 = leaf_start[t]
                    for i in range(m):
                        acc[i] += leaf_value[l0 + trailing_zeros(bits[i])]
                for i in range(m):
                    out[b, lo + i] = acc[i]

    stacked_margin_kernel = njit(cache=True, parallel=True, nogil=True)(
        _renamed(_stacked_margin_kernel, "stacked_margin_kernel"))
    stacked_margin_kernel_serial = njit(cache=True, nogil=True)(
        _renamed(_stacked_margin_kernel, "stacked_margin_kernel_serial"))
