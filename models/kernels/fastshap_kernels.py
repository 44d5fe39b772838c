"""Compiled kernels for exact path-dependent TreeSHAP on a flattened LightGBM forest.

For one leaf with value v, unique path features U (d of them) and cover products z_k, a
sample makes each k in U *hot* (it satisfies every split on k along the path) or *cold*.
With H the hot set and W(s, d) = s!(d-1-s)!/d!, the Shapley values of the leaf's game are

    cold k:  phi_k = -E(H)
    hot k:   phi_k = (1 - z_k) / z_k * E(H minus k),
    E(T)   = v * sum over S subset of T of W(|S|, d) * prod over j in U minus S of z_j.

``E`` depends only on the model, so it is tabulated once per leaf over all 2^d subsets
(FastTreeSHAP v2's idea) by a subset-sum transform of non-negative terms (no cancellation).
Per sample the work is then O(leaves x d) table look-ups. Leaves with too many unique
features use the same formula evaluated by Gauss-Legendre quadrature of the equivalent
polynomial integrals (Linear TreeSHAP's idea), exact because the integrands have degree
d - 1 and a q-point rule is exact to degree 2q - 1.
"""

from __future__ import annotations

import numpy as np

try:  # numba is optional: without it FastTreeShap falls back to LightGBM's pred_contrib
    from numba import njit, prange

    NUMBA_AVAILABLE = True
except ImportError:  # pragma: no cover - exercised by monkeypatching in tests
    NUMBA_AVAILABLE = False

# LightGBM's kZeroThreshold (1e-35f) as a double.
ZERO_THRESHOLD = float(np.float32(1e-35))
INT_LIMIT = 2147483648.0



def _renamed(func, name: str):
    """A copy of ``func`` under another name, so each compilation gets its own cache file.

    numba's on-disk cache is keyed by the Python function (qualified name and line), not by
    ``parallel=``: compiling one function twice, serial and parallel, with ``cache=True``
    let whichever compiled first answer for both (measured: the one-row "serial" kernel
    started the thread pool, 300-600 us a call under load instead of ~35 us).
    """
    import types

    clone = types.FunctionType(func.__code__, func.__globals__, name, func.__defaults__,
                               func.__closure__)
    clone.__qualname__ = name
    clone.__doc__ = func.__doc__
    return clone


