"""A generative label model: learns how far to trust each labelling function from their votes alone.

The model is Dawid and Skene's (1979) with abstains: a hidden true class y with prior P(y = 1),
and labelling functions that vote independently given y, LF j emitting abstain, 0 or 1 with
probabilities theta[j, y, :]. Expectation-maximisation fits it from the unlabelled vote matrix,
starting from majority vote (so an LF is assumed better than chance to begin with). Unlike majority
vote, it weighs accurate LFs more than noisy ones, and it returns probabilities rather than votes.
"""

from __future__ import annotations

import numpy as np

from workbench.labelling.lfs import ABSTAIN

__all__ = ["LabelModel"]


class LabelModel:
    """Dawid-Skene label model over a binary task with abstaining labelling functions.

    `class_balance`: P(y = 1) if known (for example from a small labelled dev set); it is then held
    fixed, which anchors the model when the positive class is rare. Otherwise it is learned.
    `smoothing`: Dirichlet pseudo-count added to each vote-outcome count, so that an outcome never
    seen still has a small probability.
    """

    def __init__(self, class_balance: float | None = None, *, smoothing: float = 1.0,
                 max_iter: int = 300, tol: float = 1e-7) -> None:
        if class_balance is not None and not 0 < class_balance < 1:
            raise ValueError(f"class_balance must be strictly between 0 and 1, got {class_balance}")
        self.class_balance = class_balance
        self.smoothing = smoothing
        self.max_iter = max_iter
        self.tol = tol

    @staticmethod
    def _outcomes(L: np.ndarray) -> np.ndarray:
        """One-hot of each vote as (n, m, 3): abstain, 0, 1."""
        L = np.asarray(L)
        if L.ndim != 2:
            raise ValueError(f"the vote matrix must be 2-D (rows x labelling functions), got shape {L.shape}")
        bad = ~np.isin(L, (ABSTAIN, 0, 1))
        if bad.any():
            raise ValueError(f"votes must be {ABSTAIN} (abstain), 0 or 1; found {sorted(set(L[bad].tolist()))[:5]}")
        return np.stack([L == ABSTAIN, L == 0, L == 1], axis=-1).astype(float)

    def _log_joint(self, onehot: np.ndarray) -> np.ndarray:
        """log P(y = c, votes_i) as (n, 2)."""
        log_theta = np.log(self.theta_)  # (m, 2, 3)
        ll = np.einsum("imk,mck->ic", onehot, log_theta)
        return ll + np.log([1 - self.prior_, self.prior_])

    def fit(self, L: np.ndarray) -> LabelModel:
        """Fit prior and vote probabilities to the vote matrix L (rows x LFs; 1, 0 or ABSTAIN) by EM."""
        self._outcomes(L)  # validates
        patterns, weight = np.unique(np.asarray(L), axis=0, return_counts=True)  # EM over distinct vote patterns
        onehot = self._outcomes(patterns)
        weight = weight.astype(float)
        pos, neg = (patterns == 1).sum(axis=1), (patterns == 0).sum(axis=1)
        q = (pos + 0.5) / (pos + neg + 1.0)  # soft majority vote; 0.5 where nothing voted
        self.prior_ = self.class_balance if self.class_balance is not None else float(np.average(q, weights=weight))
        previous = -np.inf
        self.converged_ = False
        for it in range(1, self.max_iter + 1):
            # M-step: expected outcome counts per LF and class, smoothed
            resp = np.column_stack([1 - q, q]) * weight[:, None]  # (patterns, 2)
            counts = np.einsum("ic,imk->mck", resp, onehot) + self.smoothing
            self.theta_ = counts / counts.sum(axis=2, keepdims=True)
            if self.class_balance is None:
                self.prior_ = float(np.clip(np.average(q, weights=weight), 1e-6, 1 - 1e-6))
            # E-step: posterior of the positive class
            lj = self._log_joint(onehot)
            top = lj.max(axis=1, keepdims=True)
            loglik = float(weight @ (top[:, 0] + np.log(np.exp(lj - top).sum(axis=1))))
            q = 1.0 / (1.0 + np.exp(np.clip(lj[:, 0] - lj[:, 1], -700, 700)))
            self.n_iter_ = it
            if loglik - previous < self.tol * max(1.0, abs(loglik)):
                self.converged_ = True
                break
            previous = loglik
        self.log_likelihood_ = loglik
        return self

    def predict_proba(self, L: np.ndarray) -> np.ndarray:
        """P(y = 1 | votes) for each row."""
        lj = self._log_joint(self._outcomes(L))
        return 1.0 / (1.0 + np.exp(np.clip(lj[:, 0] - lj[:, 1], -700, 700)))

    def predict(self, L: np.ndarray) -> np.ndarray:
        """The more probable class of each row (0 or 1)."""
        return (self.predict_proba(L) > 0.5).astype("int8")

    def accuracies(self) -> np.ndarray:
        """Each LF's estimated accuracy: P(vote = y | the LF votes)."""
        right = (1 - self.prior_) * self.theta_[:, 0, 1] + self.prior_ * self.theta_[:, 1, 2]
        voted = (1 - self.prior_) * (1 - self.theta_[:, 0, 0]) + self.prior_ * (1 - self.theta_[:, 1, 0])
        return right / voted

    def coverages(self) -> np.ndarray:
        """Each LF's estimated probability of voting on a row."""
        return (1 - self.prior_) * (1 - self.theta_[:, 0, 0]) + self.prior_ * (1 - self.theta_[:, 1, 0])
