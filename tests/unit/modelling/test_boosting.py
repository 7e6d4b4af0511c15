"""The LightGBM wrapper (workbench.modelling.boosting): training, the Pipeline, monotone constraints, gains and size."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from tests.helpers import make_case
from workbench.cases import load_case
from workbench.modelling import boosting


def planted(n: int, seed: int, flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """x0 drives the label (its sign flips with `flip`); x1 is noise; x2 is a category code 0..4."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n), rng.normal(size=n), rng.integers(0, 5, n)]).astype(np.float32)
    logit = (-2.0 if flip else 2.0) * X[:, 0]
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def test_train_is_deterministic_and_learns_a_planted_signal() -> None:
    X, y = planted(3000, 0)
    Xt, yt = planted(2000, 1)
    a = boosting.train(X, y, categorical=[2], seed=3, n_estimators=25)
    b = boosting.train(X, y, categorical=[2], seed=3, n_estimators=25)
    pa = boosting.predict(a, Xt)
    assert boosting.n_trees(a) == 25
    np.testing.assert_array_equal(pa, boosting.predict(b, Xt))
    assert np.all((pa > 0) & (pa < 1)) and roc_auc_score(yt, pa) > 0.8
    assert not np.array_equal(pa, boosting.predict(boosting.train(X, y, seed=4, n_estimators=25), Xt))


def test_continue_training_adds_exactly_the_requested_trees_and_leaves_the_model_as_it_was() -> None:
    X, y = planted(2000, 0)
    model = boosting.train(X, y, n_estimators=30)
    before = boosting.predict(model, X)
    more = boosting.continue_training(model, X[:500], y[:500], n_estimators=4)
    assert boosting.n_trees(more) == 34, "the model's remembered 30 rounds must not override the 4 asked for"
    assert boosting.n_trees(boosting.continue_training(more, X[:500], y[:500], n_estimators=2)) == 36
    np.testing.assert_array_equal(boosting.predict(model, X), before)
    np.testing.assert_allclose(more.predict(X, num_iteration=30, raw_score=True), model.predict(X, raw_score=True))


def test_continued_trees_move_the_model_towards_the_new_data() -> None:
    X_old, y_old = planted(3000, 0)
    X_new, y_new = planted(1500, 1, flip=True)
    X_test, y_test = planted(2000, 2, flip=True)
    model = boosting.train(X_old, y_old, n_estimators=30)
    warm = boosting.continue_training(model, X_new, y_new, n_estimators=30)
    old_loss = log_loss(y_test, boosting.predict(model, X_test))
    assert log_loss(y_test, boosting.predict(warm, X_test)) < old_loss - 0.1


def test_continued_training_keeps_the_categorical_columns() -> None:
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=4000), rng.integers(0, 5, 4000)]).astype(np.float32)
    y_old = np.isin(X[:, 1], [1, 3]).astype(int)
    y_new = np.isin(X[:, 1], [0, 4]).astype(int)
    settings = {"num_leaves": 2, "min_child_samples": 5, "learning_rate": 1.0}
    model = boosting.train(X, y_old, categorical=[1], n_estimators=1, **settings)
    warm = boosting.continue_training(model, X, y_new, n_estimators=1)
    step = warm.predict(X, raw_score=True) - model.predict(X, raw_score=True)
    per_level = {c: np.unique(np.round(step[X[:, 1] == c], 6)) for c in range(5)}
    # one split of the new tree puts the non-adjacent levels 0 and 4 on one side: a categorical split
    assert all(len(v) == 1 for v in per_level.values())
    assert per_level[0][0] == per_level[4][0] > per_level[2][0] == per_level[1][0] == per_level[3][0]


@pytest.mark.parametrize("threads", [1, 2])
def test_predict_gives_the_same_probabilities_on_any_thread_count(threads: int) -> None:
    X, y = planted(1000, 0)
    model = boosting.train(X, y, n_estimators=10)
    np.testing.assert_allclose(boosting.predict(model, X, threads=threads), model.predict(X))


def test_pipeline_uses_only_the_named_columns_and_is_deterministic(tiny_case) -> None:
    case = load_case(tiny_case)
    df, y = case.frame(), case.labels()
    model = boosting.pipeline(case, columns=["x"], n_estimators=40, n_jobs=1).fit(df, y)
    assert model[-1].n_features_in_ == 1
    score = model.predict_proba(df.assign(colour="never seen"))[:, 1]
    assert np.array_equal(score, model.predict_proba(df)[:, 1]), "colour is not an input"
    again = boosting.pipeline(case, columns=["x"], n_estimators=40, n_jobs=1).fit(df, y)
    assert np.array_equal(score, again.predict_proba(df)[:, 1])
    assert roc_auc_score(y, score) > 0.7  # x drives the tiny case's label


def test_gain_importance_and_size_come_from_the_fitted_booster(tiny_case) -> None:
    case = load_case(tiny_case)
    model = boosting.pipeline(case, n_estimators=20, n_jobs=1).fit(case.frame(), case.labels())[-1]
    trees = model.booster_.trees_to_dataframe()
    gains = trees.groupby("split_feature")["split_gain"].sum()
    assert boosting.gain_importance(model) == pytest.approx([gains.get("Column_0", 0), gains.get("Column_1", 0)])
    assert boosting.model_size_bytes(model) == len(model.booster_.model_to_string().encode())
    bigger = boosting.pipeline(case, n_estimators=60, n_jobs=1).fit(case.frame(), case.labels())[-1]
    assert boosting.model_size_bytes(bigger) > boosting.model_size_bytes(model)