if NUMBA_AVAILABLE:

    @njit(cache=True, inline="always")
    def _goes_left(x, is_cat, thr, default_left, missing, cat_words, cat_start, cat_n):
        """LightGBM's Tree::Decision for one node (numeric `<=` or categorical bitset)."""
        if is_cat:
            # NaN and negatives go right (the C++ int cast of NaN is negative on x86).
            if x != x or x >= INT_LIMIT or x <= -INT_LIMIT - 1.0:
                return False
            code = int(x)
            if code < 0:
                return False
            word = code >> 5
            if word >= cat_n:
                return False
            return ((cat_words[cat_start + word] >> np.uint32(code & 31)) & np.uint32(1)) == 1
        if x != x and missing != 2:
            x = 0.0
        if (missing == 1 and -ZERO_THRESHOLD <= x <= ZERO_THRESHOLD) or (
                missing == 2 and x != x):
            return default_left
        return x <= thr

    @njit(cache=True, inline="always")
    def _chunk_masks(xt, m, t, masks, int_start, node_is_cat, node_feat, node_thr,
                     node_default_left, node_missing, node_left, node_right, node_pos,
                     node_cat_start, node_cat_words, cat_words):
        """Hot/cold bit masks of every node of tree t for m samples (node-outer preorder).

        ``masks[node, i]`` has bit p cleared when sample i fails a split on the p-th unique
        feature of the node's path. Branch-free updates keep the inner loop vectorisable.
        """
        start = int_start[t]
        for i in range(m):
            masks[0, i] = -1
        for g in range(start, int_start[t + 1]):
            f = node_feat[g]
            thr = node_thr[g]
            b = np.int64(1) << node_pos[g]
            left = node_left[g]
            right = node_right[g]
            src = g - start
            missing = node_missing[g]
            if node_is_cat[g]:
                c0 = node_cat_start[g]
                cn = node_cat_words[g]
                dl = node_default_left[g]
                for i in range(m):
                    gl = np.int64(_goes_left(xt[f, i], True, thr, dl, missing, cat_words, c0, cn))
                    mm = masks[src, i]
                    masks[left, i] = mm & ~(b * (1 - gl))
                    masks[right, i] = mm & ~(b * gl)
            elif missing == 0:  # the common case: NaN is treated as 0.0, then `<=`
                for i in range(m):
                    x = xt[f, i]
                    gl = np.int64((x <= thr) or (x != x and 0.0 <= thr))
                    mm = masks[src, i]
                    masks[left, i] = mm & ~(b * (1 - gl))
                    masks[right, i] = mm & ~(b * gl)
            else:
                dl = node_default_left[g]
                for i in range(m):
                    gl = np.int64(_goes_left(xt[f, i], False, thr, dl, missing, cat_words, 0, 0))
                    mm = masks[src, i]
                    masks[left, i] = mm & ~(b * (1 - gl))
                    masks[right, i] = mm & ~(b * gl)

    @njit(cache=True, inline="always")
    def _leaf_quadrature(ot, i, hot, d, off, v, leaf_feat, leaf_z, gl_t, gl_w, acc):
        """Add one leaf's Shapley values for sample i by exact Gauss-Legendre quadrature."""
        q = (d + 1) // 2
        for k in range(q):
            t = gl_t[q, k]
            p = v * gl_w[q, k]
            for j in range(d):
                z = leaf_z[off + j]
                if (hot >> j) & 1:
                    p *= z * (1.0 - t) + t
                else:
                    p *= z * (1.0 - t)
            acc[k] = p
        cold = 0.0
        for k in range(q):
            cold += acc[k] / (1.0 - gl_t[q, k])
        for j in range(d):
            f = leaf_feat[off + j]
            if (hot >> j) & 1:
                z = leaf_z[off + j]
                s = 0.0
                for k in range(q):
                    t = gl_t[q, k]
                    s += acc[k] / (z * (1.0 - t) + t)
                ot[f, i] += (1.0 - z) * s
            else:
                ot[f, i] -= cold

    def _shap_kernel(X, out, chunk, max_nodes, int_start, leaf_start, node_is_cat, node_feat,
                    node_thr, node_default_left, node_missing, node_left, node_right,
                    node_pos, node_cat_start, node_cat_words, cat_words, leaf_value, leaf_d,
                    leaf_off, leaf_feat, leaf_z, leaf_inv_z, leaf_tbl, tables, gl_t, gl_w):
        """Add every tree's SHAP values for the rows of X to ``out`` (n, >= n_features).

        Rows are split into chunks processed in parallel. A chunk is transposed
        (feature-major) and the loops run tree -> node/leaf -> sample, so each tree's
        nodes and tables stay in cache and the innermost loop walks contiguous memory.
        """
        n, nf = X.shape
        n_out = out.shape[1]
        n_trees = int_start.shape[0] - 1
        n_chunks = (n + chunk - 1) // chunk
        for c in prange(n_chunks):
            lo = c * chunk
            m = min(n, lo + chunk) - lo
            xt = np.empty((nf, m))
            for i in range(m):
                for f in range(nf):
                    xt[f, i] = X[lo + i, f]
            ot = np.zeros((n_out, m))
            masks = np.empty((max_nodes, m), dtype=np.int64)
            acc = np.empty(gl_t.shape[1])
            for t in range(n_trees):
                _chunk_masks(xt, m, t, masks, int_start, node_is_cat, node_feat, node_thr,
                             node_default_left, node_missing, node_left, node_right,
                             node_pos, node_cat_start, node_cat_words, cat_words)
                n_int = int_start[t + 1] - int_start[t]
                l0 = leaf_start[t]
                for leaf in range(l0, leaf_start[t + 1]):
                    d = leaf_d[leaf]
                    off = leaf_off[leaf]
                    tb = leaf_tbl[leaf]
                    node = n_int + leaf - l0
                    full = (np.int64(1) << d) - 1
                    if tb < 0:
                        for i in range(m):
                            _leaf_quadrature(ot, i, masks[node, i] & full, d, off,
                                             leaf_value[leaf], leaf_feat, leaf_z, gl_t, gl_w,
                                             acc)
                        continue
                    # Hot j reads E(H - j) times 1/z - 1; cold j reads E(H) (H - j == H)
                    # times -1: one branch-free multiply-add per (leaf, feature, sample).
                    for j in range(d):
                        f = leaf_feat[off + j]
                        inv_z = leaf_inv_z[off + j]
                        keep = full & ~(np.int64(1) << j)
                        for i in range(m):
                            hot = masks[node, i]
                            bit = (hot >> j) & 1
                            ot[f, i] += (bit * inv_z - 1.0) * tables[tb + (hot & keep)]
            for i in range(m):
                for f in range(n_out):
                    out[lo + i, f] += ot[f, i]

    # One source, two compilations: small batches skip the thread-pool hand-off, which
    # costs more than the work itself (and much more on a loaded machine).
    # nogil: Dask's threaded workers each run a serial kernel at the same time.
    shap_kernel = njit(cache=True, parallel=True, nogil=True)(
        _renamed(_shap_kernel, "shap_kernel"))
    shap_kernel_serial = njit(cache=True, nogil=True)(
        _renamed(_shap_kernel, "shap_kernel_serial"))

    @njit(cache=True)
    def build_tables(leaf_value, leaf_d, leaf_off, leaf_z, leaf_tbl, weights, tables):
        """Fill E(T) for every subset T of each tabulated leaf's path features."""
        for leaf in range(leaf_d.shape[0]):
            tb = leaf_tbl[leaf]
            if tb < 0:
                continue
            d = leaf_d[leaf]
            off = leaf_off[leaf]
            v = leaf_value[leaf]
            size = np.int64(1) << d
            for s in range(size):  # g(S) = v W(|S|, d) prod_{j not in S} z_j
                prod = v
                count = 0
                for j in range(d):
                    if (s >> j) & 1:
                        count += 1
                    else:
                        prod *= leaf_z[off + j]
                tables[tb + s] = prod * weights[d, count]
            for j in range(d):  # subset-sum (zeta) transform: E(T) = sum_{S <= T} g(S)
                bit = np.int64(1) << j
                for s in range(size):
                    if s & bit:
                        tables[tb + s] += tables[tb + (s ^ bit)]

    def _margin_kernel(X, out, tree_walk, tree_const, int_start, leaf_start, node_is_cat,
                       node_feat, node_thr, node_default_left, node_missing, node_left,
                       node_right, cat_words, node_cat_start, node_cat_words, leaf_value):
        """Raw margin of every row: LightGBM's ``predict(raw_score=True)``, bit for bit.

        Each row's total starts at 0.0 and adds the trees in boosting order, walking the
        same ``Decision`` as LightGBM (``_goes_left``), so the floating-point sums are the
        ones ``GBDT::PredictRaw`` makes. Rows go in chunks, tree-outer, so one tree's nodes
        stay in cache while a chunk of rows walks it.
        """
        n = X.shape[0]
        chunk = 256
        n_chunks = (n + chunk - 1) // chunk
        for c in prange(n_chunks):
            lo = c * chunk
            m = min(n, lo + chunk) - lo
            acc = np.zeros(m)
            for k in range(tree_walk.shape[0]):
                t = tree_walk[k]
                if t < 0:
                    for i in range(m):
                        acc[i] += tree_const[k]
                    continue
                start = int_start[t]
                n_int = int_start[t + 1] - start
                l0 = leaf_start[t]
                for i in range(m):
                    node = 0
                    while node < n_int:
                        g = start + node
                        x = X[lo + i, node_feat[g]]
                        if node_is_cat[g] or node_missing[g] != 0:
                            left = _goes_left(x, node_is_cat[g], node_thr[g],
                                              node_default_left[g], node_missing[g],
                                              cat_words, node_cat_start[g], node_cat_words[g])
                        else:  # the common case: NaN is treated as 0.0, then `<=`
                            left = (x <= node_thr[g]) or (x != x and 0.0 <= node_thr[g])
                        node = node_left[g] if left else node_right[g]
                    acc[i] += leaf_value[l0 + node - n_int]
            for i in range(m):
                out[lo + i] = acc[i]

    margin_kernel = njit(cache=True, parallel=True, nogil=True)(
        _renamed(_margin_kernel, "margin_kernel"))
    margin_kernel_serial = njit(cache=True, nogil=True)(
        _renamed(_margin_kernel, "margin_kernel_serial"))
