"""Off-policy evaluation: a target policy's average reward estimated from another policy's logs.

Each logged row i has a reward r_i, the logging policy's probability p_i of the action it took,
and the target policy's probability pi_i of that same action, so w_i = pi_i / p_i. With a reward
model q (its prediction for the logged action, q_i, and its expectation under the target policy,
qbar_i) the four estimators are means of per-row terms:

- IPW (inverse propensity weighting): w_i r_i, unbiased when the propensities are right;
- SNIPW (self-normalised IPW): sum(w r) / sum(w), a ratio: slightly biased, far steadier;
- DM (direct method): qbar_i, as good as the reward model;
- DR (doubly robust): qbar_i + w_i (r_i - q_i), unbiased if either the propensities or the model are.

Intervals: IPW, DM and DR are means of rows (`mean_interval`); SNIPW is a ratio (`bootstrap_rows`).
"""

from __future__ import annotations

import numpy as np

from workbench.modelling.intervals import Interval, bootstrap_rows, mean_interval

__all__ = ["ESTIMATORS", "estimate_all", "importance_weights", "per_row_terms", "snipw"]

ESTIMATORS = ("IPW", "SNIPW", "DM", "DR")


def importance_weights(target_prob: np.ndarray, logging_prob: np.ndarray) -> np.ndarray:
    """pi / p for each logged action; the logging probabilities must be positive."""
    p = np.asarray(logging_prob, dtype=float)
    pi = np.asarray(target_prob, dtype=float)
    if p.shape != pi.shape:
        raise ValueError(f"target and logging probabilities need one entry per row, got {pi.shape} and {p.shape}")
    if np.any(p <= 0) or np.any(p > 1) or np.any(pi < 0) or np.any(pi > 1):
        raise ValueError("probabilities must lie in [0, 1], and logging probabilities above 0")
    return pi / p


def per_row_terms(reward: np.ndarray, weight: np.ndarray, q_logged: np.ndarray | None = None,
                  q_target: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-row terms whose means are the IPW, DM and DR estimates (DM and DR only with a reward model)."""
    r = np.asarray(reward, dtype=float)
    w = np.asarray(weight, dtype=float)
    out = {"IPW": w * r}
    if q_logged is not None and q_target is not None:
        ql, qt = np.asarray(q_logged, dtype=float), np.asarray(q_target, dtype=float)
        out["DM"] = qt
        out["DR"] = qt + w * (r - ql)
    return out


def snipw(reward: np.ndarray, weight: np.ndarray) -> float:
    """Self-normalised IPW: sum(w r) / sum(w) (NaN when no weight is positive)."""
    w = np.asarray(weight, dtype=float)
    total = w.sum()
    return float(np.sum(w * np.asarray(reward, dtype=float)) / total) if total > 0 else float("nan")


def estimate_all(reward: np.ndarray, weight: np.ndarray, q_logged: np.ndarray | None = None,
                 q_target: np.ndarray | None = None, *, n_boot: int = 1000, level: float = 0.9,
                 seed: int = 0) -> dict[str, Interval]:
    """Every estimator's value with its percentile bootstrap interval over logged rows."""
    r = np.asarray(reward, dtype=float)
    w = np.asarray(weight, dtype=float)
    out = {name: mean_interval(terms, n_boot=n_boot, level=level, seed=seed)
           for name, terms in per_row_terms(r, w, q_logged, q_target).items()}
    out["SNIPW"] = bootstrap_rows(len(r), lambda rows: snipw(r[rows], w[rows]), n_boot=n_boot, level=level, seed=seed)
    return {name: out[name] for name in ESTIMATORS if name in out}
