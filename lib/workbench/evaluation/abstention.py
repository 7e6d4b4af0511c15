"""Selective prediction: let the model decide the cases it is sure of and send the rest to a person.

A case's uncertainty is the expected cost of the decision the model takes, if its probability p
were right: (1 - p) x c_fp for a flagged case, p x c_fn for one let through. Abstaining on the
most uncertain share of cases costs a review each (`costs.review` in case.yaml), plus the share
`reviewer_miss` of the model's mistakes on those cases that the reviewer still makes (an
assumption: 0 is a perfect reviewer, 1 one no better than the model). `coverage_curve` prices
every abstention share; the share is chosen on validation rows as an uncertainty cut-off, which
`row_costs_with_abstention` then applies to test rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from workbench.modelling.metrics import per_1000, row_costs

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["best_share", "break_even_miss", "coverage_curve", "row_costs_with_abstention", "uncertainty"]


def uncertainty(p: np.ndarray, decision: np.ndarray, cost_fp: float, cost_fn: float) -> np.ndarray:
    """The expected cost of each decision if p were the true probability of the positive class."""
    p = np.asarray(p, dtype=float)
    d = np.asarray(decision).astype(bool)
    return np.where(d, (1 - p) * cost_fp, p * cost_fn)


def row_costs_with_abstention(y: np.ndarray, decision: np.ndarray, abstain: np.ndarray, cost_fp: float, cost_fn: float,
                              review_cost: float, reviewer_miss: float = 0.0) -> np.ndarray:
    """Each row's cost: the model's error cost where it decides; where it abstains, a review plus the share
    reviewer_miss of the model's error cost on that row (the mistakes a reviewer still makes)."""
    if not 0 <= reviewer_miss <= 1:
        raise ValueError(f"reviewer_miss must be in [0, 1], got {reviewer_miss}")
    model = row_costs(y, decision, cost_fp, cost_fn)
    return np.where(np.asarray(abstain, dtype=bool), review_cost + reviewer_miss * model, model)


def break_even_miss(y: np.ndarray, decision: np.ndarray, abstain: np.ndarray, cost_fp: float, cost_fn: float,
                    review_cost: float) -> float | None:
    """The reviewer_miss at which reviewing the abstained rows stops paying (None when they hold no model error).

    Reviewing k rows whose model errors cost E saves (1 - miss) x E and costs k x review_cost, so it
    pays while miss < 1 - k x review_cost / E (negative: it never pays).
    """
    abstain = np.asarray(abstain, dtype=bool)
    at_stake = float(row_costs(y, decision, cost_fp, cost_fn)[abstain].sum())
    return 1 - abstain.sum() * review_cost / at_stake if at_stake > 0 else None


def coverage_curve(y: np.ndarray, p: np.ndarray, decision: np.ndarray, cost_fp: float, cost_fn: float,
                   review_cost: float, *, reviewer_miss: float = 0.0, shares: np.ndarray | None = None) -> pd.DataFrame:
    """Cost per 1,000 cases when the most uncertain share of them goes to a reviewer, for each share.

    Columns: share (abstained), coverage (1 - share), cutoff (abstain when uncertainty >= cutoff; +inf
    for none), reviewed (rows), cost_per_1000, model_cost_per_1000 (on the rows the model still decides).
    Default shares: 0 to 100% in steps of 1%.
    """
    import pandas as pd

    u = uncertainty(p, decision, cost_fp, cost_fn)
    order = np.argsort(-u, kind="stable")
    n = len(u)
    shares = np.round(np.arange(0, 1.001, 0.01), 2) if shares is None else np.asarray(shares, dtype=float)
    rows = []
    for share in shares:
        k = int(round(share * n))
        abstain = np.zeros(n, dtype=bool)
        abstain[order[:k]] = True
        cost = row_costs_with_abstention(y, decision, abstain, cost_fp, cost_fn, review_cost, reviewer_miss)
        kept = ~abstain
        rows.append({"share": float(share), "coverage": 1 - k / n, "cutoff": float(u[order[k - 1]]) if k else np.inf,
                     "reviewed": k, "cost_per_1000": per_1000(cost.sum(), n),
                     "model_cost_per_1000": per_1000(cost[kept].sum(), kept.sum()) if kept.any() else np.nan})
    return pd.DataFrame(rows)


def best_share(curve: pd.DataFrame) -> pd.Series:
    """The row of the cheapest abstention share (the smallest share among equals)."""
    best = curve["cost_per_1000"].min()
    return curve[curve["cost_per_1000"] <= best + 1e-9].sort_values("share").iloc[0]
