"""Imbalance remedies and resampling to a positive rate (workbench.evaluation.imbalance)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from workbench import load_case
from workbench.evaluation.imbalance import REMEDIES, fit_remedies, metrics_at_rates, remedy_rows, rows_at_rate
from workbench.modelling.preprocessing import preprocessor


@pytest.fixture
def y() -> np.ndarray:
    return (np.random.default_rng(0).random(1000) < 0.07).astype(int)


def test_no_remedy_and_class_weights_train_on_every_row(y) -> None:
    for remedy in ("none", "class_weight"):
        assert np.array_equal(remedy_rows(y, remedy), np.arange(len(y)))


def test_undersampling_keeps_every_positive_and_as_many_distinct_negatives(y) -> None:
    rows = remedy_rows(y, "undersample", seed=1)
    assert len(set(rows)) == len(rows), "no row twice"
    assert set(np.flatnonzero(y)) <= set(rows)
    assert y[rows].sum() == len(rows) - y[rows].sum() == y.sum()


def test_oversampling_keeps_every_row_and_repeats_positives_until_balanced(y) -> None:
    rows = remedy_rows(y, "oversample", seed=1)
    assert set(rows) == set(range(len(y)))
    assert y[rows].sum() == (y == 0).sum() == len(rows) - y[rows].sum()
    assert not np.array_equal(rows, remedy_rows(y, "oversample", seed=2)), "the seed is used"
    with pytest.raises(ValueError, match="smote"):
        remedy_rows(y, "smote")


@pytest.mark.parametrize("rate", [0.005, 0.02, 0.07, 0.3, 0.9])
def test_rows_at_rate_hit_the_rate_with_distinct_rows_keeping_one_class_whole(y, rate: float) -> None:
    rows = rows_at_rate(y, rate, seed=3)
    assert len(set(rows)) == len(rows) and np.all(np.diff(rows) > 0)
    assert abs(y[rows].mean() - rate) <= 1.0 / len(rows) + 1e-12
    n_pos, n_neg = y[rows].sum(), len(rows) - y[rows].sum()
    assert n_pos == y.sum() or n_neg == (y == 0).sum() or min(n_pos, n_neg) == 1
    assert len(rows_at_rate(y, rate, seed=3, max_rows=50)) <= 51
    with pytest.raises(ValueError, match="between 0 and 1"):
        rows_at_rate(y, 1.0)


def test_metrics_at_rates_agree_with_scikit_learn_on_each_drawn_sample(y) -> None:
    rng = np.random.default_rng(4)
    score = np.clip(0.3 * y + rng.random(len(y)) * 0.7, 0, 1)
    table = metrics_at_rates(y, {"m": (score, score >= 0.5)}, [0.02, 0.5], 1.0, 5.0, repeats=1, seed=9)
    for row in table.itertuples():
        idx = rows_at_rate(y, row.rate, 9, 5000)
        assert row.roc_auc == pytest.approx(roc_auc_score(y[idx], score[idx]))
        assert row.pr_auc == pytest.approx(average_precision_score(y[idx], score[idx]))
        assert row.rows == len(idx)


def test_ranking_metrics_of_random_scores_follow_the_rate_as_theory_says() -> None:
    rng = np.random.default_rng(5)
    y = (rng.random(20_000) < 0.2).astype(int)
    score = rng.random(len(y))
    table = metrics_at_rates(y, {"random": (score, score >= 0.5)}, [0.02, 0.2, 0.5], 1.0, 1.0, repeats=5)
    assert np.allclose(table["roc_auc"], 0.5, atol=0.03)
    assert np.allclose(table["pr_auc"], table["rate"], rtol=0.3)


def test_fit_remedies_scores_out_of_fold_as_cross_val_predict_does(tiny_case) -> None:
    cs = load_case(tiny_case)
    train, labels = cs.frame(), cs.labels()
    pipelines, oof = fit_remedies(cs, train, labels, seed=2, folds=4)
    assert set(pipelines) == set(oof) == set(REMEDIES)
    X = preprocessor(cs).fit_transform(train)
    cv = StratifiedKFold(4, shuffle=True, random_state=2)
    for remedy, weight in [("none", None), ("class_weight", "balanced")]:
        model = LogisticRegression(solver="liblinear", class_weight=weight, random_state=2)
        expected = cross_val_predict(model, X, labels, cv=cv, method="predict_proba")[:, 1]
        np.testing.assert_allclose(oof[remedy], expected, rtol=1e-9)
        in_sample = model.fit(X, labels).predict_proba(X)[:, 1]
        np.testing.assert_allclose(pipelines[remedy].predict_proba(train)[:, 1], in_sample, rtol=1e-9)


def test_rebalancing_raises_the_scores_of_a_rare_class(tiny_case) -> None:
    cs = load_case(tiny_case)
    train = cs.frame()
    labels = cs.labels()
    rare = np.flatnonzero(labels == 1)[:20]
    keep = np.sort(np.r_[rare, np.flatnonzero(labels == 0)])
    sub = train.iloc[keep]
    pipelines, oof = fit_remedies(cs, sub, labels[keep], seed=0)
    assert oof == {}
    mean = {r: p.predict_proba(sub)[:, 1].mean() for r, p in pipelines.items()}
    for remedy in ("class_weight", "undersample", "oversample"):
        assert mean[remedy] > 2 * mean["none"], remedy
