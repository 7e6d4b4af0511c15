"""Behavioural tests of a model beyond its metric, in CheckList's three families.

- **MFT** (minimum functionality): short, unambiguous inputs whose decision is known; a failure is a
  decision other than the expected one.
- **INV** (invariance): a perturbation that must not change the decision (a typo, rounding within a
  unit, a swapped sensitive attribute); a violation is a decision that flips.
- **DIR** (directional): a change that may move the score only one way (more income must not look
  riskier); a violation is a score that moves the wrong way.

`case_tests` builds the tests a case declares (case.yaml `expectations:`) and says which families it
skipped; `run_tests` runs them against any scoring function at a threshold and returns one table row
per test (violation and flip rates with Wilson intervals: a share of independent rows, sensible at
0 of n, where a bootstrap of a share collapses to [0, 0]) and every row's scores before and after.
`paired_violation_difference` compares two models on the same perturbed rows with a paired bootstrap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.evaluation import perturbations
from workbench.modelling.intervals import Interval, mean_interval, proportion_interval

if TYPE_CHECKING:
    import pandas as pd

    from workbench.cases import Case
    from workbench.cases.model import Perturbation

__all__ = ["FAMILIES", "BehaviourTest", "case_tests", "changed_window", "paired_violation_difference", "run_tests",
           "typical_rows", "worst_examples"]

FAMILIES = ("MFT", "INV", "DIR")
Scorer = Callable[["pd.DataFrame"], np.ndarray]  # rows -> P(positive class)
MultiScorer = Callable[["pd.DataFrame"], Mapping[str, np.ndarray]]  # rows -> model name -> P(positive class)


@dataclass(frozen=True)
class BehaviourTest:
    """One behavioural test: INV and DIR perturb rows, MFT scores fixed examples against expected decisions."""

    name: str
    family: str
    description: str
    column: str | None = None
    kind: str = ""  # what changes: a perturbation kind (round, swap, typos, append, punctuation), monotone, examples
    perturb: Callable[[pd.DataFrame], pd.DataFrame] | None = None  # INV, DIR: rows -> perturbed rows
    direction: int = 0  # DIR: +1 the score must not fall, -1 it must not rise
    examples: pd.DataFrame | None = None  # MFT: the inputs
    expected: np.ndarray | None = None  # MFT: the decision each example must get (1 = positive class)


def typical_rows(case: Case, train: pd.DataFrame, values: list[dict]) -> pd.DataFrame:
    """One row per mapping of feature values; features a mapping leaves out take a typical training value
    (numeric: median, categorical: most frequent, text: empty), and declared text lengths are recomputed."""
    import pandas as pd

    base: dict[str, Any] = {}
    for col, kind in case.features.items():
        if kind == "numeric":
            base[col] = float(train[col].median())
        elif kind == "categorical":
            base[col] = train[col].mode(dropna=True).iloc[0]
        else:
            base[col] = ""
    frame = pd.DataFrame([{**base, **v} for v in values])
    lengths = case.expectations.text_lengths if case.expectations else {}
    return perturbations.recompute_lengths(frame, lengths)


def _remembered(perturb: Callable[[pd.DataFrame], pd.DataFrame], size: int = 16) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """perturb, remembering its last results by the identity of the frame it was given (a test perturbs the
    same rows once, however many models score them)."""
    seen: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}

    def once(rows: pd.DataFrame) -> pd.DataFrame:
        hit = seen.get(id(rows))
        if hit is not None and hit[0] is rows:
            return hit[1]
        out = perturb(rows)
        seen[id(rows)] = (rows, out)  # holding the frame keeps its id from being reused
        if len(seen) > size:
            seen.pop(next(iter(seen)))
        return out

    return once


def _declared(p: Perturbation, train: pd.DataFrame, seed: int,
              lengths: dict[str, str]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """A declared perturbation as a function of rows (the same random draws on every call)."""
    def perturb(rows: pd.DataFrame) -> pd.DataFrame:
        return perturbations.apply(rows, p, train=train, rng=np.random.default_rng(seed), lengths=lengths)

    return perturb


def _rise(column: str, *, step: float | None, factor: float | None) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Rows with `column` raised by step, or multiplied by factor."""
    def perturb(rows: pd.DataFrame) -> pd.DataFrame:
        x = rows[column]
        raised = perturbations.scale(x, factor) if factor is not None else perturbations.shift(x, float(step or 0.0))
        return rows.assign(**{column: raised})

    return perturb


