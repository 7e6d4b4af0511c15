"""The baseline ladder every model must beat: random, majority, a one-feature rule, logistic regression, LightGBM.

Each baseline is fitted on training rows only and returns test scores (for ranking metrics) and
0/1 decisions (for the business cost). Models with probabilities decide at the cost-optimal
threshold for calibrated probabilities, c_fp / (c_fp + c_fn).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.modelling import boosting
from workbench.modelling.metrics import bayes_threshold, best_threshold
from workbench.modelling.preprocessing import as_text_categories, preprocessor, smoothed_rates

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

    from workbench.cases import Case

__all__ = ["BASELINES", "Baseline", "describe_rule", "fit_baselines", "logistic_pipeline", "one_feature_rule"]

BASELINES = ("random", "majority", "rule", "logistic", "lightgbm")


@dataclass
class Baseline:
    """A fitted baseline's test scores and decisions, and how it decides, in words."""

    name: str
    description: str
    score: np.ndarray
    pred: np.ndarray
    fit_seconds: float
    details: dict[str, Any] = field(default_factory=dict)


def _candidates(case: Case, train: pd.DataFrame, test: pd.DataFrame, y: np.ndarray, include_leaky: bool):
    """One-feature scores (higher = more likely positive) for every feature, as (rule, s_train, s_test)."""

    for col in case.feature_columns(("numeric",), include_leaky):
        tr = train[col].astype(float)
        fill = float(tr.median()) if tr.notna().any() else 0.0
        s_tr, s_te = tr.fillna(fill).to_numpy(), test[col].astype(float).fillna(fill).to_numpy()
        sign = 1.0 if np.corrcoef(s_tr, y)[0, 1] >= 0 or np.std(s_tr) == 0 else -1.0
        yield {"feature": col, "kind": "numeric", "direction": ">=" if sign > 0 else "<="}, sign * s_tr, sign * s_te
    for col in case.feature_columns(("categorical",), include_leaky):
        tr = as_text_categories(train[[col]])[col].to_numpy()
        te = as_text_categories(test[[col]])[col].to_numpy()
        s_tr, s_te, rate = smoothed_rates(tr, y, te, smoothing=10.0)
        yield ({"feature": col, "kind": "categorical", "rates": rate.round(4).to_dict()}, s_tr, s_te)
    for col in case.feature_columns(("text",), include_leaky):
        from sklearn.feature_extraction.text import CountVectorizer

        vec = CountVectorizer(binary=True, min_df=20, max_features=2000)
        X_tr = vec.fit_transform(train[col].fillna(""))
        X_te = vec.transform(test[col].fillna(""))
        words = vec.get_feature_names_out()
        pos = np.asarray(X_tr[y == 1].mean(axis=0)).ravel()
        neg = np.asarray(X_tr[y == 0].mean(axis=0)).ravel()
        for j in np.argsort(-np.abs(pos - neg), kind="stable")[:50]:
            sign = 1.0 if pos[j] >= neg[j] else -1.0
            yield ({"feature": col, "kind": "text", "word": str(words[j]), "when": "present" if sign > 0 else "absent"},
                   sign * X_tr[:, j].toarray().ravel(), sign * X_te[:, j].toarray().ravel())


def one_feature_rule(case: Case, train: pd.DataFrame, test: pd.DataFrame, y: np.ndarray, *,
                     include_leaky: bool = False) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """The single-feature rule with the lowest training cost: (rule, test scores, test decisions)."""
    assert case.costs is not None, "a binary case declares costs"
    c_fp, c_fn = case.costs.false_positive, case.costs.false_negative
    best = None
    for rule, s_tr, s_te in _candidates(case, train, test, y, include_leaky):
        t, cost = best_threshold(y, s_tr, c_fp, c_fn)
        if best is None or cost < best[0]:
            best = (cost, t, rule, s_te)
    assert best is not None, "a case has at least one feature"
    cost, t, rule, s_te = best
    rule = {**rule, "threshold": t, "train_cost_per_1000": cost}
    return rule, s_te, (s_te >= t).astype("int8")


def describe_rule(rule: dict[str, Any]) -> str:
    """A one-feature rule in words."""
    t = rule["threshold"]
    if not np.isfinite(t):
        return f"flag nothing (no rule on '{rule['feature']}' beats it on training data)"
    if rule["kind"] == "numeric":
        value = t if rule["direction"] == ">=" else -t
        return f"flag when {rule['feature']} {rule['direction']} {value:.4g}"
    if rule["kind"] == "categorical":
        levels = sorted(k for k, r in rule["rates"].items() if r >= t)
        shown = ", ".join(levels[:8]) + (f" (+{len(levels) - 8} more)" if len(levels) > 8 else "")
        return f"flag when {rule['feature']} is one of: {shown}"
    return f"flag when the word '{rule['word']}' is {rule['when']} in {rule['feature']}"


def logistic_pipeline(case: Case, *, include_leaky: bool = False, columns: list[str] | None = None,
                      solver: str = "lbfgs") -> Pipeline:
    """The case's linear preprocessor and a logistic regression as one Pipeline (`columns` as in `preprocessor`).

    `solver` is scikit-learn's: liblinear needs no BLAS threads, which spin when other processes hold
    the cores (lbfgs then took six times the CPU on text features here).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(preprocessor(case, model="linear", include_leaky=include_leaky, columns=columns),
                         LogisticRegression(max_iter=2000, C=1.0, solver=solver))


def fit_baselines(case: Case, train: pd.DataFrame, test: pd.DataFrame, *, seed: int = 0,
                  which: tuple[str, ...] = BASELINES, include_leaky: bool = False,
                  lgbm_trees: int = 200) -> dict[str, Baseline]:
    """Fit each requested baseline on train and score test."""
    y = case.labels(train)
    prior = float(y.mean())
    assert case.costs is not None, "a binary case declares costs"
    t_star = bayes_threshold(case.costs.false_positive, case.costs.false_negative)
    rng = np.random.default_rng(seed)
    out: dict[str, Baseline] = {}
    details: dict[str, Any]
    for name in which:
        start = time.perf_counter()
        if name == "random":
            score = rng.random(len(test))
            pred = (score < prior).astype("int8")
            desc, details = f"flag a random {prior:.1%} of cases (the training positive rate)", {}
        elif name == "majority":
            majority = int(prior >= 0.5)
            score = np.full(len(test), prior)
            pred = np.full(len(test), majority, dtype="int8")
            desc, details = f"always predict {'positive' if majority else 'negative'} (the majority class)", {}
        elif name == "rule":
            details, score, pred = one_feature_rule(case, train, test, y, include_leaky=include_leaky)
            desc = describe_rule(details)
        elif name in ("logistic", "lightgbm"):
            if name == "logistic":
                model = logistic_pipeline(case, include_leaky=include_leaky)
            else:
                model = boosting.pipeline(case, include_leaky=include_leaky, seed=seed, n_estimators=lgbm_trees)
            model.fit(train, y)
            score = model.predict_proba(test)[:, 1]
            pred = (score >= t_star).astype("int8")
            desc, details = f"{name} probability >= {t_star:.3f} (cost-optimal if calibrated)", {"model": model}
        else:
            raise ValueError(f"unknown baseline {name!r} (expected one of {', '.join(BASELINES)})")
        out[name] = Baseline(name, desc, score, pred, time.perf_counter() - start, details)
    return out
