"""Who bears the errors: decision metrics per group of a sensitive attribute, with intervals, and disparities.

Group values come from fairlearn's MetricFrame (`fairlearn_adapter.metric_frame`); intervals from
the workbench's bootstrap of confusion counts, drawn within each group (a group's rows are
resampled, its size kept). A group with fewer than `min_rows` rows is marked small: it is shown, but
it is left out of every disparity and ranking, because its rates are mostly noise.

A *disparity* is the largest difference between groups in the rates a criterion equalises
(the spread, max - min, over groups that are not small); for two rates (equalized odds), the
larger of the two spreads, as fairlearn's `equalized_odds_difference`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from workbench.evaluation.slices import ALL, bootstrap_confusion
from workbench.fairness.fairlearn_adapter import metric_frame
from workbench.modelling.intervals import Interval, mean_interval, proportion_interval
from workbench.modelling.metrics import confusion, cost_from_counts

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ALL", "CRITERIA", "RATES", "SMALL", "chance_disparity", "criterion_rates", "disparity",
           "disparity_interval", "group_table", "impossibility", "pool_small", "rates_from_counts"]

CRITERIA = ("demographic_parity", "equal_opportunity", "equalized_odds")
RATES = ("selection_rate", "tpr", "fpr", "precision")  # what the count-based metrics are called
SMALL = "(small groups)"  # the group small groups are pooled into


def criterion_rates(criterion: str, favourable_is_positive: bool = True) -> tuple[str, ...]:
    """The rates a criterion equalises across groups.

    Demographic parity: the selection rate. Equalized odds: the true and false positive rates.
    Equal opportunity: the rate of the favourable decision among those who merit it, which is the
    true positive rate when the favourable outcome is the positive class, else the true negative
    rate, whose spread is that of the false positive rate.
    """
    if criterion == "demographic_parity":
        return ("selection_rate",)
    if criterion == "equalized_odds":
        return ("tpr", "fpr")
    if criterion == "equal_opportunity":
        return ("tpr",) if favourable_is_positive else ("fpr",)
    raise ValueError(f"criterion {criterion!r} is not one of {', '.join(CRITERIA)}")


def rates_from_counts(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Selection rate, TPR, FPR, precision and base rate from counts (..., 4) = (tn, fp, fn, tp); NaN where undefined."""
    tn, fp, fn, tp = np.moveaxis(np.asarray(counts, dtype=float), -1, 0)
    n = tn + fp + fn + tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"selection_rate": (tp + fp) / n, "tpr": tp / (tp + fn), "fpr": fp / (fp + tn),
                "precision": tp / (tp + fp), "base_rate": (tp + fn) / n}