def _step(train: pd.DataFrame, column: str) -> float:
    """The default rise of a monotone feature: its interquartile range on training rows (else its sd, else 1)."""
    x = train[column].astype(float).dropna()
    for spread in (float(x.quantile(0.75) - x.quantile(0.25)), float(x.std()) if len(x) > 1 else 0.0):
        if spread > 0 and np.isfinite(spread):
            return spread
    return 1.0


def case_tests(case: Case, train: pd.DataFrame, *, seed: int = 0) -> tuple[list[BehaviourTest], list[str]]:
    """The behavioural tests a case's expectations declare, and one sentence per family it does not declare."""
    ex = case.expectations
    if ex is None:
        return [], [f"{f}: case '{case.id}' declares no `expectations:` block in case.yaml" for f in FAMILIES]
    lengths = ex.text_lengths
    tests: list[BehaviourTest] = []
    if ex.examples:
        frame = typical_rows(case, train, [e.values for e in ex.examples])
        expected = np.array([int(e.expected == case.positive_class) for e in ex.examples])
        tests.append(BehaviourTest(
            "examples", "MFT", f"{len(ex.examples)} declared examples get their expected decision", kind="examples",
            examples=frame.set_axis([e.name for e in ex.examples]), expected=expected))
    for k, p in enumerate(ex.invariances):
        tests.append(BehaviourTest(p.name, "INV", f"decision unchanged by {p.kind} of {p.column}", p.column, p.kind,
                                   perturb=_declared(p, train, seed + 101 * (k + 1), lengths)))
    for m in ex.monotone:
        step = None if m.factor is not None else m.step if m.step is not None else _step(train, m.column)
        name = f"{m.column} x{m.factor:g}" if m.factor is not None else f"{m.column} +{step:,.4g}"
        word = "not fall" if m.direction > 0 else "not rise"
        tests.append(BehaviourTest(name, "DIR", f"P(positive) must {word} as {m.column} rises", m.column, "monotone",
                                   perturb=_rise(m.column, step=step, factor=m.factor), direction=m.direction))
    for k, p in enumerate(ex.directional):
        word = "not fall" if p.direction > 0 else "not rise"
        tests.append(BehaviourTest(p.name, "DIR", f"P(positive) must {word} after {p.kind} of {p.column}", p.column,
                                   p.kind, perturb=_declared(p, train, seed + 307 * (k + 1), lengths),
                                   direction=p.direction))
    seen: dict[str, int] = {}
    for i, t in enumerate(tests):  # names identify tests in tables: number repeats
        seen[t.name] = seen.get(t.name, 0) + 1
        name = t.name if seen[t.name] == 1 else f"{t.name} #{seen[t.name]}"
        tests[i] = replace(t, name=name, perturb=_remembered(t.perturb) if t.perturb else None)
    declared = {t.family for t in tests}
    skipped = [f"{f}: case '{case.id}' declares no {what} under `expectations:`" for f, what in
               [("MFT", "examples"), ("INV", "invariances"), ("DIR", "monotone directions or directional perturbations")]
               if f not in declared]
    return tests, skipped


def _rate(k: int, n: int, level: float) -> tuple[float, float, float]:
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    i = proportion_interval(k, n, level=level)
    return i.value, i.lo, i.hi


