"""The size frontier (workbench.serving.frontier) and the encoding every runtime takes (serving.encoding)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tests.helpers import make_case
from workbench.cases import load_case
from workbench.modelling import boosting
from workbench.serving import encoding, frontier


def planted(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 6, n), rng.normal(size=n)]).astype(np.float32)
    logit = 2 * X[:, 0] - (X[:, 1] == 3) * 1.5 + X[:, 0] * X[:, 2]
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def test_every_grid_model_is_the_first_trees_of_one_fit_per_leaves_setting() -> None:
    X, y = planted(3000, 0)
    models = frontier.fit_grid(X, y, [1], trees=[5, 20], leaves=[3, 15], seed=2)
    assert sorted(models) == [(5, 3), (5, 15), (20, 3), (20, 15)]
    for (t, leaves), m in models.items():
        assert boosting.n_trees(m) == t
        assert max(tree["num_leaves"] for tree in m.dump_model()["tree_info"]) <= leaves
    full = boosting.train(X, y, categorical=[1], seed=2, n_estimators=20, num_leaves=15, learning_rate=0.1)
    np.testing.assert_array_equal(boosting.predict(models[(5, 15)], X), full.predict(X, num_iteration=5))
    assert frontier.size_bytes(models[(5, 3)]) < frontier.size_bytes(models[(20, 15)])
    scores = frontier.grid_predict(models, X)
    assert sorted(scores) == sorted(models)
    for key, m in models.items():
        np.testing.assert_allclose(scores[key], boosting.predict(m, X), rtol=1e-12, atol=1e-15)


def test_a_distilled_model_minimises_cross_entropy_to_the_teachers_probabilities() -> None:
    # LightGBM's own cross_entropy objective on soft labels is the reference (it cannot be served by
    # every runtime, which is why distil uses weighted binary rows); on numeric features and without
    # a minimum leaf size both give the same trees (categorical splits and LightGBM's leaf-size rule
    # count rows, estimated from hessian sums, which the doubled rows change)
    X, y = planted(4000, 1)
    X = X[:, [0, 2]]
    teacher = boosting.train(X, y, n_estimators=100, num_leaves=31)
    p = boosting.predict(teacher, X)
    same = {"bagging_fraction": 1.0, "bagging_freq": 0, "feature_fraction": 1.0, "min_child_samples": 1}
    student = frontier.distil(p, X, [], trees=30, leaves=7, **same)
    reference = boosting.train(X, p, n_estimators=30, num_leaves=7, objective="cross_entropy", **same)
    Xt, _ = planted(2000, 2)
    assert boosting.n_trees(student) == 30
    np.testing.assert_allclose(boosting.predict(student, Xt[:, [0, 2]]), boosting.predict(reference, Xt[:, [0, 2]]),
                               atol=1e-6)
    assert abs(boosting.predict(student, X).mean() - p.mean()) < 0.01, "the soft labels keep the teacher's level"


def test_encoding_puts_numeric_columns_first_and_codes_levels_learned_on_the_fitting_rows(tmp_path: Path) -> None:
    case = load_case(make_case(tmp_path / "tiny", n=400))
    df = case.frame().copy()
    df.loc[399, "colour"] = "purple"  # a level the fitting rows never saw
    enc = encoding.encode(case, df, np.arange(300))
    assert enc.names == ("x", "colour") and enc.categorical == (1,) and enc.X.dtype == np.float32
    np.testing.assert_allclose(enc.X[:, 0], df["x"].to_numpy(dtype=np.float32))
    codes = pd.Series(enc.X[:300, 1]).groupby(df["colour"].iloc[:300].to_numpy()).nunique()
    assert (codes == 1).all() and enc.X[:300, 1].min() >= 0, "one code per level"
    assert enc.X[399, 1] == -1, "an unknown level is coded -1 (missing to LightGBM)"
    some = encoding.encode(case, df, np.arange(300), rows=np.array([5, 399]))
    np.testing.assert_array_equal(some.X[[5, 399]], enc.X[[5, 399]])
    assert np.isnan(some.X[[0, 300]]).all(), "rows not asked for are left empty"
