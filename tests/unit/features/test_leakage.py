"""Leakage checks (workbench.features.leakage) on synthetic data: a planted leak is found, clean data passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler, TargetEncoder

from workbench.features.leakage import (
    duplicate_share,
    duplicates,
    flag_leaks,
    one_feature_auc,
    one_feature_scores,
    preprocessing_gap,
    repeated_entities,
)


def synthetic(n: int = 4000, seed: int = 0, leak: bool = True,
              strength: float = 3.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Honest features of similar strength (three numeric, one categorical) and, optionally, a label proxy."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    colour = rng.choice(["red", "green", "blue"], size=n)
    logit = x @ [0.7, 0.6, 0.5] + 0.9 * (colour == "red") - 1
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({"x": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "colour": colour})
    if leak:
        df["settled_late"] = strength * y + rng.normal(size=n)  # observed after the outcome: a label proxy
    return df, y


def scan(df: pd.DataFrame, y: np.ndarray) -> pd.DataFrame:
    kinds = {c: "categorical" if df[c].dtype == object else "numeric" for c in df.columns}
    half = len(df) // 2
    return flag_leaks(one_feature_auc(df.iloc[:half], df.iloc[half:], y[:half], y[half:], kinds))


@pytest.mark.parametrize("strength,rule", [(3.0, ">= 0.9"), (1.5, "leads the next feature")])
def test_the_one_feature_scan_flags_a_planted_leak_and_nothing_else(strength: float, rule: str) -> None:
    table = scan(*synthetic(leak=True, strength=strength))
    assert table.loc[0, "feature"] == "settled_late"
    assert table.loc[table["flagged"], "feature"].tolist() == ["settled_late"]
    assert rule in table.loc[0, "why"] and table.loc[0, "near_perfect"] == (strength == 3.0)


def test_the_one_feature_scan_flags_nothing_on_clean_data() -> None:
    table = scan(*synthetic(leak=False))
    assert not table["flagged"].any() and (table["why"] == "").all()
    assert set(table["feature"]) == {"x", "x2", "x3", "colour"}
    assert table["auc"].is_monotonic_decreasing


def test_a_categorical_feature_alone_scores_its_smoothed_training_rate() -> None:
    df, y = synthetic(leak=False)
    train, test, y_train, y_test = df.iloc[:3000], df.iloc[3000:], y[:3000], y[3000:]
    prior = y_train.mean()
    stats = pd.DataFrame({"c": train["colour"], "y": y_train}).groupby("c")["y"].agg(["sum", "count"])
    rate = (stats["sum"] + 10 * prior) / (stats["count"] + 10)
    expected = roc_auc_score(y_test, test["colour"].map(rate))
    got = one_feature_auc(train, test, y_train, y_test, {"colour": "categorical"})
    assert got.loc[0, "auc"] == pytest.approx(expected, rel=1e-12)


def test_a_monotone_numeric_feature_alone_scores_close_to_its_raw_value_auc() -> None:
    df, y = synthetic(leak=False)
    got = one_feature_auc(df.iloc[:3000], df.iloc[3000:], y[:3000], y[3000:], {"x": "numeric"})
    assert got.loc[0, "auc"] == pytest.approx(roc_auc_score(y[3000:], df["x"].iloc[3000:]), abs=0.01)


def test_one_feature_scores_capture_a_non_monotone_effect_missing_values_and_unseen_levels() -> None:
    rng = np.random.default_rng(3)
    x = pd.Series(rng.uniform(-2, 2, 5000))
    y = (np.abs(x) > 1).astype(int).to_numpy()  # both tails positive: a raw-value AUC sees ~0.5
    x[::50] = np.nan
    s_train, s_test = one_feature_scores(x[:4000], x[4000:], y[:4000], "numeric")
    assert roc_auc_score(y[4000:], s_test) > 0.95 and abs(roc_auc_score(y[4000:], x[4000:].fillna(0)) - 0.5) < 0.1
    assert np.isfinite(s_train).all() and np.isfinite(s_test).all()
    _, s_new = one_feature_scores(pd.Series(["a", "b"] * 50), pd.Series(["c", "a"]), np.r_[[1, 0] * 50], "categorical")
    assert s_new[0] == pytest.approx(0.5) and s_new[1] > 0.9  # unseen level: the training rate


@pytest.mark.parametrize("aucs,flagged", [
    ([0.95, 0.9, 0.88], [True, True, False]),  # almost perfect alone: flagged even without a lead
    ([0.8, 0.6, 0.55], [True, False, False]),  # leads the next feature by more than 0.15
    ([0.8, 0.7, 0.65], [False, False, False]),  # strong, but in company: not flagged
    ([0.7], [False]),  # a single feature leads nothing
])
def test_flag_leaks_applies_the_absolute_and_the_lead_rule(aucs: list[float], flagged: list[bool]) -> None:
    table = pd.DataFrame({"feature": [f"f{i}" for i in range(len(aucs))], "kind": "numeric", "auc": aucs})
    out = flag_leaks(table)
    assert out["flagged"].tolist() == flagged
    assert out["near_perfect"].tolist() == [a >= 0.9 for a in aucs]


def levels(n: int = 6000, rows_per_level: int = 4, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A categorical with few rows per level and a real level effect, plus a noise number."""
    rng = np.random.default_rng(seed)
    level = np.repeat(np.arange(n // rows_per_level), rows_per_level)
    effect = rng.normal(0, 1.2, n // rows_per_level)[level]
    y = (rng.random(n) < 1 / (1 + np.exp(-effect))).astype(int)
    order = rng.permutation(n)  # each level's rows land on either side of the split at random
    df = pd.DataFrame({"level": level.astype(str), "x": rng.normal(size=n)}).iloc[order].reset_index(drop=True)
    return df, y[order]


def test_statistics_fitted_on_all_rows_leak_the_test_labels_into_a_target_encoding() -> None:
    """Training rows are encoded out of fold in both arms, so the gap is what the test labels leak: it
    is there with the true test labels and gone (below zero: noise) when the shortcut sees them shuffled."""
    df, y = levels()
    args = (df.iloc[:4500], y[:4500], df.iloc[4500:], y[4500:])
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    target = ColumnTransformer([("level", TargetEncoder(target_type="binary", cv=cv), ["level"])])
    leaky = preprocessing_gap(target, LogisticRegression(), *args, return_scores=True)
    placebo = preprocessing_gap(target, LogisticRegression(), *args, shuffle_test_labels=0)
    assert leaky["gap"] > 0.05 and placebo["gap"] < 0.01
    assert leaky["gap"] == pytest.approx(leaky["all_data"] - leaky["train_only"])
    assert roc_auc_score(y[4500:], leaky["scores_all_data"]) == pytest.approx(leaky["all_data"])
    scaled = preprocessing_gap(ColumnTransformer([("x", StandardScaler(), ["x"])]), LogisticRegression(), *args)
    assert abs(scaled["gap"]) < 0.01  # a scaler's statistics carry no labels


def test_on_pure_noise_the_shortcut_still_leaks_each_test_rows_own_label() -> None:
    """Pairs of rows, labels pure noise: nothing is learnable, so the Pipeline scores chance; the shortcut's
    encoding of a test row carries that row's own label, and the model ranks by it."""
    rng = np.random.default_rng(0)
    n = 4000
    df = pd.DataFrame({"pair": np.repeat(np.arange(n // 2), 2).astype(str)})
    y = rng.integers(0, 2, n)
    order = rng.permutation(n)
    df, y = df.iloc[order].reset_index(drop=True), y[order]
    args = (df.iloc[:3000], y[:3000], df.iloc[3000:], y[3000:])
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    target = ColumnTransformer([("pair", TargetEncoder(target_type="binary", cv=cv), ["pair"])])
    gap = preprocessing_gap(target, LogisticRegression(), *args)
    assert abs(gap["train_only"] - 0.5) < 0.06 and gap["gap"] > 0.15


def test_duplicates_find_exact_and_near_texts_and_the_row_they_copy() -> None:
    train = pd.DataFrame({"text": ["the tea was great and fresh", "awful coffee, stale beans",
                                   "a fine cup of green tea every morning", "cheap cocoa mix"], "n": [1, 2, 3, 4]})
    test = pd.DataFrame({"text": ["awful coffee, stale beans", "a fine cup of green tea every morning!",
                                  "completely different words here", "cheap cocoa mix"], "n": [2, 3, 9, 5]},
                        index=[10, 11, 12, 13])
    got = duplicates(train, test, ["text", "n"], text="text", threshold=0.9)
    assert got.index.tolist() == [10, 11, 12, 13]
    assert got["exact"].tolist() == [True, False, False, False]  # the last differs on n
    assert got["near"].tolist() == [True, True, False, True]
    assert got["match"].tolist()[:2] == [1, 2] and got.loc[13, "match"] == 3
    assert got.loc[12, "similarity"] < 0.5
    within = duplicates(pd.concat([train, test.iloc[:1]], ignore_index=True), None, ["text", "n"])
    assert within["exact"].tolist() == [False, True, False, False, True]  # each copy points at the other
    assert within["match"].tolist() == [-1, 4, -1, -1, 1] and within["similarity"].isna().all()


def test_repeated_entities_are_identifiers_with_several_rows_each() -> None:
    frame = pd.DataFrame({"plane": np.repeat(np.arange(30), 3), "row_id": np.arange(90),
                          "two": np.arange(90) % 2})
    assert repeated_entities(frame, ["plane", "row_id", "two"]) == {"plane": 3.0}
    assert repeated_entities(frame, ["two"], min_entities=2) == {"two": 45.0}


def test_duplicate_share_counts_test_rows_with_a_training_twin_like_brute_force() -> None:
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"a": rng.integers(0, 3, 300), "b": rng.choice(["u", "v"], 300),
                          "c": rng.normal(size=300)})
    train.loc[::7, "b"] = None
    test = pd.concat([train.sample(40, random_state=1),  # planted duplicates
                      pd.DataFrame({"a": rng.integers(0, 3, 60), "b": rng.choice(["u", "v"], 60),
                                    "c": rng.normal(size=60)})], ignore_index=True)
    for columns in (["a", "b", "c"], ["a", "b"]):
        seen = set(map(tuple, train[columns].astype(object).where(train[columns].notna(), "NA").to_numpy()))
        keys = map(tuple, test[columns].astype(object).where(test[columns].notna(), "NA").to_numpy())
        brute = np.mean([k in seen for k in keys])
        assert duplicate_share(train, test, columns) == pytest.approx(brute)
    assert duplicate_share(train, test, ["a", "b", "c"]) == pytest.approx(0.4)
    assert duplicate_share(train, test.iloc[40:], ["a", "b", "c"]) == 0.0
    assert duplicate_share(train, test.iloc[:0], ["a"]) == 0.0
