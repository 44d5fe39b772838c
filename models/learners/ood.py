"""Out-of-distribution flags: where a patient lies outside what the models were trained on.

Two views, because they fail differently: a per-feature range/category check names the
exact input the model extrapolates on; a nearest-neighbour distance catches patients whose
combination of inputs is unusual even when each value alone is in range.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from models.contract.features import to_input_frame
from models.contract.schema import FEATURES, Feature

log = logging.getLogger(__name__)


def _model_specs() -> list[Feature]:
    return [f for f in FEATURES if f.model_input]


def _bare(spec: Feature, value: float) -> str:
    """A value in the feature's format without its unit (for ranges like ``17–49 kg/m²``)."""
    text = spec.format_value(value)
    return text[: -len(spec.unit)].strip() if spec.unit and text.endswith(spec.unit) else text


# The distance threshold is the 99th centile of leave-one-out nearest-neighbour distances;
# above this many training patients it is estimated on a random sample of them (each still
# searched against every patient): the all-pairs search was 38 s of a 100k training, and
# 10,000 draws put the centile's sampling error well below the distances' spread.
MAX_THRESHOLD_QUERIES = 10_000


def _joined_names(hits: pd.DataFrame) -> np.ndarray:
    """``;``-joined names of each row's true columns ("" for none). Only flagged rows are
    joined, with numpy indexing: a pandas Index look-up per row was most of a 20,000-patient
    partition's OOD time."""
    matrix = hits.to_numpy(dtype=bool)
    names = np.full(len(matrix), "", dtype=object)
    columns = np.asarray(hits.columns, dtype=object)
    for i in np.flatnonzero(matrix.any(axis=1)):
        names[i] = ";".join(columns[matrix[i]])
    return names


class OODDetector:
    """Learns the training ranges, seen categories and a typical nearest-neighbour distance."""

    def __init__(self, quantile: float = 0.99) -> None:
        self.quantile = quantile

    def fit(self, X_frame: pd.DataFrame) -> OODDetector:
        """Learn ranges and the distance threshold from the training patients."""
        X = to_input_frame(X_frame)
        self.ranges_: dict[str, tuple[float, float]] = {}
        self.categories_: dict[str, list[str]] = {}
        for spec in _model_specs():
            column = X[spec.name]
            if spec.dtype in ("int", "float"):
                self.ranges_[spec.name] = (float(column.min()), float(column.max()))
            elif spec.dtype == "category":
                self.categories_[spec.name] = sorted(str(v) for v in column.dropna().unique())
        numeric = [s.name for s in _model_specs() if s.dtype in ("int", "float", "bool")]
        self.means_ = X[numeric].mean()
        self.scales_ = X[numeric].std().replace(0.0, 1.0).fillna(1.0)
        matrix = self._embed(X)
        self.nn_ = NearestNeighbors(n_neighbors=2).fit(matrix)
        queries = matrix
        if len(matrix) > MAX_THRESHOLD_QUERIES:  # the quantile of a random sample of them
            rows = np.random.default_rng(0).choice(len(matrix), MAX_THRESHOLD_QUERIES,
                                                   replace=False)
            queries = matrix[np.sort(rows)]
        distances, _ = self.nn_.kneighbors(queries, n_neighbors=2)
        self.train_distances_ = distances[:, 1]  # leave-one-out: skip the point itself
        self.threshold_ = float(np.quantile(self.train_distances_, self.quantile))
        log.info("OOD detector: %d patients, distance threshold %.3f", len(X), self.threshold_)
        return self

    def _embed(self, X: pd.DataFrame) -> np.ndarray:
        """Standardised numeric/bool inputs plus one-hot categories (missing -> mean)."""
        numeric = ((X[self.means_.index] - self.means_) / self.scales_).fillna(0.0)
        parts = [numeric.to_numpy(dtype=float)]
        for spec in _model_specs():
            if spec.dtype == "category":
                codes = X[spec.name].astype(object)
                onehot = np.column_stack([(codes == c).to_numpy(dtype=float)
                                          for c in spec.categories])
                parts.append(onehot / np.sqrt(2.0))  # a changed category moves distance 1
        return np.hstack(parts)

    def _row_issues(self, row: pd.Series) -> list[tuple[Feature, str, object]]:
        """(feature, 'above'/'below'/'unseen', value) for each out-of-range input."""
        issues: list[tuple[Feature, str, object]] = []
        for spec in _model_specs():
            value = row.get(spec.name)
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            if spec.name in self.ranges_:
                lo, hi = self.ranges_[spec.name]
                number = float(value)
                if number > hi:
                    issues.append((spec, "above", number))
                elif number < lo:
                    issues.append((spec, "below", number))
            elif spec.name in self.categories_ and str(value) not in self.categories_[spec.name]:
                issues.append((spec, "unseen", str(value)))
        return issues

    def distances(self, df: pd.DataFrame) -> np.ndarray:
        """Distance of each row to its nearest training patient."""
        X = to_input_frame(df)
        distances, _ = self.nn_.kneighbors(self._embed(X), n_neighbors=1)
        return distances[:, 0]

    def flags(self, df: pd.DataFrame) -> pd.DataFrame:
        """Per row: out-of-range features (``;``-joined), the NN distance and an overall flag.

        ``ood_overall`` is true when any input is outside the training range or the
        patient is farther from every training patient than ``quantile`` of them were.
        """
        X = to_input_frame(df)
        distance = self.distances(X)
        hits = pd.DataFrame(False, index=X.index, columns=[s.name for s in _model_specs()])
        for name, (lo, hi) in self.ranges_.items():
            hits[name] = (X[name] > hi) | (X[name] < lo)
        for name, seen in self.categories_.items():
            hits[name] = X[name].notna() & ~X[name].astype(object).isin(seen)
        out = pd.DataFrame({"ood_features": _joined_names(hits), "ood_distance": distance},
                           index=df.index)
        out["ood_overall"] = (out["ood_features"] != "") | (out["ood_distance"] > self.threshold_)
        return out[["ood_features", "ood_overall", "ood_distance"]]

    def explain_flags(self, row: pd.Series | dict) -> list[str]:
        """Plain sentences for one patient's flags, with the value and the training range."""
        series = pd.Series(row)
        frame = to_input_frame(series.to_frame().T)
        sentences = []
        for spec, kind, value in self._row_issues(frame.astype(object).iloc[0]):
            if kind == "unseen":
                seen = ", ".join(spec.category_label(c) for c in self.categories_[spec.name])
                sentences.append(
                    f"{spec.label} '{spec.category_label(str(value))}' did not occur in the "
                    f"training data (seen: {seen}); the model extrapolates here")
                continue
            lo, hi = self.ranges_[spec.name]
            unit = f" {spec.unit}" if spec.unit else ""
            sentences.append(
                f"{spec.label} {spec.format_value(value)} is {kind} the training range "
                f"{_bare(spec, lo)}–{_bare(spec, hi)}{unit}; the model extrapolates here")
        distance = float(self.distances(frame)[0])
        if distance > self.threshold_:
            sentences.append(
                "This combination of inputs is unusual: the patient is farther from every "
                f"training patient than {self.quantile:.0%} of training patients are from "
                "their nearest neighbour; treat the predictions with extra caution")
        return sentences
