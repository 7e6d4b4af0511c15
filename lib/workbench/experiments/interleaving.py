"""Interleaving vs an A/B split: how many sessions each needs to pick the better of two rankers.

Team-draft interleaving (Radlinski, Kurup and Joachims, 2008) shows one list built from both
rankers: the team with fewer picks so far (a coin decides ties) adds its best item not yet shown.
A click credits the team that contributed the item; a session prefers the ranker with more credited
clicks. Every user compares both rankers, so far fewer sessions settle the question than in an A/B
split, where each user sees one ranker and the arms' click totals are compared.

With a click model (e.g. workbench.experiments.clickmodel), the chance that one session prefers
each ranker is computed exactly by enumerating the coin flips and click patterns, and the sessions
needed for a 95% chance of naming the better ranker follow from a normal approximation of the
difference of wins (interleaving) or of clicks (A/B).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "ab_sessions_needed",
    "interleaving_sessions_needed",
    "prob_correct_ab",
    "prob_correct_interleaving",
    "session_preference",
    "team_draft",
    "team_draft_outcomes",
]


def _pick(ranking: Sequence[int], shown: list[int]) -> int | None:
    return next((item for item in ranking if item not in shown), None)


def team_draft(a: Sequence[int], b: Sequence[int], length: int, rng: np.random.Generator) -> tuple[list[int], list[str]]:
    """One team-draft interleaving of rankings a and b: the shown items and, for each, its team ('A' or 'B')."""
    shown: list[int] = []
    teams: list[str] = []
    while len(shown) < length:
        picks_a, picks_b = teams.count("A"), teams.count("B")
        a_turn = picks_a < picks_b or (picks_a == picks_b and rng.random() < 0.5)
        item = _pick(a if a_turn else b, shown)
        if item is None:  # that ranker ran out: the other one fills the slot
            a_turn = not a_turn
            item = _pick(a if a_turn else b, shown)
            if item is None:
                break
        shown.append(item)
        teams.append("A" if a_turn else "B")
    return shown, teams


def team_draft_outcomes(a: Sequence[int], b: Sequence[int], length: int) -> list[tuple[float, list[int], list[str]]]:
    """Every team-draft interleaving of a and b with its probability: (probability, shown items, teams)."""
    out: list[tuple[float, list[int], list[str]]] = []

    def grow(prob: float, shown: list[int], teams: list[str]) -> None:
        if len(shown) == length:
            out.append((prob, shown, teams))
            return
        picks_a, picks_b = teams.count("A"), teams.count("B")
        turns = [(True, 1.0)] if picks_a < picks_b else [(False, 1.0)] if picks_b < picks_a else [(True, 0.5), (False, 0.5)]
        for a_turn, p in turns:
            item, team = _pick(a if a_turn else b, shown), "A" if a_turn else "B"
            if item is None:
                item, team = _pick(b if a_turn else a, shown), "B" if a_turn else "A"
            if item is None:
                out.append((prob * p, shown, teams))
                continue
            grow(prob * p, [*shown, item], [*teams, team])

    grow(1.0, [], [])
    return out


def session_preference(a: Sequence[int], b: Sequence[int], click_prob: Callable[[list[int]], np.ndarray],
                       length: int) -> tuple[float, float]:
    """P(a session's credited clicks prefer A) and P(prefer B), clicks independent per slot.

    `click_prob(shown)` gives each shown item's click probability in its slot.
    """
    p_a = p_b = 0.0
    for prob, shown, teams in team_draft_outcomes(a, b, length):
        q = np.asarray(click_prob(shown), dtype=float)
        is_a = np.array([t == "A" for t in teams])
        for pattern in itertools.product((0, 1), repeat=len(shown)):
            c = np.array(pattern, dtype=bool)
            p = prob * float(np.prod(np.where(c, q, 1 - q)))
            wins_a, wins_b = int(np.sum(c & is_a)), int(np.sum(c & ~is_a))
            p_a += p if wins_a > wins_b else 0.0
            p_b += p if wins_b > wins_a else 0.0
    return p_a, p_b


def _z95(prob: float) -> float:
    from scipy.stats import norm

    if not 0.5 < prob < 1:
        raise ValueError(f"the target probability of naming the better ranker must lie in (0.5, 1), got {prob}")
    return float(norm.ppf(prob))


def interleaving_sessions_needed(p_better: float, p_worse: float, prob: float = 0.95) -> float:
    """Sessions for the better ranker to win more interleaved sessions than the worse with probability `prob`.

    Per session the difference of wins is +1, -1 or 0 with probabilities p_better, p_worse and the rest.
    """
    gap = p_better - p_worse
    if gap <= 0:
        return math.inf
    var = p_better + p_worse - gap**2
    return (_z95(prob) ** 2) * var / gap**2


def ab_sessions_needed(q_better: np.ndarray, q_worse: np.ndarray, prob: float = 0.95) -> float:
    """Sessions (both arms together, split evenly) for the better ranker's arm to get more clicks with probability `prob`.

    `q_better` and `q_worse` are the click probabilities of each ranker's shown items, slot by slot.
    """
    qb, qw = np.asarray(q_better, dtype=float), np.asarray(q_worse, dtype=float)
    gap = float(qb.sum() - qw.sum())
    if gap <= 0:
        return math.inf
    var = float(np.sum(qb * (1 - qb)) + np.sum(qw * (1 - qw)))
    return 2 * (_z95(prob) ** 2) * var / gap**2


def prob_correct_interleaving(p_better: float, p_worse: float, sessions: int, reps: int,
                              rng: np.random.Generator) -> float:
    """Simulated chance that the better ranker wins more of `sessions` interleaved sessions (ties: a coin)."""
    wins = rng.multinomial(sessions, [p_better, p_worse, max(0.0, 1 - p_better - p_worse)], size=reps)
    return float(np.mean(wins[:, 0] > wins[:, 1]) + 0.5 * np.mean(wins[:, 0] == wins[:, 1]))


def prob_correct_ab(q_better: np.ndarray, q_worse: np.ndarray, sessions: int, reps: int,
                    rng: np.random.Generator) -> float:
    """Simulated chance that the better ranker's arm (half of `sessions`) gets more clicks (ties: a coin)."""
    half = sessions // 2
    clicks_b = rng.binomial(half, np.asarray(q_better, dtype=float), size=(reps, len(q_better))).sum(axis=1)
    clicks_w = rng.binomial(half, np.asarray(q_worse, dtype=float), size=(reps, len(q_worse))).sum(axis=1)
    return float(np.mean(clicks_b > clicks_w) + 0.5 * np.mean(clicks_b == clicks_w))