def run_tests(score: Scorer | MultiScorer, tests: list[BehaviourTest], rows: pd.DataFrame,
              threshold: float | Mapping[str, float], *, level: float = 0.9,
              tol: float = 1e-9) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run each test against `score` deciding `score >= threshold`; return (one row per test, every row's detail).

    `score` returns P(positive class) of rows, or a mapping model name -> those scores (then
    `threshold` is a mapping too, and each model is tested on the same perturbed rows); the model
    column of both frames holds the name ("model" for a single scorer). A DIR violation is a score
    that moves against the direction by more than `tol`; its flips are decisions that change against
    the direction. An INV violation is a flipped decision. An MFT violation is a decision other than
    the expected one. Rates come with Wilson intervals at `level`.
    """
    import pandas as pd

    def all_scores(frame: pd.DataFrame) -> dict[str, np.ndarray]:
        out = score(frame)
        return {k: np.asarray(v, dtype=float) for k, v in out.items()} if isinstance(out, Mapping) else \
            {"model": np.asarray(out, dtype=float)}

    base = all_scores(rows) if any(t.family != "MFT" for t in tests) else {}
    table, details = [], []
    for t in tests:
        if t.family == "MFT":
            assert t.examples is not None and t.expected is not None, f"{t.name}: an MFT test needs examples"
            after, before, index = all_scores(t.examples), None, t.examples.index
            values = values_after = np.full(len(t.examples), "", dtype=object)
        else:
            assert t.perturb is not None, f"{t.name}: an {t.family} test needs a perturbation"
            changed = t.perturb(rows)
            after, before, index = all_scores(changed), base, rows.index
            values, values_after = ((rows[t.column].astype(str).to_numpy(dtype=object),
                                     changed[t.column].astype(str).to_numpy(dtype=object)) if t.column
                                    else (np.full(len(rows), "", dtype=object),) * 2)
        for model, s1 in after.items():
            cut = threshold[model] if isinstance(threshold, Mapping) else threshold
            s0 = s1 if before is None else before[model]
            d0, d1 = (s0 >= cut).astype(int), (s1 >= cut).astype(int)
            if t.family == "MFT":
                violation, flips = d1 != t.expected, np.zeros(len(s1), dtype=bool)
            elif t.family == "DIR":
                violation, flips = t.direction * (s1 - s0) < -tol, (d1 - d0) * t.direction < 0
            else:
                violation = flips = d1 != d0
            n = len(s1)
            v, v_lo, v_hi = _rate(int(violation.sum()), n, level)
            f, f_lo, f_hi = _rate(int(flips.sum()), n, level) if t.family != "MFT" else (np.nan,) * 3
            table.append({"model": model, "test": t.name, "family": t.family, "description": t.description, "rows": n,
                          "violations": int(violation.sum()), "violation_rate": v, "violation_lo": v_lo,
                          "violation_hi": v_hi, "flip_rate": f, "flip_lo": f_lo, "flip_hi": f_hi,
                          "mean_score_change": float(np.mean(s1 - s0)) if t.family != "MFT" else np.nan})
            details.append(pd.DataFrame({
                "model": model, "test": t.name, "family": t.family, "row": np.asarray(index).astype(str),
                "direction": t.direction,
                "score": s0, "score_after": s1, "decision": d0, "decision_after": d1,
                "expected": t.expected if t.family == "MFT" else -1, "violation": violation, "flip": flips,
                "value": values, "value_after": values_after}))
    columns = ["model", "test", "family", "row", "direction", "score", "score_after", "decision", "decision_after",
               "expected", "violation", "flip", "value", "value_after"]
    detail = pd.concat(details, ignore_index=True) if details else pd.DataFrame(columns=columns)
    return pd.DataFrame(table), detail


def worst_examples(detail: pd.DataFrame, test: str, k: int = 5, *, model: str | None = None) -> pd.DataFrame:
    """The k rows of a test that break it most (of one model, when the detail holds several): the largest
    wrong-way score moves (DIR), flipped decisions with the largest score change (INV), failing examples (MFT)."""
    d = detail[(detail["test"] == test) & ((detail["model"] == model) if model is not None else True)]
    change = d["score_after"] - d["score"]
    family = d["family"].iloc[0] if len(d) else "INV"
    if family == "DIR":
        badness = -d["direction"] * change
    elif family == "INV":
        badness = change.abs()
    else:  # the examples furthest on the wrong side
        badness = np.where(d["expected"] == 1, 1 - d["score_after"], d["score_after"])
    worst = d.assign(badness=badness)[d["violation"]].sort_values("badness", ascending=False, kind="stable")
    return worst.head(k).drop(columns="badness")


def paired_violation_difference(a: pd.DataFrame, b: pd.DataFrame, test: str, *, n_boot: int = 2000,
                                level: float = 0.9, seed: int = 0) -> Interval:
    """Violation rate of model A minus model B on the same rows of one test, with a paired bootstrap interval
    (a and b: the detail of one model each, from `run_tests`)."""
    va = a[a["test"] == test].set_index("row")["violation"]
    vb = b[b["test"] == test].set_index("row")["violation"]
    if va.empty:
        raise ValueError(f"no rows of test '{test}' in the details")
    if not va.index.equals(vb.index):
        raise ValueError(f"test '{test}': the two details must cover the same rows in the same order")
    return mean_interval(va.to_numpy(dtype=float) - vb.to_numpy(dtype=float), n_boot=n_boot, level=level, seed=seed)


def changed_window(before: str, after: str, width: int = 80) -> tuple[str, str]:
    """The two texts cut to `width` characters around their first difference ("..." where cut)."""
    i = next((k for k, (a, b) in enumerate(zip(before, after)) if a != b), min(len(before), len(after)))
    start = max(0, i - width // 3)

    def cut(text: str) -> str:
        piece = text[start:start + width]
        return ("..." if start else "") + piece + ("..." if start + width < len(text) else "")

    return cut(before), cut(after)
