"""The latency harness (workbench.serving.latency): what it times, and percentiles as numpy computes them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from workbench.serving import latency


class FakeClock:
    """A clock that advances by a known duration inside each timed call."""

    def __init__(self, durations: np.ndarray):
        self.now = 0.0
        self.durations = iter(durations)

    def __call__(self) -> float:
        return self.now

    def work(self, _x) -> None:
        self.now += next(self.durations)


def test_percentiles_of_timed_calls_equal_numpys_on_a_known_sample() -> None:
    rng = np.random.default_rng(0)
    known = rng.lognormal(mean=-9, sigma=0.7, size=1000)  # about 120 microseconds, with a long tail
    warmup = np.full(20, 1.0)  # warm-up calls are slow, and must not be counted
    clock = FakeClock(np.r_[warmup, known])
    seconds = latency.time_calls(clock.work, [None], calls=1000, warmup=20, clock=clock)
    np.testing.assert_allclose(seconds, known, rtol=1e-6)  # the clock adds them up: rounding only
    s = latency.summarise(seconds)
    for q in (50, 90, 99):
        assert s[f"p{q}_us"] == pytest.approx(np.percentile(known, q) * 1e6, rel=1e-6)
    assert s["mean_us"] == pytest.approx(known.mean() * 1e6) and s["max_us"] == pytest.approx(known.max() * 1e6)
    assert s["calls"] == 1000


def test_calls_cycle_through_the_inputs() -> None:
    seen = []
    latency.time_calls(seen.append, ["a", "b", "c"], calls=5, warmup=2)
    assert seen == ["a", "b", "a", "b", "c", "a", "b"]


def test_throughput_counts_rows_per_second_of_each_batch_size() -> None:
    # each call takes 1 ms plus 1 microsecond a row on the fake clock
    t = {"now": 0.0}
    sizes = []

    def fn(batch):
        sizes.append(len(batch))
        t["now"] += 1e-3 + 1e-6 * len(batch)

    out = latency.throughput(fn, np.zeros((7, 2)), [1, 100, 10_000], repeats=3, min_seconds=0.01,
                             clock=lambda: t["now"])
    expected = np.array([b / (1e-3 + 1e-6 * b) for b in (1, 100, 10_000)])
    np.testing.assert_allclose(out["rows_per_second"], expected, rtol=1e-9)
    np.testing.assert_allclose(out["us_per_row"], 1e6 / expected, rtol=1e-9)
    assert set(sizes) == {1, 100, 10_000}, "short inputs are repeated up to the batch size"
    assert list(itertools.islice(out["batch_size"], 3)) == [1, 100, 10_000]


def test_no_calls_or_no_durations_is_an_error() -> None:
    with pytest.raises(ValueError):
        latency.time_calls(print, [], calls=3)
    with pytest.raises(ValueError):
        latency.summarise(np.array([]))
