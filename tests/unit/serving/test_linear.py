"""The logistic floor (workbench.serving.linear): scikit-learn's logistic regression, scored by lookups."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from workbench.serving.linear import fit_linear


def data(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.normal(size=n) * 3 + 1, rng.integers(0, 5, n), rng.exponential(size=n)])


def test_the_scorer_equals_scikit_learns_pipeline_on_the_same_rows() -> None:
    X = data(2000, 0)
    rng = np.random.default_rng(1)
    y = (rng.random(2000) < 1 / (1 + np.exp(-(X[:, 0] - 1 - (X[:, 1] == 2) * 2)))).astype(int)
    scorer = fit_linear(X, y, categorical=[1])
    # the reference: standardised numbers and one-hot codes, fitted by scikit-learn directly
    num = StandardScaler().fit(X[:, [0, 2]])
    onehot = OneHotEncoder(handle_unknown="ignore").fit(X[:, [1]])
    design = np.hstack([num.transform(X[:, [0, 2]]), onehot.transform(X[:, [1]]).toarray()])
    reference = LogisticRegression(C=1.0, max_iter=2000).fit(design, y)
    Xt = data(500, 2)
    expected = reference.predict_proba(np.hstack([num.transform(Xt[:, [0, 2]]),
                                                  onehot.transform(Xt[:, [1]]).toarray()]))[:, 1]
    np.testing.assert_allclose(scorer.predict(Xt), expected, atol=1e-5)


def test_unknown_or_missing_codes_weigh_nothing_and_missing_numbers_are_the_median() -> None:
    X = data(1000, 3)
    y = (X[:, 1] >= 3).astype(int)
    scorer = fit_linear(X, y, categorical=[1])
    row = X[:1].copy()
    base = scorer.predict(row)
    for bad in (np.nan, -1.0, 99.0):
        row[0, 1] = bad
        z_known = np.log(base / (1 - base)) - scorer.tables[0][int(X[0, 1])]
        np.testing.assert_allclose(np.log(scorer.predict(row) / (1 - scorer.predict(row))), z_known, atol=1e-9)
    row = X[:1].copy()
    row[0, 0] = np.nan
    filled = X[:1].copy()
    filled[0, 0] = np.median(X[:, 0])
    np.testing.assert_allclose(scorer.predict(row), scorer.predict(filled))
