"""A position-based click model: P(click | item a in slot k) = attractiveness[a] * examination[k].

Fitted by expectation-maximisation (Chuklin, Markov and de Rijke, *Click Models for Web Search*,
2015) on logged impressions, with the attractiveness of each item shrunk towards the average by
`prior_rows` pseudo-impressions, so that an item with no clicks in a small log is not taken for
one nobody would ever click.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PositionBasedModel", "cross_fitted", "fit_pbm"]


@dataclass(frozen=True)
class PositionBasedModel:
    """Per-item attractiveness and per-slot examination probabilities (slots 0-based)."""

    attractiveness: np.ndarray
    examination: np.ndarray

    def click_prob(self, items: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """P(click) of each item shown in its slot."""
        return self.attractiveness[np.asarray(items)] * self.examination[np.asarray(slots)]

    def table(self) -> np.ndarray:
        """P(click) for every item (rows) in every slot (columns)."""
        return np.outer(self.attractiveness, self.examination)

    def expected_clicks(self, ranking: np.ndarray) -> float:
        """Expected clicks of a session shown `ranking` (item ids, best slot first)."""
        r = np.asarray(ranking)
        return float(np.sum(self.attractiveness[r] * self.examination[: len(r)]))


def fit_pbm(items: np.ndarray, slots: np.ndarray, clicks: np.ndarray, n_items: int, n_slots: int, *,
            prior_rows: float = 50.0, iterations: int = 100) -> PositionBasedModel:
    """Fit a position-based model to logged (item, slot, click) rows by EM."""
    a = np.asarray(items, dtype=np.int64)
    k = np.asarray(slots, dtype=np.int64)
    c = np.asarray(clicks, dtype=float)
    if not len(a) == len(k) == len(c) or not len(a):
        raise ValueError("items, slots and clicks need one entry per logged row (and at least one row)")
    if a.min() < 0 or a.max() >= n_items or k.min() < 0 or k.max() >= n_slots:
        raise ValueError(f"item ids must lie in 0..{n_items - 1} and slots in 0..{n_slots - 1}")
    shown = np.bincount(a, minlength=n_items).astype(float)
    per_slot = np.bincount(k, minlength=n_slots).astype(float)
    base = max(float(c.mean()), 1e-6)
    exam = np.full(n_slots, 0.5)  # EM starts from every slot examined half the time
    attract = np.full(n_items, min(0.99, 2 * base))
    for _ in range(iterations):
        p = attract[a] * exam[k]
        rest = np.maximum(1 - p, 1e-12)
        # posterior that the item was attractive / that the slot was examined, given the click outcome
        post_attr = c + (1 - c) * attract[a] * (1 - exam[k]) / rest
        post_exam = c + (1 - c) * exam[k] * (1 - attract[a]) / rest
        mean_attr = float(np.sum(post_attr) / len(a))
        attract = (np.bincount(a, weights=post_attr, minlength=n_items) + prior_rows * mean_attr) / (shown + prior_rows)
        exam = np.divide(np.bincount(k, weights=post_exam, minlength=n_slots), per_slot,
                         out=np.full(n_slots, float(np.mean(exam))), where=per_slot > 0)
    return PositionBasedModel(np.clip(attract, 0, 1), np.clip(exam, 0, 1))


def cross_fitted(items: np.ndarray, slots: np.ndarray, clicks: np.ndarray, n_items: int, n_slots: int,
                 target: np.ndarray, *, folds: int = 2, seed: int = 0,
                 prior_rows: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold click probabilities for off-policy estimates: each row's from a model fitted on the other folds.

    Returns, per row, the predicted click probability of the logged item in its slot, and the
    expected click probability in that slot under `target` (an items x slots matrix whose columns
    are the target policy's probabilities of showing each item in each slot).
    """
    a = np.asarray(items, dtype=np.int64)
    k = np.asarray(slots, dtype=np.int64)
    c = np.asarray(clicks)
    target = np.asarray(target, dtype=float)
    if target.shape != (n_items, n_slots):
        raise ValueError(f"target must be an items x slots matrix {(n_items, n_slots)}, got {target.shape}")
    fold = np.random.default_rng(seed).permutation(len(a)) % folds
    q_logged = np.empty(len(a))
    q_target = np.empty(len(a))
    for f in range(folds):
        held = fold == f
        model = fit_pbm(a[~held], k[~held], c[~held], n_items, n_slots, prior_rows=prior_rows)
        q_logged[held] = model.click_prob(a[held], k[held])
        q_target[held] = (model.table() * target).sum(axis=0)[k[held]]
    return q_logged, q_target
