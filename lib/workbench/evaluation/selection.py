"""Model selection with confidence: candidates chosen on validation rows, judged on test rows.

The candidates, simplest first: logistic regression, LightGBM, the average of their probabilities,
and (optionally) a stacked model, a logistic regression on the two models' out-of-fold scores.
Each decides at its own cost-optimal threshold, found on validation scores. `choose` picks the
cheapest candidate on validation rows, unless a simpler one is not distinguishable from it (the
paired bootstrap interval of their cost difference includes zero): then the simplest of those.
`judge` reports every candidate's test cost and its paired difference to the chosen one; test rows
never choose.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.modelling import boosting
from workbench.modelling.baselines import logistic_pipeline
from workbench.modelling.intervals import paired_cost_difference
from workbench.modelling.metrics import best_threshold, cost_per_1000

if TYPE_CHECKING:
    import pandas as pd

    from workbench.cases import Case

__all__ = ["CANDIDATES", "Candidates", "assemble", "choose", "components", "fit_candidates", "judge"]

CANDIDATES = ("logistic", "lightgbm", "average", "stacked")  # in order of complexity
COMPONENTS = {"logistic": ("logistic",), "lightgbm": ("lightgbm",), "average": ("logistic", "lightgbm"),
              "stacked": ("logistic", "lightgbm")}


class _Remembered:
    """A fitted model that remembers the scores of the last frames it scored (by identity: a frame must not
    be changed in place between calls), so that candidates sharing a base model score each frame once."""

    def __init__(self, model: Any, size: int = 32) -> None:
        self.model, self.size = model, size
        self._seen: dict[int, tuple[Any, np.ndarray]] = {}

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        hit = self._seen.get(id(rows))
        if hit is not None and hit[0] is rows:
            return hit[1]
        out = self.model.predict_proba(rows)
        self._seen[id(rows)] = (rows, out)  # holding the frame keeps its id from being reused
        if len(self._seen) > self.size:
            self._seen.pop(next(iter(self._seen)))
        return out


@dataclass
class Candidates:
    """Fitted candidates that score rows together: each base model scores a frame once, and the average
    and the stacked model are computed from those scores."""

    names: tuple[str, ...]
    base: dict[str, Any]  # fitted base models (logistic, lightgbm); `.model` is the pipeline
    descriptions: dict[str, str]
    fit_seconds: dict[str, float]
    meta: Any = None  # the stacked model's logistic regression on the base models' logits

    def scores(self, rows: pd.DataFrame, names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """P(positive class) of every row under every candidate (or the named ones), by candidate name."""
        names = self.names if names is None else names
        b = {k: self.base[k].predict_proba(rows)[:, 1] for k in components(names)}
        out = {}
        for name in names:
            if name in ("logistic", "lightgbm"):
                out[name] = b[name]
            elif name == "average":
                out[name] = (b["logistic"] + b["lightgbm"]) / 2
            else:
                out[name] = self.meta.predict_proba(_logit(np.column_stack([b["logistic"], b["lightgbm"]])))[:, 1]
        return out

    def scorer(self, name: str) -> Callable[[pd.DataFrame], np.ndarray]:
        """A function scoring rows with one candidate."""
        if name not in self.names:
            raise ValueError(f"unknown candidate {name!r} (fitted: {', '.join(self.names)})")
        return lambda rows: self.scores(rows, (name,))[name]


def assemble(names: tuple[str, ...], base: Mapping[str, Any], descriptions: Mapping[str, str]) -> Candidates:
    """Candidates built from base models fitted elsewhere (e.g. each with its own fixes); no stacked model."""
    if "stacked" in names:
        raise ValueError("a stacked model is fitted on its base models' out-of-fold scores: use fit_candidates")
    missing = [k for k in components(names) if k not in base]
    if missing:
        raise ValueError(f"candidates {names} need fitted base models {missing}")
    descriptions = {**descriptions, "average": descriptions.get("average", "mean of the logistic and LightGBM probabilities")}
    return Candidates(tuple(names), dict(base), {n: descriptions[n] for n in names}, {})


def components(names: tuple[str, ...] | list[str]) -> list[str]:
    """The base models (logistic, lightgbm) that the named candidates need, in that order."""
    unknown = sorted(set(names) - set(CANDIDATES))
    if unknown:
        raise ValueError(f"unknown candidates {unknown} (expected some of: {', '.join(CANDIDATES)})")
    need = {c for n in names for c in COMPONENTS[n]}
    return [c for c in ("logistic", "lightgbm") if c in need]


def _fit_base(case: Case, kind: str, X: pd.DataFrame, y: np.ndarray, *, seed: int, lgbm_trees: int,
              columns: list[str] | None, monotone: Mapping[str, int] | None) -> Any:
    if kind == "logistic":
        return logistic_pipeline(case, columns=columns, solver="liblinear").fit(X, y)
    pipe = boosting.pipeline(case, columns=columns, seed=seed, n_estimators=lgbm_trees)
    return boosting.fit_pipeline(pipe, X, y, monotone=monotone)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_candidates(case: Case, X: pd.DataFrame, y: np.ndarray, *, which: tuple[str, ...] = CANDIDATES[:3],
                   seed: int = 0, lgbm_trees: int = 100, columns: list[str] | None = None,
                   monotone: Mapping[str, int] | None = None, stack_folds: int = 3) -> Candidates:
    """Fit the named candidates on (X, y): `columns` restricts the features, `monotone` constrains LightGBM
    (numeric feature -> +1 / -1); the average and the stacked model reuse the two base models."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    base: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for kind in components(which):
        start = time.perf_counter()
        base[kind] = _Remembered(_fit_base(case, kind, X, y, seed=seed, lgbm_trees=lgbm_trees, columns=columns,
                                           monotone=monotone))
        seconds[kind] = time.perf_counter() - start
    constrained = f", monotone in {', '.join(monotone)}" if monotone else ""
    descriptions = {"logistic": "logistic regression (liblinear)", "lightgbm": f"LightGBM, {lgbm_trees} trees{constrained}",
                    "average": "mean of the logistic and LightGBM probabilities"}
    meta = None
    if "stacked" in which:  # a logistic regression on the logits of the base models' out-of-fold scores
        start = time.perf_counter()
        oof = np.zeros((len(X), 2))
        for inner, outer in StratifiedKFold(stack_folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
            for j, kind in enumerate(("logistic", "lightgbm")):
                m = _fit_base(case, kind, X.iloc[inner], y[inner], seed=seed, lgbm_trees=lgbm_trees, columns=columns,
                              monotone=monotone)
                oof[outer, j] = m.predict_proba(X.iloc[outer])[:, 1]
        meta = LogisticRegression().fit(_logit(oof), y)
        seconds["stacked"] = time.perf_counter() - start
        weights = ", ".join(f"{w:.2f}" for w in meta.coef_[0])
        descriptions["stacked"] = f"logistic regression on both models' {stack_folds}-fold out-of-fold logits ({weights})"
    return Candidates(tuple(which), base, {n: descriptions[n] for n in which}, seconds, meta)


def choose(y_val: np.ndarray, val_scores: Mapping[str, np.ndarray], cost_fp: float, cost_fn: float, *,
           n_boot: int = 2000, level: float = 0.9, seed: int = 0) -> tuple[pd.DataFrame, str]:
    """Each candidate's cost-optimal threshold and cost on validation rows, and the chosen candidate.

    Candidates are given simplest first. The chosen one is the simplest whose paired cost difference
    to the cheapest includes zero (not distinguishable at `level`); the cheapest when none is.
    """
    import pandas as pd

    names = list(val_scores)
    thresholds = {n: best_threshold(y_val, val_scores[n], cost_fp, cost_fn)[0] for n in names}
    preds = {n: val_scores[n] >= thresholds[n] for n in names}
    costs = {n: cost_per_1000(y_val, preds[n], cost_fp, cost_fn) for n in names}
    best = min(names, key=lambda n: (costs[n], names.index(n)))
    rows = []
    for n in names:
        d = paired_cost_difference(y_val, preds[n], preds[best], cost_fp, cost_fn, n_boot=n_boot, level=level, seed=seed)
        rows.append({"model": n, "threshold": thresholds[n], "val_cost_per_1000": costs[n],
                     "diff_vs_cheapest": d.value, "diff_lo": d.lo, "diff_hi": d.hi,
                     "distinguishable": n != best and d.excludes(0.0)})
    table = pd.DataFrame(rows)
    chosen = str(next(r["model"] for r in rows if not r["distinguishable"]))
    return table.assign(chosen=table["model"] == chosen), chosen


def judge(y_test: np.ndarray, test_scores: Mapping[str, np.ndarray], thresholds: Mapping[str, float], chosen: str,
          cost_fp: float, cost_fn: float, *, n_boot: int = 2000, level: float = 0.9, seed: int = 0) -> pd.DataFrame:
    """Every candidate's cost on test rows at its validation threshold, and its paired difference to the chosen one."""
    import pandas as pd

    preds = {n: test_scores[n] >= thresholds[n] for n in test_scores}
    rows = []
    for n in test_scores:
        d = paired_cost_difference(y_test, preds[n], preds[chosen], cost_fp, cost_fn, n_boot=n_boot, level=level,
                                   seed=seed)
        rows.append({"model": n, "test_cost_per_1000": cost_per_1000(y_test, preds[n], cost_fp, cost_fn),
                     "diff_vs_chosen": d.value, "diff_lo": d.lo, "diff_hi": d.hi,
                     "distinguishable": n != chosen and d.excludes(0.0)})
    return pd.DataFrame(rows)
