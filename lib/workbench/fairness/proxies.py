"""Proxies: how well the other features predict a sensitive attribute (why dropping it does not drop the disparity)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from workbench.fairness.groups import SMALL, pool_small
from workbench.modelling.boosting import pipeline
from workbench.modelling.metrics import roc_auc
from workbench.modelling.splits import subsample

if TYPE_CHECKING:
    import pandas as pd

    from workbench.cases import Case

__all__ = ["ProxyResult", "proxy_auc"]


@dataclass(frozen=True)
class ProxyResult:
    """A proxy model's ROC-AUC for the attribute: per group (that group against the rest) and their
    mean weighted by group size (for two groups, both are the plain ROC-AUC)."""

    auc: float
    by_group: dict[str, float]
    columns: list[str]


def proxy_auc(case: Case, fit: pd.DataFrame, evaluate: pd.DataFrame, attribute: str, *,
              columns: list[str] | None = None, min_rows: int = 20, n_estimators: int = 30,
              max_fit_rows: int = 5000, seed: int = 0) -> ProxyResult:
    """Fit LightGBM to predict `attribute` from `columns` (default: every feature that is not a
    declared sensitive attribute) on `fit` rows and score it on `evaluate` rows.

    At most max_fit_rows rows of `fit` are used (drawn at random; 0: all), with 30 rounds at a
    learning rate of 0.1 by default: the question is whether the attribute can be recovered, not
    how well. Groups with fewer than min_rows rows in `fit` are pooled into one class. A ROC-AUC near 0.5
    means the features carry no trace of the attribute; near 1, a model can recover it, and any
    model trained on them can discriminate by it without seeing it.
    """
    cols = columns if columns is not None else [c for c in case.feature_columns() if c not in case.sensitive]
    if attribute in cols:
        raise ValueError(f"the proxy model must not see the attribute '{attribute}' itself")
    fit = fit.iloc[subsample(np.arange(len(fit)), max_fit_rows, seed)]
    a_fit = pool_small(fit[attribute].to_numpy(), min_rows)
    known = sorted(set(a_fit))
    if len(known) < 2:
        raise ValueError(f"'{attribute}' has fewer than two groups of at least {min_rows} rows to tell apart")
    raw = evaluate[attribute].to_numpy().astype(str)
    a_eval = np.where(np.isin(raw, known), raw, SMALL)
    model = pipeline(case, columns=cols, seed=seed, n_estimators=n_estimators, learning_rate=0.1).fit(fit, a_fit)
    proba = model.predict_proba(evaluate)
    classes = list(model.classes_)
    by_group, weights = {}, []
    for k, name in enumerate(classes):
        is_g = a_eval == name
        if 0 < is_g.sum() < len(is_g):
            by_group[str(name)] = roc_auc(is_g, proba[:, k])
            weights.append(is_g.sum())
    if len(classes) == 2:
        auc = by_group[str(classes[1])]
    else:
        auc = float(np.average(list(by_group.values()), weights=weights))
    return ProxyResult(auc, by_group, cols)
