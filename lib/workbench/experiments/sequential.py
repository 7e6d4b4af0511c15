"""Looking at an A/B test more than once: z statistics at each look, and stopping rules that keep their error rate.

- naive peeking: stop at the first look where the two-sided p-value is below alpha (its
  false-positive rate grows with the number of looks);
- a group-sequential design: boundaries from an alpha-spending function (Lan and DeMets), found by
  numerical integration of the z statistic's path (Armitage, McPherson and Rowe's recursion);
- an always-valid test: the mixture sequential probability ratio test (mSPRT, Johari et al.) with
  a normal mixing distribution, whose p-value may be read after every observation.

Statistics are arrays with one column per look (and one row per replayed experiment).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "SPENDING",
    "aa_replay_counts",
    "first_crossing",
    "msprt_p_values",
    "simulate_counts",
    "spending_boundaries",
    "spent_alpha",
    "stopping_looks",
    "two_proportion_z",
]

SPENDING = ("obrien_fleming", "pocock")


def spent_alpha(fractions: np.ndarray, alpha: float, spending: str = "obrien_fleming") -> np.ndarray:
    """Cumulative two-sided alpha spent by each information fraction (Lan-DeMets spending functions)."""
    from scipy.stats import norm

    t = np.asarray(fractions, dtype=float)
    if spending == "obrien_fleming":
        return 2 * (1 - norm.cdf(norm.ppf(1 - alpha / 2) / np.sqrt(t)))
    if spending == "pocock":
        return alpha * np.log(1 + (math.e - 1) * t)
    raise ValueError(f"unknown spending function {spending!r} (expected one of {', '.join(SPENDING)})")


def spending_boundaries(fractions: np.ndarray, alpha: float = 0.05, spending: str = "obrien_fleming",
                        step: float = 0.005) -> np.ndarray:
    """Two-sided z boundaries at each look whose crossing probability under no effect sums to alpha.

    Works on the path B(t) = Z(t) sqrt(t), a Brownian motion in the information fraction t: the
    density of B among paths not yet stopped is carried from look to look on a grid of width `step`.
    """
    from scipy.optimize import brentq
    from scipy.stats import norm

    t = np.asarray(fractions, dtype=float)
    if t.ndim != 1 or not len(t) or t[0] <= 0 or t[-1] > 1 + 1e-12 or np.any(np.diff(t) <= 0):
        raise ValueError(f"fractions must increase within (0, 1], got {t}")
    spent = spent_alpha(t, alpha, spending)
    grid = np.arange(-8.0, 8.0 + step / 2, step)  # B(t) has sd sqrt(t) <= 1: nothing lives beyond 8
    bounds = np.empty(len(t))
    bounds[0] = norm.ppf(1 - spent[0] / 2)
    density = np.where(np.abs(grid) < bounds[0] * math.sqrt(t[0]), norm.pdf(grid / math.sqrt(t[0])) / math.sqrt(t[0]), 0.0)
    for k in range(1, len(t)):
        sd = math.sqrt(t[k] - t[k - 1])
        mass = density * step
        target = spent[k] - spent[k - 1]
        edge = math.sqrt(t[k])

        def exit_prob(c: float, mass: np.ndarray = mass, sd: float = sd, edge: float = edge) -> float:
            return float(mass @ (norm.cdf((-c * edge - grid) / sd) + norm.sf((c * edge - grid) / sd)))

        if target <= 0 or exit_prob(12.0) >= target:
            bounds[k] = 12.0 if target <= 0 else bounds[k - 1]
        else:
            bounds[k] = brentq(lambda c, target=target: exit_prob(c) - target, 1e-6, 12.0, xtol=1e-7)
        # carry the density of the paths still running to the next look: a convolution with N(0, sd^2)
        offsets = np.arange(-math.ceil(8 * sd / step), math.ceil(8 * sd / step) + 1) * step
        moved = np.convolve(mass, norm.pdf(offsets / sd) / sd, mode="same")
        density = np.where(np.abs(grid) < bounds[k] * edge, moved, 0.0)
    return bounds


def two_proportion_z(x_a: np.ndarray, n_a: np.ndarray, x_b: np.ndarray, n_b: np.ndarray) -> np.ndarray:
    """Pooled two-proportion z statistics of B minus A (0 where undefined: no users, or no variation yet)."""
    x_a, n_a, x_b, n_b = (np.asarray(v, dtype=float) for v in (x_a, n_a, x_b, n_b))
    pooled = np.divide(x_a + x_b, n_a + n_b, out=np.zeros(np.broadcast(x_a, n_a).shape), where=(n_a + n_b) > 0)
    var = pooled * (1 - pooled) * (np.divide(1, n_a, out=np.zeros_like(pooled), where=n_a > 0)
                                   + np.divide(1, n_b, out=np.zeros_like(pooled), where=n_b > 0))
    ok = (var > 0) & (n_a > 0) & (n_b > 0)
    diff = np.divide(x_b, n_b, out=np.zeros_like(pooled), where=n_b > 0) - np.divide(x_a, n_a, out=np.zeros_like(pooled),
                                                                                       where=n_a > 0)
    return np.divide(diff, np.sqrt(var), out=np.zeros_like(pooled), where=ok)


def msprt_p_values(z: np.ndarray, variance: np.ndarray, tau2: float) -> np.ndarray:
    """Always-valid p-values of the mSPRT with mixing distribution N(0, tau2), one per look.

    `z` is the estimate over its standard error at each look and `variance` the estimate's variance
    (so that information = 1 / variance). The mixture likelihood ratio is
    (1 + tau2 / variance) ** -0.5 * exp(z**2 / 2 * tau2 / (variance + tau2)); the p-value is the
    running minimum of its reciprocal, so it never rises.
    """
    if tau2 <= 0:
        raise ValueError(f"tau2 (the mixing variance) must be positive, got {tau2}")
    z = np.asarray(z, dtype=float)
    v = np.broadcast_to(np.asarray(variance, dtype=float), z.shape)
    r = np.divide(tau2, v, out=np.zeros(z.shape), where=v > 0)
    log_lr = -0.5 * np.log1p(r) + 0.5 * z**2 * r / (1 + r)
    p = np.minimum(1.0, np.exp(-log_lr))
    return np.minimum.accumulate(p, axis=-1)


def first_crossing(stop: np.ndarray) -> np.ndarray:
    """Index of the first look where `stop` is true along the last axis (-1 where it never is)."""
    stop = np.asarray(stop, dtype=bool)
    return np.where(stop.any(axis=-1), stop.argmax(axis=-1), -1)


def stopping_looks(x_a: np.ndarray, n_a: np.ndarray, x_b: np.ndarray, n_b: np.ndarray, *, alpha: float = 0.05,
                   boundaries: np.ndarray | None = None, tau2: float | None = None) -> dict[str, np.ndarray]:
    """The look at which each rule stops each replayed experiment (-1: ran to the end without a result).

    Rules: `fixed` (one test at the last look), `peeking` (p < alpha at any look), `group_sequential`
    (|z| beyond `boundaries`, when given) and `msprt` (always-valid p <= alpha, when tau2 is given).
    Inputs are cumulative counts per look: arrays of shape (experiments, looks).
    """
    from scipy.stats import norm

    z = two_proportion_z(x_a, n_a, x_b, n_b)
    crit = norm.ppf(1 - alpha / 2)
    out = {
        "fixed": np.where(np.abs(z[..., -1]) >= crit, z.shape[-1] - 1, -1),
        "peeking": first_crossing(np.abs(z) >= crit),
    }
    if boundaries is not None:
        out["group_sequential"] = first_crossing(np.abs(z) >= np.asarray(boundaries))
    if tau2 is not None:
        x_a, n_a, x_b, n_b = (np.asarray(v, dtype=float) for v in (x_a, n_a, x_b, n_b))
        pooled = np.divide(x_a + x_b, n_a + n_b, out=np.zeros(z.shape), where=(n_a + n_b) > 0)
        variance = pooled * (1 - pooled) * (np.divide(1, n_a, out=np.zeros(z.shape), where=n_a > 0)
                                            + np.divide(1, n_b, out=np.zeros(z.shape), where=n_b > 0))
        out["msprt"] = first_crossing(msprt_p_values(z, variance, tau2) <= alpha)
    return out


def simulate_counts(p_a: float, p_b: float, n_per_arm: int, fractions: np.ndarray, reps: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Cumulative (x_a, n_a, x_b, n_b) at each look of `reps` simulated experiments with true rates p_a and p_b.

    The users between two looks are binomial draws, so a look costs the same at any sample size.
    """
    sizes = np.diff(np.r_[0, np.round(np.asarray(fractions) * n_per_arm)]).astype(np.int64)
    n = np.broadcast_to(np.cumsum(sizes), (reps, len(sizes)))
    x_a = np.cumsum(rng.binomial(sizes, p_a, size=(reps, len(sizes))), axis=1)
    x_b = np.cumsum(rng.binomial(sizes, p_b, size=(reps, len(sizes))), axis=1)
    return x_a, n, x_b, n


