"""Controlled distribution shift: draw windows of real rows and inject a chosen shift at a known onset.

Three kinds, each changing one part of P(x, y) and leaving the rest as it was:

- `covariate`: P(x) moves, P(y | x) stays. Rows are drawn with weights exp(m * s), where s is the
  shifted column standardised against the reference (numeric: (x - mean) / sd, clipped to +-3;
  categorical: membership of its most common reference level, standardised). For a normal
  feature this moves its mean by about m standard deviations.
- `label`: P(y) moves, P(x | y) stays. Rows are drawn with weights exp(m * s), s the standardised label.
- `concept`: P(y | x) moves, P(x) stays. Rows are drawn uniformly; in the rows where s > 0 each
  label flips with probability (1 - exp(-m)) / 2, which tends to pure noise as m grows.

Weighted draws are without replacement within a window (Efraimidis-Spirakis keys), so a window
never repeats a row; keep windows well below the pool's size for the tilt to take full effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SHIFT_KINDS", "Shift", "Window", "draw", "standardised", "stream"]

SHIFT_KINDS = ("covariate", "label", "concept")


@dataclass(frozen=True)
class Shift:
    """What to inject: the kind, its magnitude m (0: none) and the column it acts on."""

    kind: str = "covariate"
    magnitude: float = 0.5
    column: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SHIFT_KINDS:
            raise ValueError(f"shift kind {self.kind!r} is not one of {', '.join(SHIFT_KINDS)}")
        if self.magnitude < 0:
            raise ValueError(f"shift magnitude must be >= 0, got {self.magnitude}")
        if self.kind != "label" and not self.column:
            raise ValueError(f"a {self.kind} shift needs the column it acts on")


@dataclass(frozen=True)
class Window:
    """One window of a stream: pool positions of its rows, their labels, and whether it is shifted."""

    rows: np.ndarray
    y: np.ndarray
    shifted: bool


def standardised(values: pd.Series, reference: pd.Series) -> np.ndarray:
    """A column as a standard score against the reference (see the module docstring)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(reference) and not pd.api.types.is_bool_dtype(reference):
        ref = reference.astype(float)
        sd = float(ref.std()) or 1.0
        z = (values.astype(float).to_numpy() - float(ref.mean())) / sd
        return np.clip(np.nan_to_num(z), -3.0, 3.0)
    top = reference.value_counts().index[0]
    share = float((reference == top).mean())
    sd = np.sqrt(share * (1 - share)) or 1.0
    return ((values == top).to_numpy(dtype=float) - share) / sd


def draw(n: int, size: int, rng: np.random.Generator, weights: np.ndarray | None = None) -> np.ndarray:
    """`size` distinct positions out of n, uniformly or with probability proportional to `weights`."""
    if size > n:
        raise ValueError(f"cannot draw a window of {size} rows from a pool of {n}")
    if weights is None:
        return np.sort(rng.choice(n, size=size, replace=False))
    keys = np.log(rng.random(n)) / np.asarray(weights, dtype=float)  # Efraimidis-Spirakis: largest keys win
    return np.sort(np.argpartition(-keys, size - 1)[:size])


def stream(pool: pd.DataFrame, y: np.ndarray, reference: pd.DataFrame, reference_y: np.ndarray, *,
           shift: Shift, n_windows: int, size: int, onset: int, seed: int = 0) -> list[Window]:
    """`n_windows` windows of `size` rows drawn from `pool`; from window `onset` on, `shift` is injected.

    The pool should hold rows of the reference period that neither trained the model nor form the
    drift reference, so that windows before the onset have no shift at all.
    """
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    if shift.kind == "label":
        s = (y - reference_y.mean()) / (np.sqrt(reference_y.mean() * (1 - reference_y.mean())) or 1.0)
    else:
        s = standardised(pool[shift.column], reference[shift.column])
    weights = np.exp(shift.magnitude * s) if shift.kind in ("covariate", "label") else None
    flip = (1 - np.exp(-shift.magnitude)) / 2
    out = []
    for i in range(n_windows):
        shifted = i >= onset and shift.magnitude > 0
        rows = draw(len(pool), size, rng, weights if shifted else None)
        labels = y[rows].copy()
        if shifted and shift.kind == "concept":
            hit = (s[rows] > 0) & (rng.random(size) < flip)
            labels[hit] = 1 - labels[hit]
        out.append(Window(rows, labels, shifted))
    return out
