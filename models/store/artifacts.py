"""A ModelSet as plain data files that load without running code (no pickle anywhere).

``save(model_set, folder)`` writes:

- ``model_set.json``: the object tree as tagged JSON: numbers, text, lists, maps, and the
  learned state of the few classes named in ``ALLOWED`` (nothing else can be rebuilt);
- ``booster-<n>.txt``: each LightGBM booster in LightGBM's own model text;
- ``arrays.npz``: every NumPy array, read back with ``allow_pickle=False``.

``load_bytes(contents)`` rebuilds the tree: classes only from ``ALLOWED`` (made with ``__new__``
and their saved attributes, so no constructor or ``__setstate__`` runs), boosters from
their text, arrays as plain numbers. An unknown tag, class or dtype is refused with
``ArtifactError``. The nearest-neighbour index of the OOD detector is rebuilt from its
training matrix (a scikit-learn object is not stored as such).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

TREE_FILE = "model_set.json"
ARRAYS_FILE = "arrays.npz"
BOOSTER_PREFIX = "booster-"
FORMAT = "kapcds-model-set/1"
TRANSIENT = {"_fast_shap", "_margins", "_stacked"}  # caches rebuilt on demand (fast_explainer,
# ProbabilityInterval.compiled_members)


class ArtifactError(ValueError):
    """A value cannot be stored without pickling, or a stored file is not in the format."""


def allowed_classes() -> dict[str, type]:
    """The only classes a stored model set may contain (imported late: no cycles)."""
    from models.learners.estimators import OutcomeModel, TrajectoryModel
    from models.learners.ood import OODDetector
    from models.learners.relapse import RelapseModel
    from models.learners.uncertainty import ProbabilityInterval
    from models.learners.updated_interval import UpdatedInterval
    from models.store.modelset import ModelSet

    return {cls.__name__: cls for cls in (ModelSet, OutcomeModel, TrajectoryModel,
                                          OODDetector, RelapseModel, ProbabilityInterval,
                                          UpdatedInterval)}


class _Writer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.arrays: dict[str, np.ndarray] = {}
        self.boosters = 0
        self.classes = allowed_classes()

    def array(self, value: np.ndarray) -> dict[str, str]:
        if value.dtype.hasobject:
            raise ArtifactError("an object array cannot be stored without pickling")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = value
        return {"__array__": name}

    def booster(self, value: lgb.Booster) -> dict[str, str]:
        name = f"{BOOSTER_PREFIX}{self.boosters}.txt"
        self.boosters += 1
        (self.folder / name).write_text(value.model_to_string(), encoding="utf-8")
        return {"__booster__": name}

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.generic):
            return self.encode(value.item())
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, dict):
            return {"__map__": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if isinstance(value, np.ndarray):
            return self.array(value)
        if isinstance(value, pd.Series):
            return {"__series__": {"index": self.encode(list(value.index)),
                                   "values": self.array(value.to_numpy()),
                                   "name": self.encode(value.name)}}
        if isinstance(value, lgb.Booster):
            return self.booster(value)
        if isinstance(value, NearestNeighbors):
            return self.neighbours(value)
        name = type(value).__name__
        if self.classes.get(name) is type(value):
            state = value.__getstate__() if hasattr(value, "__getstate__") else vars(value)
            state = {k: v for k, v in dict(state).items() if k not in TRANSIENT}
            return {"__object__": name, "state": self.encode(state)}
        raise ArtifactError(f"a {type(value).__module__}.{name} cannot be stored without "
                            "pickling; add a plain-data form for it to models/store/artifacts.py")

    def neighbours(self, value: NearestNeighbors) -> dict[str, Any]:
        params = value.get_params()
        if {k: v for k, v in params.items() if k != "n_neighbors"} != {
                k: v for k, v in NearestNeighbors().get_params().items() if k != "n_neighbors"}:
            raise ArtifactError("only a default NearestNeighbors index can be stored")
        return {"__knn__": {"n_neighbors": int(params["n_neighbors"]),
                            "fit_X": self.array(np.asarray(value._fit_X, dtype=float))}}


def save(value: Any, folder: Path) -> list[str]:
    """Write ``value`` (a ModelSet) into ``folder``; return the file names written."""
    folder = Path(folder)
    writer = _Writer(folder)
    tree = {"format": FORMAT, "root": writer.encode(value)}
    (folder / TREE_FILE).write_text(json.dumps(tree, allow_nan=False), encoding="utf-8")
    with (folder / ARRAYS_FILE).open("wb") as handle:
        np.savez(handle, **writer.arrays)
    return [TREE_FILE, ARRAYS_FILE] + [f"{BOOSTER_PREFIX}{n}.txt"
                                       for n in range(writer.boosters)]


class _Reader:
    def __init__(self, contents: Mapping[str, bytes], arrays: Any) -> None:
        self.contents = contents
        self.arrays = arrays
        self.classes = allowed_classes()

    def decode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict) or len(value) not in (1, 2):
            raise ArtifactError(f"unexpected value in {TREE_FILE}: {str(value)[:80]}")
        tag = next(iter(value))
        handler = getattr(self, f"_tag_{tag.strip('_')}", None) if tag.startswith("__") else None
        if handler is None:
            raise ArtifactError(f"unknown tag {tag!r} in {TREE_FILE}")
        return handler(value)

    def _tag_float(self, value: dict) -> float:
        text = value["__float__"]
        if text not in ("nan", "inf", "-inf"):
            raise ArtifactError(f"bad float {text!r} in {TREE_FILE}")
        return float(text)

    def _tag_tuple(self, value: dict) -> tuple:
        return tuple(self.decode(v) for v in value["__tuple__"])

    def _tag_map(self, value: dict) -> dict:
        return {self.decode(k): self.decode(v) for k, v in value["__map__"]}

    def _tag_array(self, value: dict) -> np.ndarray:
        name = value["__array__"]
        if not isinstance(name, str) or name not in self.arrays.files:
            raise ArtifactError(f"{ARRAYS_FILE} has no array {name!r}")
        return self.arrays[name]

    def _tag_series(self, value: dict) -> pd.Series:
        spec = value["__series__"]
        return pd.Series(self.decode(spec["values"]), index=self.decode(spec["index"]),
                         name=self.decode(spec["name"]))

    def _tag_booster(self, value: dict) -> lgb.Booster:
        name = value["__booster__"]
        if not isinstance(name, str) or not name.startswith(BOOSTER_PREFIX) or \
                name not in self.contents:
            raise ArtifactError(f"booster file {name!r} is not among the checked files")
        return lgb.Booster(model_str=self.contents[name].decode("utf-8"))

    def _tag_knn(self, value: dict) -> NearestNeighbors:
        spec = value["__knn__"]
        return NearestNeighbors(n_neighbors=int(spec["n_neighbors"])).fit(
            self.decode(spec["fit_X"]))

    def _tag_object(self, value: dict) -> Any:
        cls = self.classes.get(value["__object__"])
        if cls is None:
            raise ArtifactError(f"class {value['__object__']!r} may not be loaded")
        state = self.decode(value["state"])
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise ArtifactError(f"bad state for {cls.__name__}")
        obj = cls.__new__(cls)
        obj.__dict__.update(state)
        return obj


def load_bytes(contents: Mapping[str, bytes]) -> Any:
    """Rebuild what ``save`` wrote from the files' bytes (name -> bytes).

    Only call it with bytes whose signature and hashes were checked (``Registry.load``).
    """
    try:
        tree = json.loads(contents[TREE_FILE].decode("utf-8"))
    except (KeyError, ValueError) as exc:
        raise ArtifactError(f"{TREE_FILE} is missing or not JSON: {exc}") from exc
    if not isinstance(tree, dict) or tree.get("format") != FORMAT:
        raise ArtifactError(f"{TREE_FILE} is not in the format {FORMAT}")
    if ARRAYS_FILE not in contents:
        raise ArtifactError(f"{ARRAYS_FILE} is missing")
    with np.load(io.BytesIO(contents[ARRAYS_FILE]), allow_pickle=False) as arrays:
        try:
            return _Reader(contents, arrays).decode(tree["root"])
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ArtifactError):
                raise
            raise ArtifactError(f"{TREE_FILE} is malformed: {exc!r}") from exc