def _cells(y: np.ndarray, p: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Confusion counts (tn, fp, fn, tp) of weighted (label, decision) cells."""
    y, p = np.asarray(y).astype(bool), np.asarray(p).astype(bool)
    return np.array([weight[~y & ~p].sum(), weight[~y & p].sum(), weight[y & ~p].sum(), weight[y & p].sum()])


def _metrics(cost_fp: float, cost_fn: float) -> dict:
    """Count-based metric functions in the form `fairlearn_adapter.metric_frame` calls them."""

    def rate(name: str):
        def f(y, p, weight, score_sum):
            return float(rates_from_counts(_cells(y, p, weight))[name])
        f.__name__ = name
        return f

    def cost_per_1000(y, p, weight, score_sum):
        tn, fp, fn, tp = _cells(y, p, weight)
        return float(cost_from_counts(fp, fn, tn + fp + fn + tp, cost_fp, cost_fn))

    def calibration_gap(y, p, weight, score_sum):
        return float((np.sum(score_sum) - np.sum(weight * y)) / np.sum(weight))

    return {**{name: rate(name) for name in ("base_rate", *RATES)},
            "calibration_gap": calibration_gap, "cost_per_1000": cost_per_1000}


def pool_small(groups: np.ndarray, min_rows: int, reference: np.ndarray | None = None) -> np.ndarray:
    """Groups as strings, those with fewer than min_rows rows in `reference` (default: groups) pooled into SMALL."""
    g = np.asarray(groups).astype(str)
    ref = g if reference is None else np.asarray(reference).astype(str)
    names, counts = np.unique(ref, return_counts=True)
    big = set(names[counts >= min_rows])
    return np.where(np.isin(g, list(big)), g, SMALL)


def _interval_columns(y: np.ndarray, pred: np.ndarray, cost_fp: float, cost_fn: float, n_boot: int,
                      level: float, seed: int) -> dict[str, float]:
    boot = bootstrap_confusion(y, pred, n_boot, seed)
    values = {**rates_from_counts(boot), "cost_per_1000": cost_from_counts(boot[:, 1], boot[:, 2], len(y),
                                                                          cost_fp, cost_fn)}
    out = {}
    tail = (1 - level) / 2
    for name in (*RATES, "cost_per_1000"):
        v = values[name][np.isfinite(values[name])]
        lo, hi = np.quantile(v, [tail, 1 - tail]) if v.size else (np.nan, np.nan)
        out[f"{name}_lo"], out[f"{name}_hi"] = float(lo), float(hi)
    return out


def group_table(y: np.ndarray, pred: np.ndarray, score: np.ndarray, groups: np.ndarray, cost_fp: float,
                cost_fn: float, *, min_rows: int = 100, n_boot: int = 1000, level: float = 0.9,
                seed: int = 0) -> pd.DataFrame:
    """Per group (first row: all rows): rows, positives, whether small, the base rate, selection rate,
    TPR, FPR, precision, calibration gap (mean score minus base rate) and cost per 1,000, each with a
    `level` interval.

    Rates and costs: percentile bootstrap of the group's confusion counts; base rate: Wilson;
    calibration gap: percentile bootstrap of the mean of score - label over the group's rows
    (drawn from those differences rounded to 0.01). Values come from fairlearn's MetricFrame.
    """
    import pandas as pd

    y = np.asarray(y).astype(int)
    pred = np.asarray(pred).astype(int)
    score = np.asarray(score, dtype=float)
    g = np.asarray(groups).astype(str)
    if not len(y) == len(pred) == len(score) == len(g):
        raise ValueError(f"y ({len(y)}), pred ({len(pred)}), score ({len(score)}) and groups ({len(g)}) "
                         "must have one entry per row")
    by_group, overall = metric_frame(_metrics(cost_fp, cost_fn), y, pred, score, g)
    rows = []
    for j, name in enumerate([ALL, *sorted(set(g))]):
        mask = np.ones(len(y), bool) if name == ALL else g == name
        yy, pp, ss = y[mask], pred[mask], score[mask]
        values = overall if name == ALL else by_group.loc[name]
        row = {"group": name, "rows": int(mask.sum()), "positives": int(yy.sum()),
               "small": bool(name != ALL and mask.sum() < min_rows)}
        base = proportion_interval(int(yy.sum()), len(yy), level=level)
        row.update(base_rate=float(values["base_rate"]), base_rate_lo=base.lo, base_rate_hi=base.hi)
        bounds = _interval_columns(yy, pp, cost_fp, cost_fn, n_boot, level, seed + j)
        for metric in (*RATES, "calibration_gap", "cost_per_1000"):
            row[metric] = float(values[metric])
            if metric == "calibration_gap":
                # drawn from the distinct values of score - label rounded to 0.01 (fast at any size), then
                # shifted by the rounding's effect on the mean
                d = ss - yy
                gap = mean_interval(np.round(d, 2), n_boot=n_boot, level=level, seed=seed + j)
                shift = d.mean() - gap.value
                row["calibration_gap_lo"], row["calibration_gap_hi"] = gap.lo + shift, gap.hi + shift
            else:
                row[f"{metric}_lo"], row[f"{metric}_hi"] = bounds[f"{metric}_lo"], bounds[f"{metric}_hi"]
        rows.append(row)
    return pd.DataFrame(rows)


def _group_counts(y: np.ndarray, pred: np.ndarray, groups: np.ndarray, min_rows: int) -> dict[str, np.ndarray]:
    """Confusion counts of each group with at least min_rows rows."""
    g = np.asarray(groups).astype(str)
    y, pred = np.asarray(y), np.asarray(pred)
    names, sizes = np.unique(g, return_counts=True)
    return {n: np.array(confusion(y[g == n], pred[g == n])) for n, s in zip(names, sizes) if s >= min_rows}


def _spread(rates: dict[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    """max - min over groups (axis 0) of each rate, ignoring undefined values; the largest over rates."""
    out = None
    for name in names:
        r = rates[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a rate no group defines: NaN
            s = np.nanmax(r, axis=0) - np.nanmin(r, axis=0)
        out = s if out is None else np.fmax(out, s)
    return np.asarray(out, dtype=float)


def disparity(y: np.ndarray, pred: np.ndarray, groups: np.ndarray, rates: tuple[str, ...], *,
              min_rows: int = 100) -> float:
    """The criterion's disparity: the largest spread (max - min) across groups of at least min_rows rows
    of each of `rates`; NaN when fewer than two groups qualify."""
    counts = _group_counts(y, pred, groups, min_rows)
    if len(counts) < 2:
        return float("nan")
    return float(_spread(rates_from_counts(np.array(list(counts.values()))), rates))


def disparity_interval(y: np.ndarray, pred: np.ndarray, groups: np.ndarray, rates: tuple[str, ...], *,
                       min_rows: int = 100, n_boot: int = 1000, level: float = 0.9, seed: int = 0) -> Interval:
    """The disparity with a bias-corrected percentile bootstrap interval, resampling rows within each group.

    A spread (max - min) of noisy rates is biased upward: resampled spreads mostly exceed the
    observed one, so a plain percentile interval can lie above the value itself. The bias-corrected
    percentile interval (Efron) moves the percentiles by how far the observed value sits below the
    middle of the resampled ones. When groups differ by no more than noise the spread sits at its
    boundary (0) and even that interval can miss the observed value; it is then extended to it.
    """
    from scipy.stats import norm

    counts = _group_counts(y, pred, groups, min_rows)
    value = disparity(y, pred, groups, rates, min_rows=min_rows)
    if len(counts) < 2:
        return Interval(value, float("nan"), float("nan"), level, "fewer than two groups large enough")
    rng = np.random.default_rng(seed)
    draws = np.stack([rng.multinomial(int(c.sum()), c / c.sum(), size=n_boot) for c in counts.values()])
    reps = _spread(rates_from_counts(draws), rates)
    reps = reps[np.isfinite(reps)]
    below = (np.sum(reps < value) + 0.5 * np.sum(reps == value)) / len(reps)
    z0 = float(norm.ppf(np.clip(below, 1 / (len(reps) + 1), len(reps) / (len(reps) + 1))))
    z = float(norm.ppf((1 + level) / 2))
    lo, hi = np.quantile(reps, [norm.cdf(2 * z0 - z), norm.cdf(2 * z0 + z)])
    method = f"bias-corrected percentile bootstrap within {len(counts)} groups, {n_boot} resamples"
    if not lo <= value <= hi:  # groups differ by no more than noise: the spread sits at its boundary
        lo, hi = min(lo, value), max(hi, value)
        method += ", extended to the observed value"
    return Interval(value, float(lo), float(hi), level, method)


def chance_disparity(y: np.ndarray, pred: np.ndarray, groups: np.ndarray, rates: tuple[str, ...], *,
                     min_rows: int = 100, n_perm: int = 200, level: float = 0.9, seed: int = 0) -> float:
    """The disparity that groups of these sizes show by chance alone: the `level` quantile of the
    disparity when the group labels are shuffled across rows (sizes kept, no real difference left)."""
    g = np.asarray(groups).astype(str)
    names, sizes = np.unique(g, return_counts=True)
    keep = np.isin(g, names[sizes >= min_rows])
    if (sizes >= min_rows).sum() < 2:
        return float("nan")
    gi = np.unique(g[keep], return_inverse=True)[1]
    cell = 2 * np.asarray(y)[keep].astype(int) + np.asarray(pred)[keep].astype(int)  # 0 tn, 1 fp, 2 fn, 3 tp
    k = int(gi.max()) + 1
    rng = np.random.default_rng(seed)
    reps = np.empty(n_perm)
    for i in range(n_perm):
        counts = np.bincount(rng.permutation(gi) * 4 + cell, minlength=4 * k).reshape(k, 4)
        reps[i] = _spread(rates_from_counts(counts), rates)
    reps = reps[np.isfinite(reps)]
    return float(np.quantile(reps, level)) if reps.size else float("nan")


def impossibility(table: pd.DataFrame) -> pd.DataFrame:
    """Why the criteria conflict when base rates differ, in a group table's numbers (groups not small).

    For every classifier, FPR = p / (1 - p) x (1 - PPV) / PPV x TPR in each group (p: base rate,
    PPV: precision); so if precision and TPR were equal in every group (here: at their overall
    values), the FPRs would differ as the odds p / (1 - p) do. And a perfect classifier (equal error
    rates, calibrated) selects exactly the base rate, so demographic parity holds only if base rates
    are equal.
    """
    overall = table[table["group"] == ALL].iloc[0]
    t = table[(table["group"] != ALL) & ~table["small"]].copy()
    odds = t["base_rate"] / (1 - t["base_rate"])
    t["odds"] = odds
    t["fpr_from_identity"] = odds * (1 - t["precision"]) / t["precision"] * t["tpr"]
    ppv, tpr = overall["precision"], overall["tpr"]
    t["fpr_if_equal_ppv_and_tpr"] = odds * (1 - ppv) / ppv * tpr
    t["selection_if_perfect"] = t["base_rate"]
    return t[["group", "rows", "base_rate", "odds", "precision", "tpr", "fpr", "fpr_from_identity",
              "fpr_if_equal_ppv_and_tpr", "selection_if_perfect"]].reset_index(drop=True)
