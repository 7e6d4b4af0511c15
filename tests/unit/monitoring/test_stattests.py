"""The two-sample statistics (workbench.monitoring.stattests) against scipy and hand-computed references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.monitoring import stattests


def hand_psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """PSI as its textbook formula, with evidently's floor for empty cells, one cell at a time."""
    shares = []
    for counts in (ref_counts, cur_counts):
        p = [c / sum(counts) for c in counts]
        smallest = min(x for x in p if x > 0)
        floor = smallest / 1e6 if smallest <= 0.0001 else 0.0001
        shares.append([x if x > 0 else floor for x in p])
    return sum((r - c) * np.log(r / c) for r, c in zip(*shares))


@pytest.mark.parametrize("n1, n2, seed", [(300, 200, 0), (5000, 800, 1), (20000, 3000, 2), (60000, 60000, 3)])
def test_ks_matches_scipy_exactly_on_continuous_data(n1: int, n2: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref, cur = rng.normal(size=n1), rng.normal(0.03, 1.1, size=n2)
    d, p = stattests.ks(ref, cur)
    expected = stats.ks_2samp(ref, cur)
    assert d == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_ks_handles_ties_and_missing_values_as_scipy_on_the_finite_values() -> None:
    rng = np.random.default_rng(4)
    ref = rng.integers(0, 12, 15000).astype(float)
    cur = rng.integers(0, 13, 4000).astype(float)
    cur[:50] = np.nan
    ref[:3] = np.inf
    d, p = stattests.ks(ref, cur)
    expected = stats.ks_2samp(ref[np.isfinite(ref)], cur[np.isfinite(cur)])
    assert d == pytest.approx(expected.statistic, abs=1e-12) and p == pytest.approx(expected.pvalue, rel=1e-9)


def test_ks_shortcut_stays_close_to_kstwo_and_is_exact_near_a_threshold() -> None:
    n = 200_000
    d = np.array([1.0, 1.6, 2.0, 3.0, 5.0]) / np.sqrt(n / 2)
    exact = stats.kstwo.sf(d, n / 2)
    fast = stattests.ks_pvalues(d, n, n, thresholds=())
    assert np.allclose(fast, exact, rtol=0.01), "the limit law is within 1% here"
    near = stattests.ks_pvalues(d, n, n, thresholds=(float(exact[2]) * 1.001,))
    assert near[2] == exact[2], "near a threshold the exact kstwo value is used"
    assert np.array_equal(stattests.ks_pvalues(d, n, n, None), np.clip(exact, 0, 1))


@pytest.mark.parametrize("integer, bias", [(False, 1.0), (True, 1.0), (False, 0.6), (True, 1.6)])
def test_exact_ks_gives_scipys_verdict_at_every_threshold_and_runs_scipy_only_near_them(
        integer: bool, bias: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shifted copies of one sample, in random order, put statistics on every lattice point around each threshold
    (integers: the first k values of a sample moved up by 3, for every k). Verdicts stay scipy's even when the
    approximation is made `bias` times too small or too large."""
    approximate = stattests.ks_pvalues
    monkeypatch.setattr(stattests, "ks_pvalues", lambda *a: np.clip(approximate(*a) * bias, 0, 1))
    rng = np.random.default_rng(7)
    n1, n2, thresholds = 4000, 500, (0.01 / 18, 0.01, 0.05)
    if integer:
        ref, base = rng.poisson(10, n1).astype(float), rng.poisson(10, n2).astype(float)
        samples = [np.sort(base + 3 * (np.arange(n2) < k)) for k in rng.permutation(n2)]
    else:
        ref, base = rng.normal(size=n1), rng.normal(size=n2)
        samples = [np.sort(base + s) for s in rng.permutation(np.linspace(0, 0.35, 600))]
    ref = np.sort(ref)
    exact_ks, calls, lattice = stattests.ExactKS(), [], set()
    for cur in samples:
        d = stattests.merged_stats(ref[None], cur[None], wasserstein=False)[0]
        expected = stats.ks_2samp(ref, cur)
        assert d[0] == pytest.approx(expected.statistic, abs=1e-12)
        p = exact_ks.pvalues(d, n1, n2, thresholds, lambda i, cur=cur: calls.append(i) or (ref, cur))[0]
        assert [p <= t for t in thresholds] == [expected.pvalue <= t for t in thresholds], (p, expected.pvalue)
        assert p == pytest.approx(expected.pvalue, rel=0.2 + abs(bias - 1), abs=1e-9), "away from a threshold: close"
        lattice.add(round(d[0] * 4000))
    assert len(calls) < len(lattice) / 3, f"scipy's exact law ran {len(calls)} times for {len(lattice)} statistics"
    everywhere = stattests.ExactKS().pvalues(d, n1, n2, None, lambda i: (ref, cur))
    assert everywhere[0] == expected.pvalue, "thresholds=None: scipy's exact value"


@pytest.mark.parametrize("seed", [0, 1])
def test_wasserstein_is_scipys_distance_over_the_reference_sd(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref, cur = rng.gamma(2.0, 3.0, 7000), rng.gamma(2.2, 3.0, 2500)
    assert stattests.wasserstein(ref, cur) == pytest.approx(
        stats.wasserstein_distance(ref, cur) / np.std(ref), rel=1e-10)
    const = np.full(100, 5.0)
    assert stattests.wasserstein(const, const + 1) == pytest.approx(1 / 0.001), "sd floored at 0.001"


def test_psi_of_a_continuous_column_uses_sturges_bins_over_both_samples() -> None:
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(size=4000), rng.normal(0.2, 1.0, size=1500)
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    expected = hand_psi(np.histogram(ref, edges)[0], np.histogram(cur, edges)[0])
    assert stattests.psi(ref, cur) == pytest.approx(expected, rel=1e-12)
    assert stattests.psi(ref, ref) == pytest.approx(0.0, abs=1e-15)


def test_psi_of_integer_columns_and_of_few_distinct_values() -> None:
    rng = np.random.default_rng(6)
    ref, cur = rng.integers(0, 40, 3000), rng.integers(0, 42, 1000)  # > 20 distinct: integer-width bins
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    assert stattests.psi(ref, cur) == pytest.approx(hand_psi(np.histogram(ref, edges)[0], np.histogram(cur, edges)[0]))
    few_ref, few_cur = rng.integers(0, 5, 3000).astype(float), rng.integers(0, 6, 1000).astype(float)
    keys = np.union1d(few_ref, few_cur)
    counts = [np.array([(x == k).sum() for k in keys]) for x in (few_ref, few_cur)]
    assert stattests.psi(few_ref, few_cur) == pytest.approx(hand_psi(*counts), rel=1e-12)


def test_psi_and_chi_square_of_categories_match_hand_and_scipy_computations() -> None:
    rng = np.random.default_rng(7)
    ref = pd.Series(rng.choice(list("abcd"), 5000, p=[0.4, 0.3, 0.2, 0.1]))
    cur = pd.Series(rng.choice(list("abcde"), 1200, p=[0.35, 0.3, 0.2, 0.1, 0.05]))
    keys = sorted(set(ref) | set(cur))
    r = np.array([(ref == k).sum() for k in keys], dtype=float)
    c = np.array([(cur == k).sum() for k in keys], dtype=float)
    assert stattests.psi(ref, cur, "categorical") == pytest.approx(hand_psi(r, c), rel=1e-12)
    assert stattests.chi_square(ref, cur) == 0.0, "a value the reference never had: infinite statistic"
    known = cur[cur != "e"]
    c = np.array([(known == k).sum() for k in keys[:4]], dtype=float)
    expected = stats.chisquare(c, r[:4] * c.sum() / r[:4].sum()).pvalue
    assert stattests.chi_square(ref, known) == pytest.approx(expected, rel=1e-9)
