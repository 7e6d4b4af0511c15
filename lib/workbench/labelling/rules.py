"""Sets of labelling functions: a case's own hand-written heuristics, or rules mined from a dev set.

`expert` sets encode what a domain expert would write down in an afternoon. They are case
knowledge, so they live with the case: `casestudies/<id>/labelling.py` defines
`labelling_functions(case)` (the bundled cases have keywords of disappointment for reviews, risk
thresholds for loans, evening and regional-carrier rules for flights). `mined` builds rules for
any case from a small labelled dev set: keywords for a text case, one-sided thresholds and
category rules for a tabular one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from workbench.cases.hooks import case_module
from workbench.labelling.lfs import LabellingFunction, category, keyword, threshold

if TYPE_CHECKING:
    import pandas as pd

    from workbench.cases import Case

__all__ = ["LF_SETS", "expert", "has_expert", "lf_set", "mined"]

LF_SETS = ("expert", "mined")


def has_expert(case: Case) -> bool:
    """Whether the case brings its own hand-written labelling functions (a `labelling.py` in its folder)."""
    return case_module(case, "labelling") is not None


def expert(case: Case) -> list[LabellingFunction]:
    """The case's hand-written labelling functions: `labelling_functions(case)` from its `labelling.py`."""
    module = case_module(case, "labelling")
    if module is None:
        raise KeyError(f"case '{case.id}' has no labelling.py with hand-written labelling functions; "
                       "use the 'mined' set")
    make = getattr(module, "labelling_functions", None)
    if not callable(make):
        raise TypeError(f"{module.__file__}: must define labelling_functions(case) -> list of labelling functions")
    lfs = list(make(case))
    bad = [type(lf).__name__ for lf in lfs if not isinstance(lf, LabellingFunction)]
    if not lfs or bad:
        raise TypeError(f"{module.__file__}: labelling_functions(case) must return a non-empty list of "
                        f"LabellingFunction (from workbench.labelling.lfs), got {bad or 'an empty list'}")
    return lfs


def _score(hit: np.ndarray, y: np.ndarray, vote: int, prior: float, min_votes: int) -> float:
    """How many standard errors a rule's dev accuracy lies above the base rate of `vote` (-inf: too few votes)."""
    n = int(hit.sum())
    if n < min_votes:
        return -np.inf
    base = prior if vote == 1 else 1 - prior
    if base in (0.0, 1.0):
        return -np.inf
    return (float((y[hit] == vote).mean()) - base) / float(np.sqrt(base * (1 - base) / n))


def mined(case: Case, dev: pd.DataFrame, y_dev: np.ndarray, pool: pd.DataFrame, *, k: int = 10,
          min_coverage: float = 0.03) -> list[LabellingFunction]:
    """Up to k rules chosen on the dev set, best first, at most half of them for each class.

    Except on text columns, a column gives at most one rule per class. A rule's score is how many
    standard errors its dev accuracy lies above the base rate of the class it votes for (a one-sided
    binomial z-score); rules below 2 are dropped.

    Text columns give keyword rules (whole words); numeric columns one-sided thresholds at the
    pool's 10th, 25th, 75th and 90th percentiles; categorical columns one rule per frequent level.
    Each rule votes for the class it is more accurate for. Dev-set accuracies of mined rules are
    optimistic: they were chosen on the same rows.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    y = np.asarray(y_dev)
    prior = float(y.mean())
    min_votes = max(3, int(np.ceil(min_coverage * len(dev))))
    cands: list[tuple[float, str, int, Callable[[], LabellingFunction]]] = []

    def add(col: str, hit: np.ndarray, make: Callable[[int], LabellingFunction]) -> None:
        for vote in (0, 1):
            s = _score(hit, y, vote, prior, min_votes)
            if np.isfinite(s) and s > 2:
                cands.append((s, col, vote, partial(make, vote)))

    for col in case.feature_columns(("text",)):
        vec = CountVectorizer(binary=True, min_df=min_votes, token_pattern=r"(?u)\b[a-zA-Z]{3,}\b",
                              stop_words="english")
        X = vec.fit_transform(dev[col].fillna("")).tocsc()
        for j, word in enumerate(vec.get_feature_names_out()):
            hit = X[:, j].toarray().ravel() > 0
            add(col, hit, partial(keyword, f"word_{word}", col, rf"\b{word}\b"))
    for col in case.feature_columns(("numeric",)):
        x_dev = dev[col].astype(float).to_numpy()
        for q in (0.1, 0.25, 0.75, 0.9):
            cut = float(np.nanquantile(pool[col].astype(float), q))
            op, side = (">=", "high") if q > 0.5 else ("<=", "low")
            hit = (x_dev >= cut) if op == ">=" else (x_dev <= cut)
            name = f"{col}_{side}_{round(q * 100)}"
            add(col, hit, partial(threshold, name, col, op, cut))
    for col in case.feature_columns(("categorical",)):
        levels = dev[col].astype("string").fillna("(missing)")
        for level in levels.value_counts().index[:30]:
            hit = (levels == level).to_numpy(dtype=bool)
            add(col, hit, partial(category, f"{col}_{level}".replace(" ", "_"), col, [str(level)]))
    chosen: list[LabellingFunction] = []
    taken: set[tuple[str, int]] = set()
    per_class = {0: 0, 1: 0}
    for _, col, vote, make in sorted(cands, key=lambda t: -t[0]):
        if len(chosen) >= k:
            break
        text = case.features.get(col) == "text"
        if per_class[vote] >= -(-k // 2) or (not text and (col, vote) in taken):
            continue
        lf = make()
        if any(c.name == lf.name for c in chosen):
            continue
        chosen.append(lf)
        taken.add((col, vote))
        per_class[vote] += 1
    return chosen


def lf_set(case: Case, name: str, dev: pd.DataFrame, y_dev: np.ndarray,
           pool: pd.DataFrame) -> tuple[list[LabellingFunction], str]:
    """The named LF set for a case and a sentence saying what it is; `mined` stands in for a missing expert set."""
    if name not in LF_SETS:
        raise ValueError(f"labelling function set must be one of {', '.join(LF_SETS)}, got {name!r}")
    if name == "expert" and has_expert(case):
        lfs = expert(case)
        kind = ("keyword and regex rules on the text" if case.text_column
                else "threshold and category rules on the features")
        return lfs, f"{len(lfs)} hand-written {kind}"
    lfs = mined(case, dev, y_dev, pool)
    note = f"{len(lfs)} rules mined from the {len(dev)} dev rows"
    if name == "expert":
        note += f" (there is no hand-written set for '{case.id}')"
    if not lfs:
        raise ValueError(f"no rule mined from the {len(dev)} dev rows beats the class prior; enlarge dev_size")
    return lfs, note
