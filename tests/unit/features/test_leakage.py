"""Leakage checks (workbench.features.leakage) on synthetic data: a planted leak is found, clean data passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler, TargetEncoder
from sklearn.tree import DecisionTreeClassifier

from workbench.cases import load_case
from workbench.features.leakage import (
    compare_splits,
    duplicate_share,
    flag_leaks,
    one_feature_auc,
    one_feature_scores,
    preprocessing_gap,
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


def period_data(n_days: int = 200, per_day: int = 20, seed: int = 0, leak: bool = True) -> pd.DataFrame:
    """Rows over n_days; with `leak`, the label depends on a per-day shock that the feature `day` identifies."""
    rng = np.random.default_rng(seed)
    day = np.repeat(np.arange(n_days), per_day)
    x = rng.normal(size=len(day))
    logit = (rng.normal(0, 2.5, n_days)[day] if leak else 1.5 * x) - 0.5
    return pd.DataFrame({
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(day, unit="D"),
        "day": day.astype(float), "x": x,
        "label": np.where(rng.random(len(day)) < 1 / (1 + np.exp(-logit)), "yes", "no"),
    })


@pytest.mark.parametrize("leak", [True, False])
def test_compare_splits_finds_a_gap_only_when_periods_leak(tiny_case, leak: bool) -> None:
    case = load_case(tiny_case)  # time column 'when', positive class 'yes'
    df = period_data(leak=leak)
    columns = ["day"] if leak else ["x"]

    def measure(train: pd.DataFrame, test: pd.DataFrame) -> float:
        model = DecisionTreeClassifier(min_samples_leaf=10, random_state=0)
        model.fit(train[columns], case.labels(train))
        return roc_auc_score(case.labels(test), model.predict_proba(test[columns])[:, 1])

    scores = compare_splits(case, measure, data=df, seed=1, max_train_rows=2000)
    assert set(scores) == {"time", "random"}
    if leak:
        assert scores["random"] - scores["time"] > 0.2 and abs(scores["time"] - 0.5) < 0.1
    else:
        assert abs(scores["random"] - scores["time"]) < 0.05 and scores["time"] > 0.75


def test_compare_splits_without_time_runs_the_random_split_only(tiny_case) -> None:
    case = load_case(tiny_case)
    case.time_column = None
    seen = []
    out = compare_splits(case, lambda tr, te: seen.append((len(tr), len(te))) or 0.5, max_train_rows=50)
    assert out == {"random": 0.5} and seen == [(50, 100)]


def test_statistics_fitted_on_all_rows_leak_test_labels_through_a_target_encoding() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    df = pd.DataFrame({"pair": np.repeat(np.arange(n // 2), 2).astype(str), "x": rng.normal(size=n)})
    y = rng.integers(0, 2, n)  # pure noise: nothing is learnable
    order = rng.permutation(n)  # each pair's two rows land on either side of the split at random
    df, y = df.iloc[order].reset_index(drop=True), y[order]
    args = (df.iloc[:3000], y[:3000], df.iloc[3000:], y[3000:])
    target = ColumnTransformer([("pair", TargetEncoder(target_type="binary"), ["pair"])])
    leaky = preprocessing_gap(target, LogisticRegression(), *args)
    assert abs(leaky["train_only"] - 0.5) < 0.06 and leaky["gap"] > 0.15
    assert leaky["gap"] == pytest.approx(leaky["all_data"] - leaky["train_only"])
    scaled = preprocessing_gap(ColumnTransformer([("x", StandardScaler(), ["x"])]), LogisticRegression(), *args)
    assert abs(scaled["gap"]) < 0.01  # a scaler's statistics carry no labels


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
