"""Turning validated patient rows into the frame the models see."""

from __future__ import annotations

import pandas as pd

from models.contract.schema import FEATURES, model_feature_names


def to_model_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Model inputs in schema order and dtypes.

    Category columns get the schema's full category list so that category codes are the
    same at training and prediction time, whatever values a batch happens to contain.
    """
    names = model_feature_names()
    missing = [name for name in names if name not in df.columns]
    if missing:
        raise KeyError(f"missing model input column(s): {', '.join(missing)}")
    out = pd.DataFrame(index=df.index)
    for spec in FEATURES:
        if not spec.model_input:
            continue
        column = df[spec.name]
        if spec.dtype == "category":
            out[spec.name] = pd.Categorical(column.astype("object"), categories=spec.categories)
        elif spec.dtype == "bool":
            out[spec.name] = column.astype(float)
        else:
            out[spec.name] = pd.to_numeric(column, errors="raise").astype(float)
    return out[names]
