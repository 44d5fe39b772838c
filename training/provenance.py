"""Which patients a model version saw: per-patient fingerprints, the data hash, the split.

A version's card records the ids of its train, validation and test patients, the split
spec that reproduces them (``training.train.split_patients`` with its seed and fractions)
and a fingerprint per patient: the first 16 hex digits of the SHA-256 of the patient id
and every schema feature in canonical text. Ids alone cannot tell two patients apart:
every generated cohort numbers its patients ``KAP-00001`` upwards. A fingerprint matches
only the same patient with the same inputs, wherever the row comes from (a CSV folder, a
fresh cohort, the clinical store), so "patients this version never trained or validated
on" is a set difference of fingerprints.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from models.contract.schema import FEATURES, ID_COLUMN, outcome_names

FINGERPRINT_HEX = 16  # 64 bits: no collision expected below billions of patients
SPLIT_METHOD = ("training.train.split_patients: stratified train_test_split on response x "
                "the rarest outcome, test first (random_state=seed), then validation "
                "(random_state=seed+1), rows in input order")


def _canonical(column: pd.Series) -> pd.Series:
    """One text form per value, equal for a CSV row, a generated row and a stored row.

    Numbers at 4 significant digits, as ``training.generator.generate`` writes them to CSV, so a
    cohort and its CSV copy (and the store seeded from it) have the same fingerprints.
    """
    if column.dtype == bool or str(column.dtype) == "boolean":
        return column.map(lambda v: "1" if bool(v) else "0")
    if pd.api.types.is_numeric_dtype(column):
        # Each distinct value formatted once (most columns have a few dozen of them).
        # Unique bit patterns, so that -0.0 keeps its own text ("-0") as before.
        bits, inverse = np.unique(column.to_numpy(dtype=float).view(np.int64),
                                  return_inverse=True)
        text = np.array(["" if v != v else format(v, ".4g")
                         for v in bits.view(np.float64).tolist()], dtype=object)
        return pd.Series(text[inverse.reshape(-1)], index=column.index, dtype=object)
    return column.astype(str)


def _row_digests(patients: pd.DataFrame, columns: list[str],
                 canonical: dict[str, pd.Series] | None = None) -> list[str]:
    """SHA-256 per row of id + columns; ``canonical`` caches the columns' text forms
    (``split_record`` digests the features twice: fingerprints and the data hash)."""
    canonical = {} if canonical is None else canonical
    for name in [ID_COLUMN, *columns]:
        if name not in canonical:
            canonical[name] = (patients[name].astype(str) if name == ID_COLUMN
                               else _canonical(patients[name]))
    parts = [canonical[name] for name in [ID_COLUMN, *columns]]
    joined = parts[0].str.cat(parts[1:], sep="\x1f")
    return [hashlib.sha256(text.encode("utf-8")).hexdigest() for text in joined]


def fingerprints(patients: pd.DataFrame,
                 canonical: dict[str, pd.Series] | None = None) -> pd.Series:
    """Fingerprint (16 hex digits) of each row's id and schema features, same index."""
    names = [f.name for f in FEATURES]
    missing = [n for n in [ID_COLUMN, *names] if n not in patients]
    if missing:
        raise KeyError(f"cannot fingerprint patients without column(s) {', '.join(missing)}")
    digests = _row_digests(patients, names, canonical)
    return pd.Series([d[:FINGERPRINT_HEX] for d in digests], index=patients.index,
                     dtype=object)


def data_sha256(patients: pd.DataFrame,
                canonical: dict[str, pd.Series] | None = None) -> str:
    """SHA-256 of a cohort's ids, features and outcomes, independent of row order."""
    columns = [f.name for f in FEATURES] + [o for o in outcome_names() if o in patients]
    digest = hashlib.sha256()
    for row in sorted(_row_digests(patients, columns, canonical)):
        digest.update(row.encode("ascii"))
    return digest.hexdigest()


def split_record(patients: pd.DataFrame, split: tuple[pd.Index, pd.Index, pd.Index],
                 seed: int, test_fraction: float, valid_fraction: float) -> dict[str, Any]:
    """The card's ``patients`` entry: split spec, data hash, ids and fingerprints."""
    canonical: dict[str, pd.Series] = {}
    prints = fingerprints(patients, canonical)
    names = ("train", "valid", "test")
    ids = {name: patients.loc[index, ID_COLUMN].astype(str).tolist()
           for name, index in zip(names, split, strict=True)}
    return {
        "data_sha256": data_sha256(patients, canonical),
        "n_patients": int(len(patients)),
        "split": {"method": SPLIT_METHOD, "seed": int(seed),
                  "test_fraction": float(test_fraction),
                  "valid_fraction": float(valid_fraction)},
        "ids": ids,
        "fingerprints": {name: prints.loc[index].tolist()
                         for name, index in zip(names, split, strict=True)},
    }


def seen_fingerprints(card: dict[str, Any]) -> set[str] | None:
    """Fingerprints of the patients a version trained or validated on (None: not recorded)."""
    record = card.get("patients") or {}
    prints = record.get("fingerprints") or {}
    if "train" not in prints or "valid" not in prints:
        return None
    return set(prints["train"]) | set(prints["valid"])


def heldout_fingerprints(card: dict[str, Any]) -> set[str] | None:
    """Fingerprints of a version's own held-out test patients (None: not recorded)."""
    prints = (card.get("patients") or {}).get("fingerprints") or {}
    return set(prints["test"]) if "test" in prints else None


def unseen_mask(patients: pd.DataFrame, cards: Iterable[dict[str, Any]]) -> np.ndarray:
    """True for rows that none of the versions (cards) trained or validated on.

    Raises ``ValueError`` naming the version when a card does not record its patients: an
    honest comparison is impossible then.
    """
    prints = fingerprints(patients)
    keep = np.ones(len(patients), dtype=bool)
    for card in cards:
        seen = seen_fingerprints(card)
        if seen is None:
            raise ValueError(
                f"model version {card.get('version', '?')} does not record which patients it "
                "trained and validated on (trained before issue 14); retrain it to compare "
                "or evaluate it on patients it never saw")
        keep &= ~prints.isin(seen).to_numpy()
    return keep
