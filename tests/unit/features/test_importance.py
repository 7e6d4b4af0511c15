"""Importance and selection (workbench.features.importance) against scikit-learn and brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.inspection import permutation_importance as sk_permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from workbench.cases import load_case
from workbench.features.importance import column_owners, gain_importance, permutation_importance, stability, top_k
from workbench.modelling import boosting


def frame(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """`x` matters a lot, `colour` a little, `noise` not at all."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=n), "noise": rng.normal(size=n),
                       "colour": rng.choice(["red", "green", "blue"], n)})
    logit = 1.5 * df["x"] + 0.7 * (df["colour"] == "red") - 0.5
    return df, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()


def fitted(df: pd.DataFrame, y: np.ndarray):
    pre = ColumnTransformer([("num", "passthrough", ["x", "noise"]),
                             ("cat", OrdinalEncoder(), ["colour"])])
    return make_pipeline(pre, boosting.classifier(n_estimators=60, n_jobs=1)).fit(df, y)


class Opaque:
    """A model that hides its pipeline, so permutation_importance must shuffle raw columns."""

    def __init__(self, model) -> None:
        self.model = model

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(X)


def test_column_owners_maps_each_output_column_to_its_input_column() -> None:
    df = pd.DataFrame({"a": [1.0, 2, 3], "b": [0.0, 1, 0], "c": ["u", "v", "u"], "t": ["red fox", "blue fox", "red"]})
    ct = ColumnTransformer([("n", "passthrough", ["a", "b"]), ("o", OrdinalEncoder(), ["c"]),
                            ("t", TfidfVectorizer(), "t")]).fit(df)
    assert column_owners(ct) == ["a", "b", "c", "t", "t", "t"]
    onehot = ColumnTransformer([("h", OneHotEncoder(), ["c", "b"])]).fit(df)
    with pytest.raises(ValueError, match="one output each"):
        column_owners(onehot)


def test_gain_importance_sums_the_split_gains_of_each_input_column(tiny_case) -> None:
    case = load_case(tiny_case)
    model = boosting.pipeline(case, n_estimators=30, n_jobs=1).fit(case.frame(), case.labels())
    trees = model[-1].booster_.trees_to_dataframe()
    by_column = trees.dropna(subset=["split_feature"]).groupby("split_feature")["split_gain"].sum()
    gain = gain_importance(model)
    assert list(gain.index) == ["x", "colour"]  # the preprocessor's order: numeric, then categorical
    assert gain["x"] == pytest.approx(by_column.get("Column_0", 0.0), rel=1e-9)
    assert gain["colour"] == pytest.approx(by_column.get("Column_1", 0.0), rel=1e-9)
    assert gain["x"] > gain["colour"] > 0


@pytest.mark.parametrize("opaque", [False, True])
def test_permutation_importance_agrees_with_scikit_learn(opaque: bool) -> None:
    df, y = frame()
    model = fitted(df.iloc[:2000], y[:2000])
    held, y_held = df.iloc[2000:], y[2000:]
    ours = permutation_importance(Opaque(model) if opaque else model, held, y_held, n_repeats=10, seed=1)
    ref = sk_permutation_importance(model, held, y_held, scoring="roc_auc", n_repeats=30, random_state=0)
    sk = pd.DataFrame({"importance": ref.importances_mean, "sd": ref.importances_std}, index=held.columns)
    assert list(ours.index) == ["x", "noise", "colour"]
    bound = 3 * np.sqrt(ours["sd"] ** 2 / 10 + sk["sd"] ** 2 / 30) + 0.002
    assert (np.abs(ours["importance"] - sk["importance"]) <= bound).all(), (ours, sk)
    assert ours["importance"].idxmax() == "x" and abs(ours.loc["noise", "importance"]) < 0.01
    assert ours.loc["colour", "importance"] > 3 * ours.loc["colour", "sd"] / np.sqrt(10)


def test_shuffling_preprocessed_columns_gives_the_same_result_as_shuffling_raw_columns() -> None:
    df, y = frame(seed=4)
    model = fitted(df.iloc[:2000], y[:2000])
    fast = permutation_importance(model, df.iloc[2000:], y[2000:], n_repeats=3, seed=7, columns=["colour", "x"])
    slow = permutation_importance(Opaque(model), df.iloc[2000:], y[2000:], n_repeats=3, seed=7, columns=["colour", "x"])
    pd.testing.assert_frame_equal(fast, slow)


def test_permutation_importance_of_a_linear_pipeline_shuffles_raw_columns() -> None:
    df, y = frame(seed=2)
    model = make_pipeline(ColumnTransformer([("num", "passthrough", ["x", "noise"]),
                                             ("cat", OneHotEncoder(), ["colour"])]),
                          LogisticRegression()).fit(df.iloc[:2000], y[:2000])
    got = permutation_importance(model, df.iloc[2000:], y[2000:], n_repeats=3, seed=0)
    same = permutation_importance(Opaque(model), df.iloc[2000:], y[2000:], n_repeats=3, seed=0)
    pd.testing.assert_frame_equal(got, same)  # one-hot has no one-to-one map: the raw-column path


def test_top_k_keeps_the_largest_and_breaks_ties_by_order() -> None:
    imp = pd.Series({"a": 0.1, "b": 0.3, "c": 0.1, "d": -0.2})
    assert top_k(imp, 2) == ["b", "a"]
    assert top_k(imp, 3) == ["b", "a", "c"]
    assert top_k(imp, 10) == ["b", "a", "c", "d"]
    with pytest.raises(ValueError, match="at least 1"):
        top_k(imp, 0)


def test_stability_summarises_shares_across_windows_like_brute_force() -> None:
    shares = pd.DataFrame({"w1": [0.6, 0.3, 0.1, 0.0], "w2": [0.5, 0.1, 0.4, 0.0], "w3": [0.7, 0.2, 0.1, 0.0]},
                          index=["steady", "wobbly", "swinging", "unused"])
    got = stability(shares)
    for f in shares.index:
        v = shares.loc[f].to_numpy()
        cv = v.std() / v.mean() if v.mean() > 0 else 0.0
        assert got.loc[f, "mean_share"] == pytest.approx(v.mean())
        assert got.loc[f, "cv"] == pytest.approx(cv)
        assert got.loc[f, "fragile"] == (cv > 0.5)
    assert got.index[0] == "steady" and got.loc["swinging", "fragile"] and not got.loc["steady", "fragile"]
    assert got.loc["steady", ["best_rank", "worst_rank"]].tolist() == [1, 1]
    assert got.loc["swinging", ["best_rank", "worst_rank"]].tolist() == [2, 3]
