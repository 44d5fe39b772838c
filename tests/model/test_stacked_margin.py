"""The stacked bit-vector margin kernel gives LightGBM's raw scores bit for bit (``==``).

Synthetic boosters cover every split rule the kernel treats apart: plain numeric splits
with NaN (missing type None and NaN), zero-as-missing (missing type Zero), categories
below 32 (one bitset word) and above it (the general rule), single-leaf trees, and trees
with more leaves than one bit set can hold (the stack declines them).
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.kernels.fastshap import CompiledMargin
from models.kernels.fastshap_parse import parse_dump
from models.kernels.stacked_margin import StackedMargin


def _data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "a": rng.normal(size=n), "b": rng.normal(size=n),
        "zero": np.where(rng.random(n) < 0.3, 0.0, rng.normal(size=n)),
        "small": pd.Categorical(rng.integers(0, 6, n)),
        "large": pd.Categorical(rng.integers(0, 45, n)),
    })
    frame.loc[rng.random(n) < 0.1, "a"] = np.nan
    frame.loc[rng.random(n) < 0.05, "small"] = np.nan
    y = ((frame["a"].fillna(0) + frame["zero"] + (frame["large"].cat.codes % 3 == 0)
          + rng.normal(size=n)) > 0.5).astype(int).to_numpy()
    return frame, y


def _booster(frame: pd.DataFrame, y: np.ndarray, rounds: int = 30, **params) -> lgb.Booster:
    settings = {"objective": "binary", "verbose": -1, "num_threads": 1, "seed": 3,
                "min_data_in_leaf": 5, "cat_smooth": 1, "min_data_per_group": 5,
                "max_cat_to_onehot": 2, **params}
    return lgb.train(settings, lgb.Dataset(frame, y, categorical_feature=["small", "large"]),
                     num_boost_round=rounds)


@pytest.fixture(scope="module")
def boosters() -> tuple[list[lgb.Booster], pd.DataFrame]:
    frame, y = _data(3000, 0)
    made = [_booster(frame, y, num_leaves=15),
            _booster(frame, y, num_leaves=7, zero_as_missing=True),
            _booster(frame, y, num_leaves=31, use_missing=False),
            _booster(frame, y, num_leaves=4, min_data_in_leaf=2000)]  # single-leaf trees
    test, _ = _data(5000, 1)
    test.loc[test.index[:50], "a"] = 0.0
    test.loc[test.index[50:60], "large"] = np.nan
    return made, test


def test_every_split_rule_is_covered(boosters) -> None:
    made, _ = boosters
    forests = [parse_dump(b.dump_model()) for b in made]
    assert any(f.node_is_cat.any() and (f.node_cat_words > 1).any() for f in forests)
    assert any((f.node_missing == 1).any() for f in forests)
    assert any((f.node_missing == 2).any() for f in forests)
    assert any((f.tree_walk < 0).any() for f in forests)


@pytest.mark.parametrize("parallel", [False, True])
def test_stack_equals_lightgbm_bit_for_bit(boosters, parallel) -> None:
    made, test = boosters
    matrix = CompiledMargin(made[0]).to_matrix(test)
    stack = StackedMargin.build([parse_dump(b.dump_model()) for b in made], parallel=parallel)
    assert stack is not None and stack.n_boosters == len(made)
    margins = stack.margins(matrix)
    for booster, row in zip(made, margins, strict=True):
        assert np.array_equal(row, booster.predict(test, raw_score=True))
    for n in (1, 63, 700):  # partial blocks give the same numbers as the whole
        assert np.array_equal(stack.margins(matrix[:n]), margins[:, :n])


def test_compiled_margin_takes_the_stack_for_batches(boosters) -> None:
    made, test = boosters
    compiled = CompiledMargin(made[1], parallel=False)
    matrix = compiled.to_matrix(test)
    assert np.array_equal(compiled.margin_matrix(matrix), made[1].predict(test, raw_score=True))
    assert compiled.__dict__["_stack"] is not None


def test_trees_wider_than_the_bit_set_are_declined() -> None:
    frame, y = _data(3000, 2)
    wide = _booster(frame, y, num_leaves=100, min_data_in_leaf=2, rounds=3)
    assert StackedMargin.build([parse_dump(wide.dump_model())]) is None
    compiled = CompiledMargin(wide)  # falls back to the row walk, same numbers
    assert np.array_equal(compiled.margin_matrix(compiled.to_matrix(frame)),
                          wide.predict(frame, raw_score=True))


def test_model_set_batch_routes_equal_the_per_model_routes(trained) -> None:
    """Probability, interval centre and members by the stacked batch route (64+ rows)
    equal LightGBM's predict and the row walk of the one-row route."""
    model_set = trained.model_set
    rows = trained.holdout.patients.iloc[:300]
    logits = model_set.predict_logits(rows)
    X = model_set.model_frame(rows)
    for name, model in model_set.outcome_models.items():
        raw = model.booster_.predict(X[model.feature_names_], raw_score=True)
        assert np.array_equal(logits[name], model.a_ * raw + model.b_)
    pd.testing.assert_frame_equal(model_set.predict_interval(rows, logits),
                                  model_set.predict_interval(rows), check_exact=True)
    assert model_set.intervals
    for interval in model_set.intervals.values():
        batch = interval.member_logits(X)
        picked = range(0, len(rows), 37)
        one_by_one = np.hstack([interval.member_logits(X.iloc[[i]]) for i in picked])
        assert np.array_equal(batch[:, ::37], one_by_one)
        members = np.vstack([a * m.predict(X[interval.feature_names_], raw_score=True) + b
                             for m, (a, b) in zip(interval.members_, interval.platt_,
                                                  strict=True)])
        assert np.array_equal(batch, members)