def test_truncate_keeps_the_first_trees_and_predicts_as_lightgbm_does_with_that_many() -> None:
    X, y = planted(2000, 0)
    model = boosting.train(X, y, categorical=[2], n_estimators=30)
    small = boosting.truncate(model, 10)
    assert boosting.n_trees(small) == 10 and boosting.n_trees(model) == 30
    np.testing.assert_array_equal(boosting.predict(small, X), model.predict(X, num_iteration=10))
    assert len(boosting.to_text(small)) < len(boosting.to_text(model))
    np.testing.assert_array_equal(boosting.predict(boosting.from_text(boosting.to_text(model)), X),
                                  boosting.predict(model, X))
    with pytest.raises(ValueError, match="cannot keep 31 trees of a model with 30"):
        boosting.truncate(model, 31)


def test_row_weights_weigh_each_rows_loss() -> None:
    # a row with weight 2 is the same as that row twice (on whole-number features, so that both
    # data sets have the same histogram bins)
    X, y = planted(1000, 0)
    X = np.round(X * 2)
    same = {"n_estimators": 3, "num_leaves": 4, "bagging_fraction": 1.0, "bagging_freq": 0, "feature_fraction": 1.0,
            "min_child_samples": 1, "min_data_in_bin": 1}
    doubled = boosting.train(np.vstack([X, X[:100]]), np.r_[y, y[:100]], **same)
    weighted = boosting.train(X, y, weight=np.r_[np.full(100, 2.0), np.ones(900)], **same)
    unweighted = boosting.train(X, y, **same)
    np.testing.assert_allclose(boosting.predict(weighted, X), boosting.predict(doubled, X), atol=1e-9)
    assert np.abs(boosting.predict(unweighted, X) - boosting.predict(doubled, X)).max() > 1e-3


def test_staged_predict_equals_each_truncated_models_predictions() -> None:
    X, y = planted(2000, 0)
    model = boosting.train(X, y, categorical=[2], n_estimators=30)
    staged = boosting.staged_predict(model, X, [30, 5, 12])
    assert sorted(staged) == [5, 12, 30]
    for k, p in staged.items():
        np.testing.assert_allclose(p, boosting.predict(boosting.truncate(model, k), X), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="cannot predict with 31 trees"):
        boosting.staged_predict(model, X, [31])


def _bump_case(folder):
    """The tiny case with its label redrawn as a bump in x: P(yes) peaks at x = 0 and falls on both sides."""
    import pandas as pd
    import yaml

    from workbench.fileio import sha256_file

    make_case(folder, n=3000)
    df = pd.read_parquet(folder / "data.parquet")
    rng = np.random.default_rng(1)
    p = 1 / (1 + np.exp(-(2.5 - 3 * df["x"] ** 2)))
    df["label"] = np.where(rng.random(len(df)) < p, "yes", "no")
    df.to_parquet(folder / "data.parquet", index=False)
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    spec["sha256"] = sha256_file(folder / "data.parquet")
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return load_case(folder)


def test_monotone_constraints_give_each_named_numeric_input_its_direction() -> None:
    names = ["numeric__x", "numeric__z", "categorical__colour"]
    assert boosting.monotone_constraints(names, {"z": -1, "x": 3}) == [1, -1, 0]
    with pytest.raises(ValueError, match="not among the model's input columns: colour"):
        boosting.monotone_constraints(names, {"colour": 1})


def test_a_constrained_pipeline_is_monotone_in_every_row_where_the_plain_one_is_not(tmp_path) -> None:
    case = _bump_case(tmp_path / "bump")
    df, y = case.frame(), case.labels()
    plain = boosting.fit_pipeline(boosting.pipeline(case, n_estimators=60), df, y)
    constrained = boosting.fit_pipeline(boosting.pipeline(case, n_estimators=60), df, y, monotone={"x": 1})
    assert list(constrained[-1].get_params()["monotone_constraints"]) == [1, 0]
    rows = df.sample(200, random_state=0)
    grid = np.linspace(-3, 3, 25)

    def ice(model):  # each row's P(yes) as x moves along the grid, everything else held: (rows, grid)
        return np.column_stack([model.predict_proba(rows.assign(x=v))[:, 1] for v in grid])

    steps_plain, steps_constrained = np.diff(ice(plain), axis=1), np.diff(ice(constrained), axis=1)
    assert (steps_plain < -1e-6).any(axis=1).mean() > 0.9, "the bump makes the plain model fall somewhere in most rows"
    assert (steps_constrained >= -1e-12).all(), "the constrained model never falls as x rises, in any row"
    assert roc_auc_score(y, plain.predict_proba(df)[:, 1]) > roc_auc_score(y, constrained.predict_proba(df)[:, 1])


def test_fit_pipeline_without_directions_is_an_ordinary_fit(tiny_case) -> None:
    case = load_case(tiny_case)
    df, y = case.frame(), case.labels()
    a = boosting.fit_pipeline(boosting.pipeline(case, n_estimators=20), df, y)
    b = boosting.pipeline(case, n_estimators=20).fit(df, y)
    np.testing.assert_array_equal(a.predict_proba(df), b.predict_proba(df))
    assert a[-1].get_params().get("monotone_constraints") is None
