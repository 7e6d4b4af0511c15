"""Fixes for failed behavioural tests that change the training data or the features.

(The third fix, monotone constraints, is a LightGBM setting: `workbench.modelling.boosting.fit_pipeline`.)

- `augment`: train on the rows plus perturbed copies of them, so that the model sees the variation
  it must ignore (CheckList's and the book's data augmentation for invariances).
- `proxy_strength`: dropping a sensitive attribute removes it from the model's inputs, not from the
  data. How well the remaining features predict it says how much of it the model can still use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from workbench.modelling import boosting
from workbench.modelling.metrics import roc_auc

if TYPE_CHECKING:
    import pandas as pd

    from workbench.cases import Case
    from workbench.evaluation.behaviour import BehaviourTest

__all__ = ["augment", "proxy_strength"]


def augment(rows: pd.DataFrame, y: np.ndarray, tests: list[BehaviourTest]) -> tuple[pd.DataFrame, np.ndarray]:
    """rows and y, followed by one perturbed copy of every row: row i perturbed by test i mod len(tests).

    Each copy keeps its row's label (the perturbation must not change the answer), so the training
    set doubles whatever the number of tests.
    """
    import pandas as pd

    if not tests or any(t.perturb is None for t in tests):
        raise ValueError("augment needs at least one test, each with a perturbation (INV or DIR)")
    y = np.asarray(y)
    parts, labels = [rows], [y]
    for k, t in enumerate(tests):
        idx = np.arange(k, len(rows), len(tests))
        if len(idx):
            assert t.perturb is not None
            parts.append(t.perturb(rows.iloc[idx]))
            labels.append(y[idx])
    return pd.concat(parts, ignore_index=True), np.concatenate(labels)


def proxy_strength(case: Case, fit: pd.DataFrame, val: pd.DataFrame, column: str, *, exclude: tuple[str, ...] = (),
                   seed: int = 0, lgbm_trees: int = 100) -> tuple[float, str]:
    """ROC-AUC on validation rows of LightGBM, fitted on `fit` rows, telling `column`'s most frequent level
    from the others using every other feature but `exclude`; returns (ROC-AUC, the level).

    0.5: the other features carry nothing of it; near 1: dropping the column hides little.
    """
    level = fit[column].mode(dropna=True).iloc[0]
    others = [c for c in case.feature_columns() if c != column and c not in exclude]
    target_fit = (fit[column] == level).to_numpy(dtype=int)
    target_val = (val[column] == level).to_numpy(dtype=int)
    if not others or target_fit.min() == target_fit.max() or target_val.min() == target_val.max():
        return float("nan"), str(level)
    model = boosting.pipeline(case, columns=others, seed=seed, n_estimators=lgbm_trees).fit(fit, target_fit)
    return roc_auc(target_val, model.predict_proba(val)[:, 1]), str(level)
