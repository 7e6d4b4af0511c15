"""Team-draft interleaving and the sessions each design needs (workbench.experiments.interleaving)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from workbench.experiments import interleaving as il

EXAM = np.array([0.8, 0.5, 0.3])


def test_team_draft_shows_each_item_once_and_keeps_the_teams_balanced() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        a, b = list(rng.permutation(8)[:4]), list(rng.permutation(8)[:4])
        shown, teams = il.team_draft(a, b, 3, rng)
        assert len(shown) == len(set(shown)) == 3 and set(shown) <= set(a) | set(b)
        assert abs(teams.count("A") - teams.count("B")) <= 1
        for item, team in zip(shown, teams):
            assert item in (a if team == "A" else b)


def test_the_enumerated_interleavings_are_what_team_draft_produces_and_how_often() -> None:
    a, b = [0, 1, 2], [2, 3, 0]
    outcomes = il.team_draft_outcomes(a, b, 3)
    assert sum(p for p, _, _ in outcomes) == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    counts = Counter()
    for _ in range(20_000):
        shown, teams = il.team_draft(a, b, 3, rng)
        counts[(tuple(shown), tuple(teams))] += 1
    expected = Counter()
    for p, shown, teams in outcomes:
        expected[(tuple(shown), tuple(teams))] += p
    assert set(counts) == set(expected)
    for key, p in expected.items():
        assert counts[key] / 20_000 == pytest.approx(p, abs=0.015)


def test_exact_session_preferences_match_simulated_sessions() -> None:
    attract = np.array([0.5, 0.4, 0.3, 0.2, 0.1])
    better, worse = [0, 1, 2], [3, 1, 4]

    def q(shown):
        return attract[np.array(shown)] * EXAM[: len(shown)]

    p_b, p_w = il.session_preference(better, worse, q, 3)
    rng = np.random.default_rng(2)
    wins = Counter()
    for _ in range(40_000):
        shown, teams = il.team_draft(better, worse, 3, rng)
        clicks = rng.random(3) < q(shown)
        credit = Counter(t for t, c in zip(teams, clicks) if c)
        wins["A" if credit["A"] > credit["B"] else "B" if credit["B"] > credit["A"] else "tie"] += 1
    assert wins["A"] / 40_000 == pytest.approx(p_b, abs=0.01)
    assert wins["B"] / 40_000 == pytest.approx(p_w, abs=0.01)
    assert p_b > p_w, "the better ranker wins more interleaved sessions"


def test_interleaving_names_the_known_better_ranker_with_the_promised_probability() -> None:
    attract = np.array([0.3, 0.25, 0.2, 0.15, 0.1, 0.05])
    better, worse = [0, 1, 2], [3, 4, 5]

    def q(shown):
        return attract[np.array(shown)] * EXAM[: len(shown)]

    p_b, p_w = il.session_preference(better, worse, q, 3)
    n = int(np.ceil(il.interleaving_sessions_needed(p_b, p_w)))
    rng = np.random.default_rng(3)
    correct = 0
    for _ in range(400):  # whole experiments of n real team-draft sessions
        score = 0
        for _ in range(n):
            shown, teams = il.team_draft(better, worse, 3, rng)
            clicks = rng.random(3) < q(shown)
            score += np.sign(sum((1 if t == "A" else -1) for t, c in zip(teams, clicks) if c))
        correct += score > 0 or (score == 0 and rng.random() < 0.5)
    assert 0.9 <= correct / 400 <= 0.99, correct / 400
    assert il.prob_correct_interleaving(p_b, p_w, n, 20_000, rng) == pytest.approx(0.95, abs=0.02)


def test_an_ab_split_needs_the_sessions_its_simulation_confirms() -> None:
    qb, qw = np.array([0.05, 0.03, 0.02]), np.array([0.04, 0.03, 0.015])
    n = il.ab_sessions_needed(qb, qw)
    assert il.prob_correct_ab(qb, qw, int(n), 20_000, np.random.default_rng(4)) == pytest.approx(0.95, abs=0.02)
    assert il.ab_sessions_needed(qw, qb) == float("inf"), "no number of sessions makes the worse ranker win"
