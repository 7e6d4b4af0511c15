"""The baseline ladder (workbench.modelling.baselines) on synthetic data with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.cases import load_case
from workbench.modelling.baselines import describe_rule, fit_baselines, logistic_pipeline, one_feature_rule
from workbench.modelling.metrics import cost_per_1000


def test_the_rule_finds_the_planted_feature_and_threshold(tiny_case) -> None:
    case = load_case(tiny_case)
    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame({"x": rng.normal(size=n), "colour": rng.choice(["a", "b"], n)})
    df["label"] = np.where(df["x"] > 0.5, "yes", "no")  # x decides the label exactly
    y = case.labels(df)
    rule, score, pred = one_feature_rule(case, df.iloc[:1500], df.iloc[1500:], y[:1500])
    assert rule["feature"] == "x" and rule["direction"] == ">="
    assert 0.45 < rule["threshold"] <= 0.55
    assert (pred == y[1500:]).mean() > 0.99
    assert describe_rule(rule).startswith("flag when x >= 0.5")


def test_categorical_rule_flags_the_risky_level(tiny_case) -> None:
    case = load_case(tiny_case)
    rng = np.random.default_rng(1)
    n = 3000
    df = pd.DataFrame({"x": rng.normal(size=n), "colour": rng.choice(["red", "green", "blue"], n)})
    df["label"] = np.where((df["colour"] == "red") & (rng.random(n) < 0.9), "yes", "no")
    y = case.labels(df)
    rule, _, pred = one_feature_rule(case, df, df, y)
    assert rule["feature"] == "colour"
    assert np.array_equal(pred.astype(bool), (df["colour"] == "red").to_numpy())
    assert describe_rule(rule) == "flag when colour is one of: red"


def test_every_baseline_scores_every_test_row_and_models_beat_majority(tiny_case) -> None:
    case = load_case(tiny_case)
    df = case.frame()
    fitted = fit_baselines(case, df.iloc[:300], df.iloc[300:], seed=0, lgbm_trees=30)
    assert list(fitted) == ["random", "majority", "rule", "logistic", "lightgbm"]
    y = case.labels(df.iloc[300:])
    costs = {n: cost_per_1000(y, b.pred, 1, 4) for n, b in fitted.items()}
    assert all(len(b.score) == 100 and set(np.unique(b.pred)) <= {0, 1} for b in fitted.values())
    assert costs["logistic"] < costs["majority"]


def test_the_logistic_pipeline_takes_the_named_columns_and_solver(tiny_case) -> None:
    case = load_case(tiny_case)
    df, y = case.frame(), case.labels()
    model = logistic_pipeline(case, columns=["colour"], solver="liblinear").fit(df, y)
    assert model[-1].solver == "liblinear" and model[-1].n_features_in_ == 3, "one-hot colour only"
    assert np.array_equal(model.predict_proba(df.assign(x=0.0)), model.predict_proba(df)), "x is not an input"
