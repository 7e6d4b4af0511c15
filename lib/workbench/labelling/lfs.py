"""Labelling functions: small rules that vote for a class or abstain, their votes, summaries and majority vote.

A labelling function (LF) looks at a row and votes 1 (the positive class), 0 (the negative class)
or abstains (-1). Applying m LFs to n rows gives an n x m vote matrix; a label model turns the
votes into labels (`majority_vote` here, the generative model in `labelmodel`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ABSTAIN",
    "LabellingFunction",
    "category",
    "keyword",
    "majority_vote",
    "rule",
    "summary",
    "threshold",
    "votes",
]

ABSTAIN = -1
OPS: dict[str, Callable[[Any, float], Any]] = {
    ">=": lambda x, v: x >= v, ">": lambda x, v: x > v, "<=": lambda x, v: x <= v, "<": lambda x, v: x < v,
}


@dataclass(frozen=True)
class LabellingFunction:
    """A rule that votes `vote` (1 positive, 0 negative) on the rows where `applies` is true, else abstains."""

    name: str
    vote: int
    description: str
    applies: Callable[[pd.DataFrame], np.ndarray]
    columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.vote not in (0, 1):
            raise ValueError(f"labelling function '{self.name}': vote must be 0 or 1, got {self.vote!r}")

    def __call__(self, data: pd.DataFrame) -> np.ndarray:
        """The LF's votes on each row: `vote` or ABSTAIN."""
        missing = [c for c in self.columns if c not in data.columns]
        if missing:
            raise KeyError(f"labelling function '{self.name}' needs column(s) {', '.join(missing)}, "
                           f"which the data does not have")
        hit = np.asarray(self.applies(data), dtype=bool)
        return np.where(hit, self.vote, ABSTAIN).astype("int8")


def keyword(name: str, column: str, pattern: str, vote: int, description: str = "") -> LabellingFunction:
    """Vote when the regular expression `pattern` matches the lower-cased text in `column`."""
    rx = re.compile(pattern)

    def applies(df: pd.DataFrame) -> np.ndarray:
        text = df[column].fillna("").astype(str).str.lower()
        return text.map(lambda s: rx.search(s) is not None).to_numpy(dtype=bool)

    return LabellingFunction(name, vote, description or f"{column} matches /{pattern}/", applies, (column,))


def threshold(name: str, column: str, op: str, value: float, vote: int, description: str = "") -> LabellingFunction:
    """Vote when `column op value` holds (op one of >=, >, <=, <); missing values abstain."""
    if op not in OPS:
        raise ValueError(f"labelling function '{name}': op must be one of {', '.join(OPS)}, got {op!r}")
    compare = OPS[op]

    def applies(df: pd.DataFrame) -> np.ndarray:
        x = df[column].astype(float).to_numpy()
        return np.asarray(compare(x, value), dtype=bool) & ~np.isnan(x)

    return LabellingFunction(name, vote, description or f"{column} {op} {value:g}", applies, (column,))


def category(name: str, column: str, values: Sequence[Any], vote: int, description: str = "") -> LabellingFunction:
    """Vote when `column` (compared as text) is one of `values`."""
    wanted = {str(v) for v in values}

    def applies(df: pd.DataFrame) -> np.ndarray:
        return df[column].astype("string").isin(wanted).fillna(False).to_numpy(dtype=bool)

    shown = ", ".join(sorted(wanted))
    return LabellingFunction(name, vote, description or f"{column} in {{{shown}}}", applies, (column,))


def rule(name: str, func: Callable[[pd.DataFrame], Any], vote: int, description: str,
         columns: Sequence[str] = ()) -> LabellingFunction:
    """Vote where `func(data)` is true: any row-wise heuristic."""
    return LabellingFunction(name, vote, description, lambda df: np.asarray(func(df), dtype=bool), tuple(columns))


def votes(lfs: Sequence[LabellingFunction], data: pd.DataFrame) -> np.ndarray:
    """The n x m vote matrix of m LFs on n rows (1, 0 or ABSTAIN)."""
    if not lfs:
        raise ValueError("votes: no labelling functions given")
    names = [lf.name for lf in lfs]
    if len(set(names)) != len(names):
        raise ValueError(f"votes: labelling function names must be unique, got {names}")
    return np.column_stack([lf(data) for lf in lfs]).astype("int8")


def summary(lfs: Sequence[LabellingFunction], L: np.ndarray, L_dev: np.ndarray | None = None,
            y_dev: np.ndarray | None = None) -> pd.DataFrame:
    """Per LF: the class it votes for, coverage, overlap and conflict rates on L, and accuracy on a labelled dev set.

    coverage: share of rows it votes on; overlap: share of rows where it and at least one other LF
    vote; conflict: share of rows where another LF votes for a different class. `dev_accuracy` is
    the share of its dev votes that are right (NaN when it never votes on the dev set).
    """
    import pandas as pd

    L = np.asarray(L)
    voted = L != ABSTAIN
    n_voting = voted.sum(axis=1)
    rows = []
    for j, lf in enumerate(lfs):
        mine = voted[:, j]
        others_pos = ((L == 1) & voted).sum(axis=1) - (L[:, j] == 1)
        others_neg = ((L == 0) & voted).sum(axis=1) - (L[:, j] == 0)
        disagree = others_neg if lf.vote == 1 else others_pos
        row: dict[str, Any] = {
            "lf": lf.name,
            "votes_for": "positive" if lf.vote == 1 else "negative",
            "coverage": float(mine.mean()),
            "overlap": float((mine & (n_voting > 1)).mean()),
            "conflict": float((mine & (disagree > 0)).mean()),
        }
        if L_dev is not None and y_dev is not None:
            dev_mine = np.asarray(L_dev)[:, j] != ABSTAIN
            n_dev = int(dev_mine.sum())
            row["dev_votes"] = n_dev
            row["dev_accuracy"] = float((np.asarray(y_dev)[dev_mine] == lf.vote).mean()) if n_dev else np.nan
        row["description"] = lf.description
        rows.append(row)
    return pd.DataFrame(rows).set_index("lf")


def majority_vote(L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels by majority of the non-abstaining votes: (labels, share of votes for the positive class).

    Rows with no votes or a tie get label ABSTAIN; their share is NaN when no LF voted and 0.5 on a tie.
    """
    L = np.asarray(L)
    pos = (L == 1).sum(axis=1)
    n = (L != ABSTAIN).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, pos / np.maximum(n, 1), np.nan)
    labels = np.full(len(L), ABSTAIN, dtype="int8")
    labels[share > 0.5] = 1
    labels[share < 0.5] = 0
    return labels, share
