"""Perturbations of model inputs for behavioural and robustness tests: tabular and text, each a pure function.

Every function returns a new Series (the input is never changed) with the input's index. Random ones
take a numpy Generator, so a test is reproducible from its seed. `apply` runs a case's declared
`Perturbation` (case.yaml `expectations:`) on a frame and recomputes the text-length features the
case declares, so that a perturbed row stays a row the model could see.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from workbench.cases.model import Perturbation

__all__ = ["append", "apply", "blank", "noise", "punctuation", "recompute_lengths", "round_to", "scale", "shift",
           "swap", "typos"]

WORD = re.compile(r"[A-Za-z]{4,}")  # words long enough for a typo that keeps them readable
TRAILING = re.compile(r"[.!?,;:]+\s*$")


def round_to(x: pd.Series, unit: float) -> pd.Series:
    """Values rounded to the nearest multiple of unit (e.g. incomes to the nearest 1,000)."""
    if unit <= 0:
        raise ValueError(f"unit must be positive, got {unit}")
    return (x.astype(float) / unit).round() * unit


def shift(x: pd.Series, step: float) -> pd.Series:
    """Values raised by step."""
    return x.astype(float) + step


def scale(x: pd.Series, factor: float) -> pd.Series:
    """Values multiplied by factor."""
    return x.astype(float) * factor


def swap(x: pd.Series, levels: pd.Series, rng: np.random.Generator) -> pd.Series:
    """Each value replaced by another level, drawn with the levels' frequencies in `levels` (e.g. training rows).

    A row whose value is the only level seen keeps it. Missing values stay missing.
    """
    import pandas as pd

    counts = levels.dropna().value_counts()
    counts = counts[counts > 0]  # a categorical dtype lists unused levels too
    values, p = counts.index.to_numpy(dtype=object), (counts / counts.sum()).to_numpy()
    out = x.astype(object).to_numpy(copy=True)
    todo = np.flatnonzero(pd.notna(out) & (len(values) > 1))
    for _ in range(100):  # redraw rows that drew their own value; each round leaves a share p(own) of them
        if not len(todo):
            break
        drawn = values[rng.choice(len(values), size=len(todo), p=p)]
        same = drawn == out[todo]
        out[todo[~same]] = drawn[~same]
        todo = todo[same]
    for i in todo:  # a level this rare is very unlikely to be left; take the most frequent other level
        out[i] = next(v for v in values if v != out[i])
    return pd.Series(out, index=x.index, name=x.name)


def _typo(word: str, rng: np.random.Generator) -> str:
    """The word with two adjacent letters after its first swapped (a change whenever they differ)."""
    positions = [i for i in range(1, len(word) - 1) if word[i] != word[i + 1]]
    if not positions:
        return word
    i = positions[int(rng.integers(len(positions)))]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def typos(texts: pd.Series, rate: float, rng: np.random.Generator) -> pd.Series:
    """Each word of four or more letters given a typo (two adjacent letters swapped) with probability rate."""
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be in [0, 1], got {rate}")

    def one(text: str) -> str:
        return WORD.sub(lambda m: _typo(m.group(), rng) if rng.random() < rate else m.group(), text)

    return texts.fillna("").astype(str).map(one)


def append(texts: pd.Series, sentence: str) -> pd.Series:
    """Each text with a sentence appended after a space."""
    return texts.fillna("").astype(str).str.rstrip() + " " + sentence.strip()


def punctuation(texts: pd.Series) -> pd.Series:
    """Each text with its final punctuation removed, or a full stop added where it has none."""
    def one(text: str) -> str:
        stripped = TRAILING.sub("", text)
        return stripped if stripped != text else text.rstrip() + "."

    return texts.fillna("").astype(str).map(one)


def noise(x: pd.Series, sd: float, rng: np.random.Generator) -> pd.Series:
    """Values plus Gaussian measurement error of standard deviation sd (missing values stay missing)."""
    return x.astype(float) + rng.normal(0.0, sd, len(x)) if sd > 0 else x.astype(float)


def blank(x: pd.Series, rate: float, rng: np.random.Generator, *, kind: str = "numeric") -> pd.Series:
    """A share `rate` of values lost, as serving sees them: NaN (numeric), None (categorical), "" (text)."""
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    lost = rng.random(len(x)) < rate
    if kind == "numeric":
        return x.astype(float).mask(lost)
    return x.astype(object).mask(lost, "" if kind == "text" else None)


def recompute_lengths(frame: pd.DataFrame, lengths: dict[str, str]) -> pd.DataFrame:
    """frame with each numeric feature that measures a text feature's length (numeric -> text) recomputed."""
    out = frame.copy()
    for col, text in lengths.items():
        if col in out and text in out:
            out[col] = out[text].fillna("").astype(str).str.len().astype(out[col].dtype)
    return out


def apply(frame: pd.DataFrame, p: Perturbation, *, train: pd.DataFrame, rng: np.random.Generator,
          lengths: dict[str, str] | None = None) -> pd.DataFrame:
    """frame with a declared perturbation applied to its column (swap draws levels from `train`)."""
    out = frame.copy()
    col = out[p.column]
    if p.kind == "round":
        out[p.column] = round_to(col, float(p.params["unit"]))
    elif p.kind == "swap":
        out[p.column] = swap(col, train[p.column], rng)
    elif p.kind == "typos":
        out[p.column] = typos(col, float(p.params["rate"]), rng)
    elif p.kind == "append":
        out[p.column] = append(col, str(p.params["text"]))
    elif p.kind == "punctuation":
        out[p.column] = punctuation(col)
    else:
        raise ValueError(f"unknown perturbation kind {p.kind!r}")
    return recompute_lengths(out, lengths or {})