def aa_replay_counts(outcome: np.ndarray, looks: int, reps: int,
                     rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A/A tests replayed on a real stream of 0/1 outcomes (in time order): each row joins A or B by a coin flip.

    Returns cumulative (x_a, n_a, x_b, n_b) at `looks` equally spaced looks, one row per replay.
    Between two looks, how many of the rows with outcome 1 and with outcome 0 land in B are two
    binomial draws: the same distribution as a coin per row, at a fraction of the cost.
    """
    y = np.asarray(outcome).astype(bool)
    if y.ndim != 1 or len(y) < looks:
        raise ValueError(f"need a 1-d stream of at least {looks} outcomes, got shape {y.shape}")
    edges = np.linspace(0, len(y), looks + 1).astype(int)
    ones = np.add.reduceat(y.astype(np.int64), edges[:-1])
    rows = np.diff(edges)
    ones_b = rng.binomial(ones, 0.5, size=(reps, looks))
    zeros_b = rng.binomial(rows - ones, 0.5, size=(reps, looks))
    x_b, n_b = np.cumsum(ones_b, axis=1), np.cumsum(ones_b + zeros_b, axis=1)
    x_all, n_all = np.cumsum(ones), np.cumsum(rows)
    return x_all - x_b, n_all - n_b, x_b, n_b
