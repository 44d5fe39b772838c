"""Flatten a LightGBM model dump into numpy arrays for the compiled TreeSHAP kernels.

Parsing ``booster.dump_model()`` once per model moves all pointer chasing and string
handling out of the per-patient loop: the kernels only index flat arrays.

Layout (per tree ``t``; single-leaf trees only add to the expected value):

* internal nodes ``int_start[t] : int_start[t + 1]`` in *preorder*, so a parent is always
  visited before its children; children are numbered locally within the tree, internal
  nodes first (``0 .. n_internal - 1``) then leaves (``n_internal + leaf``).
* leaves ``leaf_start[t] : leaf_start[t + 1]``; each leaf lists the *unique* features on
  its root path (first-appearance order), with the product of cover ratios ``z`` of the
  path edges on that feature (TreeSHAP's "zero fraction").
* ``node_pos`` is the bit of a node's feature in that first-appearance order: the hot/cold
  state of every unique path feature of a leaf is one bit of an int64 mask, computed for
  all leaves of a tree in one preorder pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MISSING_TYPES = {"None": 0, "Zero": 1, "NaN": 2}
MAX_UNIQUE_DEPTH = 62  # hot/cold bits of one path must fit an int64 mask


class UnsupportedModel(ValueError):
    """The model uses a feature the fast kernels do not implement (use pred_contrib)."""


@dataclass
class FlatForest:
    """All trees of one single-output LightGBM model as flat arrays."""

    n_features: int
    expected_value: float
    int_start: np.ndarray
    leaf_start: np.ndarray
    node_is_cat: np.ndarray
    node_feat: np.ndarray
    node_thr: np.ndarray
    node_default_left: np.ndarray
    node_missing: np.ndarray
    node_left: np.ndarray
    node_right: np.ndarray
    node_pos: np.ndarray
    node_cat_start: np.ndarray
    node_cat_words: np.ndarray
    cat_words: np.ndarray
    leaf_value: np.ndarray
    leaf_d: np.ndarray
    leaf_off: np.ndarray
    leaf_feat: np.ndarray
    leaf_z: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)
    # Every tree of the dump in boosting order, for the margin (``margin_kernel``): the
    # index of a split tree in ``int_start``, or -1 for a single-leaf tree whose value is
    # ``tree_const``. Summing in this order reproduces LightGBM's own float additions.
    tree_walk: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    tree_const: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))

    @property
    def n_trees(self) -> int:
        """Trees with at least one split (the ones the kernels walk)."""
        return len(self.int_start) - 1

    def tree_arrays(self) -> tuple[np.ndarray, ...]:
        """Node and leaf arrays in the order ``fastshap_kernels.shap_kernel`` takes them."""
        return (self.int_start, self.leaf_start, self.node_is_cat, self.node_feat,
                self.node_thr, self.node_default_left, self.node_missing, self.node_left,
                self.node_right, self.node_pos, self.node_cat_start, self.node_cat_words,
                self.cat_words, self.leaf_value, self.leaf_d, self.leaf_off, self.leaf_feat,
                self.leaf_z)

    @property
    def max_tree_nodes(self) -> int:
        """Largest internal + leaf count of one tree (size of the per-sample mask buffer)."""
        if self.n_trees == 0:
            return 1
        sizes = np.diff(self.int_start) + np.diff(self.leaf_start)
        return int(sizes.max())


def _category_words(threshold: str) -> list[int]:
    """LightGBM's bitset for a categorical split: bit c set when category c goes left."""
    cats = [int(c) for c in str(threshold).split("||") if c != ""]
    if not cats or min(cats) < 0:
        raise UnsupportedModel(f"unexpected categorical threshold {threshold!r}")
    words = [0] * (max(cats) // 32 + 1)
    for c in cats:
        words[c // 32] |= 1 << (c % 32)
    return words


def _count(node: dict[str, Any]) -> float:
    return float(node["leaf_count"] if "leaf_index" in node else node["internal_count"])


class _Builder:
    """Accumulates the flat arrays tree by tree."""

    def __init__(self) -> None:
        self.nodes: dict[str, list] = {k: [] for k in (
            "is_cat", "feat", "thr", "default_left", "missing", "left", "right", "pos",
            "cat_start", "cat_words")}
        self.cat_words: list[int] = []
        self.leaves: dict[str, list] = {k: [] for k in ("value", "d", "off")}
        self.leaf_feat: list[int] = []
        self.leaf_z: list[float] = []
        self.int_start = [0]
        self.leaf_start = [0]
        self.expected = 0.0
        self.tree_walk: list[int] = []
        self.tree_const: list[float] = []

    def add_tree(self, root: dict[str, Any]) -> None:
        if "leaf_index" in root or "split_index" not in root:
            self.expected += float(root.get("leaf_value", 0.0))
            self.tree_walk.append(-1)
            self.tree_const.append(float(root.get("leaf_value", 0.0)))
            return
        self.tree_walk.append(len(self.int_start) - 1)
        self.tree_const.append(0.0)
        internal: list[dict] = []
        positions: list[int] = []
        leaves: list[tuple[dict, tuple[int, ...], tuple[float, ...]]] = []
        links: list[tuple[int, int, bool]] = []  # (parent, leaf index or -1 - internal, left)
        # Iterative preorder walk: (node, parent internal index, is_left, path feats, path z)
        stack: list[tuple[dict, int, bool, tuple[int, ...], tuple[float, ...]]] = [
            (root, -1, True, (), ())]
        while stack:
            node, parent, is_left, feats, zs = stack.pop()
            if "leaf_index" in node:
                if "leaf_coeff" in node:
                    raise UnsupportedModel("linear trees (linear_tree=True)")
                links.append((parent, len(leaves), is_left))
                leaves.append((node, feats, zs))
                continue
            index = len(internal)
            if parent >= 0:
                links.append((parent, -1 - index, is_left))
            internal.append(node)
            f = int(node["split_feature"])
            pos = feats.index(f) if f in feats else len(feats)
            positions.append(pos)
            base = feats if pos < len(feats) else feats + (f,)
            total = _count(node)
            for child, left in ((node["right_child"], False), (node["left_child"], True)):
                ratio = _count(child) / total if total > 0 else 0.0
                z = list(zs) + ([1.0] if pos == len(zs) else [])
                z[pos] *= ratio
                stack.append((child, index, left, base, tuple(z)))
        self._emit(internal, positions, leaves, links)

    def _emit(self, internal: list[dict], positions: list[int], leaves: list,
              links: list) -> None:
        n_int = len(internal)
        left = [0] * n_int
        right = [0] * n_int
        for parent, child, is_left in links:
            local = n_int + child if child >= 0 else -1 - child
            (left if is_left else right)[parent] = local
        nodes = self.nodes
        for i, node in enumerate(internal):
            is_cat = node["decision_type"] == "=="
            if not is_cat and node["decision_type"] != "<=":
                raise UnsupportedModel(f"decision type {node['decision_type']!r}")
            nodes["is_cat"].append(is_cat)
            nodes["feat"].append(int(node["split_feature"]))
            nodes["default_left"].append(bool(node.get("default_left", False)))
            nodes["missing"].append(MISSING_TYPES[str(node.get("missing_type", "None"))])
            nodes["left"].append(left[i])
            nodes["right"].append(right[i])
            nodes["pos"].append(positions[i])
            if is_cat:
                words = _category_words(node["threshold"])
                nodes["thr"].append(0.0)
                nodes["cat_start"].append(len(self.cat_words))
                nodes["cat_words"].append(len(words))
                self.cat_words.extend(words)
            else:
                nodes["thr"].append(float(node["threshold"]))
                nodes["cat_start"].append(0)
                nodes["cat_words"].append(0)
        root_count = _count(internal[0])
        for node, feats, zs in leaves:
            if len(feats) > MAX_UNIQUE_DEPTH:
                raise UnsupportedModel(f"a leaf path has {len(feats)} unique features")
            value = float(node["leaf_value"])
            self.leaves["value"].append(value)
            self.leaves["d"].append(len(feats))
            self.leaves["off"].append(len(self.leaf_feat))
            self.leaf_feat.extend(feats)
            self.leaf_z.extend(zs)
            # LightGBM's ExpectedValue(): leaf_count / root count, per leaf.
            self.expected += _count(node) / root_count * value if root_count > 0 else 0.0
        self.int_start.append(self.int_start[-1] + n_int)
        self.leaf_start.append(self.leaf_start[-1] + len(leaves))


def parse_dump(dump: dict[str, Any]) -> FlatForest:
    """Flatten ``booster.dump_model()``; raises UnsupportedModel for what we do not handle."""
    if int(dump.get("num_tree_per_iteration", 1)) != 1:
        raise UnsupportedModel("multi-output models (num_tree_per_iteration > 1)")
    if dump.get("average_output"):
        raise UnsupportedModel("random-forest mode (average_output)")
    builder = _Builder()
    for tree in dump["tree_info"]:
        builder.add_tree(tree["tree_structure"])
    nodes, leaves = builder.nodes, builder.leaves
    d = np.asarray(leaves["d"], dtype=np.int64)
    forest = FlatForest(
        n_features=int(dump["max_feature_idx"]) + 1,
        expected_value=builder.expected,
        int_start=np.asarray(builder.int_start, dtype=np.int64),
        leaf_start=np.asarray(builder.leaf_start, dtype=np.int64),
        node_is_cat=np.asarray(nodes["is_cat"], dtype=np.bool_),
        node_feat=np.asarray(nodes["feat"], dtype=np.int64),
        node_thr=np.asarray(nodes["thr"], dtype=np.float64),
        node_default_left=np.asarray(nodes["default_left"], dtype=np.bool_),
        node_missing=np.asarray(nodes["missing"], dtype=np.int64),
        node_left=np.asarray(nodes["left"], dtype=np.int64),
        node_right=np.asarray(nodes["right"], dtype=np.int64),
        node_pos=np.asarray(nodes["pos"], dtype=np.int64),
        node_cat_start=np.asarray(nodes["cat_start"], dtype=np.int64),
        node_cat_words=np.asarray(nodes["cat_words"], dtype=np.int64),
        cat_words=np.asarray(builder.cat_words or [0], dtype=np.uint32),
        leaf_value=np.asarray(leaves["value"], dtype=np.float64),
        leaf_d=d,
        leaf_off=np.asarray(leaves["off"], dtype=np.int64),
        leaf_feat=np.asarray(builder.leaf_feat or [0], dtype=np.int64),
        leaf_z=np.asarray(builder.leaf_z or [1.0], dtype=np.float64),
        tree_walk=np.asarray(builder.tree_walk, dtype=np.int64),
        tree_const=np.asarray(builder.tree_const, dtype=np.float64),
    )
    forest.stats = {
        "trees": len(dump["tree_info"]), "leaves": int(len(d)),
        "max_unique_depth": int(d.max()) if len(d) else 0,
        "mean_unique_depth": float(d.mean()) if len(d) else 0.0,
    }
    return forest


def shapley_weights(max_d: int = MAX_UNIQUE_DEPTH) -> np.ndarray:
    """W[d, s] = s! (d - 1 - s)! / d!, the Shapley weight of a size-s coalition of d players."""
    w = np.zeros((max_d + 1, max_d + 1))
    for d in range(1, max_d + 1):
        for s in range(d):
            w[d, s] = 1.0 / (d * math.comb(d - 1, s))
    return w


def gauss_legendre(max_points: int = MAX_UNIQUE_DEPTH // 2 + 1) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes/weights on [0, 1]; row q holds the q-point rule (exact to 2q-1)."""
    nodes = np.zeros((max_points + 1, max_points))
    weights = np.zeros((max_points + 1, max_points))
    for q in range(1, max_points + 1):
        x, w = np.polynomial.legendre.leggauss(q)
        nodes[q, :q] = (x + 1.0) / 2.0
        weights[q, :q] = w / 2.0
    return nodes, weights
