"""Turning validated patient rows into the frame the models see."""

from __future__ import annotations

import pandas as pd

from models.contract.doses import dose_feature_for, model_doses
from models.contract.schema import (
    DOSE_FEATURES,
    FEATURES,
    MODEL_DOSE,
    model_columns,
    model_feature_names,
)


def to_input_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The clinical model inputs in schema order and dtypes (both dose columns, the one a
    route is not dosed in empty): what the out-of-distribution check reads.

    Category columns get the schema's full category list so that category codes are the
    same at training and prediction time, whatever values a batch happens to contain.
    """
    names = model_feature_names()
    df = _with_unneeded_doses(df)
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


def _with_unneeded_doses(df: pd.DataFrame) -> pd.DataFrame:
    """A dose column that no row's route is dosed in may be left out (e.g. ketamine rows
    without ``esketamine_dose_mg``): read as empty. One that a row needs stays missing."""
    absent = [n for n in DOSE_FEATURES if n not in df.columns]
    if not absent or "route" not in df.columns:
        return df
    needed = {dose_feature_for(r) for r in df["route"].astype(str).unique()}
    if needed & set(absent):
        return df
    return df.assign(**dict.fromkeys(absent, float("nan")))


def to_model_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The columns the models read (``schema.model_columns``): the clinical inputs with
    the recorded dose turned into one ``MODEL_DOSE`` (``doses.model_doses``)."""
    inputs = to_input_frame(df)
    dose = model_doses(inputs["route"].astype(object), *(inputs[n] for n in DOSE_FEATURES))
    out = inputs.drop(columns=list(DOSE_FEATURES))
    out[MODEL_DOSE] = dose
    return out[model_columns()]
