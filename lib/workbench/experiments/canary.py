"""Shadow and canary releases replayed on logged decisions, with a guardrail that stops a bad candidate.

Shadow: the candidate scores all traffic but does not act; its decisions are compared with the
current model's at once (disagreement) and, once labels arrive, in cost (paired, on every row).
Canary: a share of traffic is decided by the candidate. Each day the guardrail compares the cost of
the canary's decisions with the control's among rows whose labels have arrived, with an always-valid
test (mSPRT, see workbench.experiments.sequential), and stops the canary the first day the
candidate is worse at level alpha. Replaying many random canary assignments gives how many days
and how much money a bad candidate costs before it is stopped, and how often a good one is stopped.

Rows whose (control, candidate) costs are equal behave alike, so each replay draws how many rows of
each kind, day and label day join the canary as binomial counts: the same distribution as a coin
per row, at the cost of a few thousand draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from workbench.experiments.sequential import msprt_p_values

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CanaryReplay", "canary_replay", "disagreement_by_day"]


def disagreement_by_day(day: np.ndarray, pred_current: np.ndarray, pred_candidate: np.ndarray) -> pd.DataFrame:
    """Per day: rows decided and the share where the candidate's decision differs from the current model's."""
    import pandas as pd

    frame = pd.DataFrame({"day": np.asarray(day), "differs": np.asarray(pred_current) != np.asarray(pred_candidate)})
    out = frame.groupby("day")["differs"].agg(rows="size", disagreement="mean").reset_index()
    return out


@dataclass(frozen=True)
class CanaryReplay:
    """Replayed canaries: the day each was stopped (-1: never), its extra cost until then, and its exposed rows."""

    stop_day: np.ndarray
    extra_cost: np.ndarray  # candidate's cost minus the control's on canary rows decided up to the stop (or the end)
    exposed: np.ndarray  # canary rows decided up to the stop (or the end)
    days: int  # days replayed (decisions), 0 .. days - 1

    @property
    def stopped(self) -> np.ndarray:
        return self.stop_day >= 0


def canary_replay(day_decided: np.ndarray, day_known: np.ndarray, cost_control: np.ndarray,
                  cost_candidate: np.ndarray, *, share: float = 0.05, reps: int = 1000, alpha: float = 0.05,
                  tau: float, seed: int = 0) -> CanaryReplay:
    """Replay `reps` canaries that send `share` of each day's rows to the candidate; a guardrail checks every day.

    day_decided: the day (0-based) each decision was made; day_known: the day its cost became
    known (day_decided plus the label lag). tau: the mixing sd of the mSPRT, in cost per row
    (the size of a cost increase worth stopping for). Days run up to the last day a label arrives.
    """
    made = np.asarray(day_decided, dtype=np.int64)
    known = np.asarray(day_known, dtype=np.int64)
    c0 = np.asarray(cost_control, dtype=float)
    c1 = np.asarray(cost_candidate, dtype=float)
    if not len(made) == len(known) == len(c0) == len(c1) or not len(made):
        raise ValueError("day_decided, day_known and both costs need one entry per row (and at least one row)")
    if made.min() < 0 or np.any(known < made):
        raise ValueError("days start at 0 and a cost is known on or after the day its decision is made")
    if not 0 < share < 1 or tau <= 0:
        raise ValueError(f"need share in (0, 1) and tau > 0, got {share} and {tau}")
    horizon = int(known.max()) + 1
    keys = np.stack([made, known, c0, c1], axis=1)
    groups, count = np.unique(keys, axis=0, return_counts=True)
    g_made, g_known = groups[:, 0].astype(np.int64), groups[:, 1].astype(np.int64)
    g0, g1 = groups[:, 2], groups[:, 3]
    # the guardrail's numbers change only on days when labels arrive: check on those days alone
    check_days = np.unique(g_known)
    by_known = (g_known[:, None] <= check_days[None, :]).astype(float)  # 1 once the group's cost is known
    rng = np.random.default_rng(seed)
    canary = rng.binomial(count, share, size=(reps, len(groups))).astype(float)
    control = count - canary

    def sums(rows: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return rows @ by_known, (rows * values) @ by_known, (rows * values**2) @ by_known

    n1, s1, q1 = sums(canary, g1)
    n0, s0, q0 = sums(control, g0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m1, m0 = s1 / n1, s0 / n0
        # variance of the difference of the two means (each row's variance with n - 1, over n)
        var = (np.maximum(q1 - n1 * m1**2, 0) / np.maximum(n1 - 1, 1) / n1
               + np.maximum(q0 - n0 * m0**2, 0) / np.maximum(n0 - 1, 1) / n0)
        z = (m1 - m0) / np.sqrt(var)
    ready = (n1 >= 2) & (n0 >= 2) & np.isfinite(z) & (var > 0)
    # one-sided: only evidence that the candidate costs more counts (z <= 0 gives a p-value of 1)
    z = np.where(ready, np.maximum(z, 0.0), 0.0)
    p = msprt_p_values(z, np.where(ready, var, np.inf), tau**2)
    worse = ready & (p <= alpha)
    stop = np.where(worse.any(axis=1), check_days[worse.argmax(axis=1)], -1)
    last = np.where(stop >= 0, stop, horizon - 1)
    decided_by = g_made[None, :] <= last[:, None]
    extra = np.sum(canary * decided_by * (g1 - g0)[None, :], axis=1)
    exposed = np.sum(canary * decided_by, axis=1)
    return CanaryReplay(stop, extra, exposed, horizon)
