"""Perturbation robustness: how fast cost and decision stability degrade under measurement error and lost values.

`degradation` scores the same rows clean and perturbed at each level of a perturbation, and reports
the cost per 1,000 at the model's threshold, its paired difference to the clean rows (bootstrap over
rows) and the share of decisions that stay the same (Wilson interval). `with_noise` adds Gaussian
error to numeric features at a multiple of each one's spread; `with_missing` loses a share of every
feature's values as a serving pipeline might.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from workbench.evaluation import perturbations
from workbench.modelling.intervals import paired_cost_difference, proportion_interval
from workbench.modelling.metrics import cost_per_1000

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["degradation", "with_missing", "with_noise"]

Perturb = Callable[["pd.DataFrame", float, np.random.Generator], "pd.DataFrame"]


def with_noise(rows: pd.DataFrame, level: float, rng: np.random.Generator, spreads: Mapping[str, float]) -> pd.DataFrame:
    """rows with Gaussian error of standard deviation level x spread added to each numeric feature in spreads."""
    out = rows.copy()
    for col, spread in spreads.items():
        out[col] = perturbations.noise(out[col], level * spread, rng)
    return out


def with_missing(rows: pd.DataFrame, rate: float, rng: np.random.Generator, kinds: Mapping[str, str],
                 lengths: Mapping[str, str] | None = None) -> pd.DataFrame:
    """rows with a share `rate` of each feature's values lost (kinds: feature -> numeric, categorical or text);
    a lost text has length 0 in the numeric features that measure it (`lengths`)."""
    out = rows.copy()
    for col, kind in kinds.items():
        if col not in (lengths or {}):
            out[col] = perturbations.blank(out[col], rate, rng, kind=kind)
    return perturbations.recompute_lengths(out, dict(lengths or {}))


def degradation(score: Callable[[pd.DataFrame], np.ndarray], rows: pd.DataFrame, y: np.ndarray, threshold: float,
                perturb: Perturb, levels: list[float], cost_fp: float, cost_fn: float, *, seed: int = 0,
                n_boot: int = 2000, level: float = 0.9) -> pd.DataFrame:
    """Cost per 1,000 and decisions kept at each level of a perturbation, against the clean rows.

    Columns: level, cost_per_1000, cost_change (perturbed minus clean, per 1,000) with cost_change_lo
    and cost_change_hi (paired bootstrap over rows), unchanged (share of decisions kept) with
    unchanged_lo and unchanged_hi (Wilson).
    """
    import pandas as pd

    clean = np.asarray(score(rows)) >= threshold
    out = []
    for i, lv in enumerate(levels):
        noisy = np.asarray(score(perturb(rows, lv, np.random.default_rng(seed + 7919 * (i + 1))))) >= threshold
        d = paired_cost_difference(y, noisy, clean, cost_fp, cost_fn, n_boot=n_boot, level=level, seed=seed)
        kept = proportion_interval(int(np.sum(noisy == clean)), len(clean), level=level)
        out.append({"level": lv, "cost_per_1000": cost_per_1000(y, noisy, cost_fp, cost_fn),
                    "cost_change": d.value, "cost_change_lo": d.lo, "cost_change_hi": d.hi,
                    "unchanged": kept.value, "unchanged_lo": kept.lo, "unchanged_hi": kept.hi})
    return pd.DataFrame(out)
