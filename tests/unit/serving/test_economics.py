"""The economics of batch, online and hybrid prediction (workbench.serving.economics), recomputed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.cases import Serving
from workbench.serving import economics
from workbench.serving.economics import Assumptions, Measured

SERVING = Serving(requests_per_day=86_400, entities=100_000, share_requested=0.2, latency_budget_ms=50,
                  valid_hours=12, cpu_hour_price=0.36)
MEASURED = Measured(batch_seconds_per_row=1e-5, online_seconds_per_request=5e-4, lookup_seconds_per_request=4e-4,
                    rate_within_budget=100.0)
PLAIN = Assumptions(peak_factor=2.0, min_cores=0.5, popularity=1.0)


def test_online_is_provisioned_for_the_peak_at_the_rate_one_core_serves_within_budget() -> None:
    c = economics.costs(SERVING, MEASURED, PLAIN, precomputed=0)
    # one request a second on average, two at the peak; a core serves 100 within budget: 0.02 cores,
    # below the floor of half a core, which costs 0.5 * 24 h * 0.36 a day, over 86.4 thousand requests
    assert c["cores"] == 0.5 and c["coverage"] == 0.0
    assert c["serving_per_1000"] == pytest.approx(0.5 * 24 * 0.36 / 86.4)
    busy = Serving(**{**SERVING.__dict__, "requests_per_day": 86_400 * 100})
    assert economics.costs(busy, MEASURED, PLAIN, precomputed=0)["cores"] == pytest.approx(2.0)


def test_batch_scores_every_entity_every_period_and_pays_lookups_and_staleness() -> None:
    c = economics.costs(SERVING, MEASURED, PLAIN, precomputed=SERVING.entities, stale_per_1000=7.0)
    job = 100_000 * 2 * 1e-5 / 3600 * 0.36  # two runs a day
    lookups = 86_400 * 4e-4 / 3600 * 0.36
    assert c["cores"] == 0 and c["coverage"] == 1.0
    assert c["job_per_day"] == pytest.approx(job) and c["lookups_per_day"] == pytest.approx(lookups)
    assert c["serving_per_1000"] == pytest.approx((job + lookups) / 86.4)
    assert c["total_per_1000"] == pytest.approx((job + lookups) / 86.4 + 7.0)


def test_zipf_coverage_matches_a_brute_force_sum() -> None:
    for a in (0.0, 0.8, 1.0, 1.5):
        w = np.arange(1, 20_001, dtype=float) ** -a
        assert economics.coverage(500, 20_000, a) == pytest.approx(w[:500].sum() / w.sum(), rel=1e-9)
    # beyond the exact part the integral is used: compare with a long exact sum
    w = np.arange(1, 400_001, dtype=float) ** -1.0
    assert economics.coverage(1000, 400_000, 1.0) == pytest.approx(w[:1000].sum() / w.sum(), rel=1e-6)
    assert economics.coverage(0, 10, 1) == 0 and economics.coverage(10, 10, 1) == 1


def test_hybrid_precomputes_the_popular_entities_and_serves_the_rest_online() -> None:
    k = 2000
    c = economics.costs(SERVING, MEASURED, PLAIN, precomputed=k, stale_per_1000=10.0)
    q = economics.coverage(k, 20_000, 1.0)
    assert c["coverage"] == pytest.approx(q)
    assert c["stale_per_1000"] == pytest.approx(10.0 * q)
    assert c["cores"] == 0.5, "the rest of the traffic still needs a service, at least its floor"
    expected = (k * 2 * 1e-5 / 3600 + q * 86_400 * 4e-4 / 3600 + 0.5 * 24) * 0.36 / 86.4
    assert c["serving_per_1000"] == pytest.approx(expected)


def test_compare_and_choose_take_the_cheapest_unless_a_simpler_option_cannot_be_told_apart() -> None:
    table = economics.compare(SERVING, MEASURED, PLAIN, stale_per_1000=(0.0, 0.0, 0.0))
    assert list(table.index) == ["online", "batch", "hybrid"]
    assert (table["total_lo"] <= table["total_per_1000"]).all() and (table["total_per_1000"] <= table["total_hi"]).all()
    choice, tied = economics.choose(table)
    assert choice == table["total_per_1000"].idxmin() == "batch" and tied == []
    # staleness that costs more than the service makes online the cheapest
    stale = economics.compare(SERVING, MEASURED, PLAIN, stale_per_1000=(5.0, 4.0, 6.0))
    assert economics.choose(stale) == ("online", [])
    # staleness that may cost nothing or a lot: batch and online cannot be told apart; online is simpler
    unsure = economics.compare(SERVING, MEASURED, PLAIN, stale_per_1000=(0.05, -1.0, 1.0))
    choice, tied = economics.choose(unsure)
    assert choice == "online" and "batch" in tied


def test_an_online_service_that_never_met_the_budget_is_not_an_option() -> None:
    slow = Measured(1e-5, 5e-4, 4e-4, rate_within_budget=None)
    table = economics.compare(SERVING, slow, PLAIN)
    assert not table.loc["online", "feasible"] and not table.loc["hybrid", "feasible"]
    assert economics.choose(table) == ("batch", [])


def test_a_hybrid_precomputes_at_most_the_entities_requested_again_and_again() -> None:
    # 86,400 requests in 12 hours = 43,200 a period over 20,000 requested entities
    per_period, m = 43_200, 20_000
    for a in (0.5, 1.0, 2.0):
        k = economics.popular_entities(SERVING, a)
        w = np.arange(1, m + 1, dtype=float) ** -a
        expected = per_period * w / w.sum()  # requests each rank expects in a period
        assert k == int(np.sum(expected >= 2)), a
    assert economics.popular_entities(SERVING, 0.0) == m, "2.16 requests each: all repeat"
    rare = Serving(**{**SERVING.__dict__, "requests_per_day": 30_000})
    assert economics.popular_entities(rare, 0.0) == 0, "0.75 requests each: nothing repeats"
    hardly = Serving(**{**SERVING.__dict__, "share_requested": 1e-6})
    assert economics.popular_entities(hardly, 1.0) == 0, "less than one entity requested"
    assert economics.compare(hardly, MEASURED, PLAIN).loc["hybrid", "precomputed"] == 0
    free = Assumptions(peak_factor=2.0, min_cores=0.0, popularity=1.0)
    table = economics.compare(SERVING, MEASURED, free)
    assert 0 < table.loc["hybrid", "precomputed"] <= economics.popular_entities(SERVING, 1.0)
    assert table.loc["hybrid", "coverage"] < 1 and table.loc["hybrid", "cores"] > 0
