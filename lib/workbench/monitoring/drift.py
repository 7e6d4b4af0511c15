"""Per-column drift tests between a reference sample and current windows, vectorised with numpy/scipy.

Methods and verdicts follow evidently 0.7's stattests (`drift_evidently` runs evidently itself),
so both give the same verdicts on the same frames:

- `ks` (numeric): two-sample Kolmogorov-Smirnov p-value; drift when p <= threshold (default 0.05).
  As scipy's `ks_2samp`: exact up to 10,000 rows a side, else the `kstwo` law. Where `kstwo` is
  slow (large samples, p below about 2.5%) the Kolmogorov limit law is used instead, unless the
  p-value is close enough to a threshold in use for the two to disagree about the verdict. The
  exact law is slow too (milliseconds a column): a reference keeps the exact values it computed
  and uses the approximation wherever they already settle the verdict (`stattests.ExactKS`).
- `chisquare` (categorical): chi-square goodness of fit of the current counts to the reference
  proportions, which it takes as exact; drift when p < threshold (default 0.05).
- `psi` (numeric or categorical): population stability index; drift when PSI >= threshold (0.1).
  Value by value for categories and for numeric columns with at most 20 distinct reference values,
  else in Sturges bins spanning both samples; empty cells get a small floor.
- `wasserstein` (numeric): Wasserstein-1 distance over the reference standard deviation; drift
  when >= threshold (default 0.1).

Missing and infinite values are dropped per column. A `Reference` is prepared once; a frame is
encoded against it once (`Reference.encode`); then any subset of its rows (a window) is scored with
a few array operations for all columns at once (`Reference.scores`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.monitoring.stattests import (
    KS_EXACT_MAX_N,
    ExactKS,
    Sample,
    chi_square_cells,
    ks_pvalues,
    merged_stats,
    psi_binned,
    psi_cells,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_THRESHOLDS", "METHODS", "Detector", "Encoded", "Reference", "compare", "drifted"]

METHODS: dict[str, tuple[str, ...]] = {
    "ks": ("numeric",), "chisquare": ("categorical",), "psi": ("numeric", "categorical"), "wasserstein": ("numeric",),
}
DEFAULT_THRESHOLDS = {"ks": 0.05, "chisquare": 0.05, "psi": 0.1, "wasserstein": 0.1}
_BATCH_CELLS = 4_000_000  # numeric columns are merged in batches of about this many values


def drifted(method: str, score: Any, threshold: float) -> Any:
    """Whether a score means drift: p-values at or below (ks) or below (chisquare), distances at or above."""
    score = np.asarray(score, dtype=float)
    if method == "ks":
        return score <= threshold
    if method == "chisquare":
        return score < threshold
    return score >= threshold


@dataclass(frozen=True)
class Detector:
    """Which method tests each kind of column, and at which threshold (None: the method's default)."""

    num_method: str = "ks"
    cat_method: str = "chisquare"
    num_threshold: float | None = None
    cat_threshold: float | None = None

    def __post_init__(self) -> None:
        for kind, method in (("numeric", self.num_method), ("categorical", self.cat_method)):
            if kind not in METHODS.get(method, ()):
                allowed = ", ".join(m for m, kinds in METHODS.items() if kind in kinds)
                raise ValueError(f"method {method!r} cannot test {kind} columns (use one of: {allowed})")

    def method(self, kind: str) -> str:
        return self.num_method if kind == "numeric" else self.cat_method

    def threshold(self, kind: str) -> float:
        given = self.num_threshold if kind == "numeric" else self.cat_threshold
        return DEFAULT_THRESHOLDS[self.method(kind)] if given is None else float(given)


@dataclass(frozen=True)
class Encoded:
    """A frame encoded against a reference: numeric values and category cells, ready for windows."""

    numeric: np.ndarray  # (rows, numeric columns), float
    integer: tuple[bool, ...]  # whether each numeric column had an integer dtype
    codes: np.ndarray  # (rows, categorical columns): index of the row's cell, -1 when missing
    cell_column: np.ndarray  # which categorical column each cell belongs to
    ref_counts: np.ndarray  # reference count of each cell (0 for values the reference never had)

    def __len__(self) -> int:
        return len(self.numeric) if self.numeric.size else len(self.codes)


class Reference:
    """A reference sample prepared once; `columns` maps each column to 'numeric' or 'categorical'."""

    def __init__(self, frame: pd.DataFrame, columns: Mapping[str, str]) -> None:
        import pandas as pd

        bad = {c: k for c, k in columns.items() if k not in ("numeric", "categorical") or c not in frame}
        if bad:
            raise ValueError(f"columns must be in the frame and numeric or categorical, got {bad}")
        self.columns = dict(columns)
        self.numeric = [c for c, k in columns.items() if k == "numeric"]
        self.categorical = [c for c, k in columns.items() if k == "categorical"]
        self._num = [Sample(frame[c], pd.api.types.is_integer_dtype(frame[c])) for c in self.numeric]
        names = list(columns)
        self._num_at = np.array([names.index(c) for c in self.numeric], dtype=np.intp)  # rows of score arrays
        self._cat_at = np.array([names.index(c) for c in self.categorical], dtype=np.intp)
        self._exact_ks = ExactKS()  # exact KS p-values kept across the windows scored against this reference
        self._keys = []
        for c in self.categorical:
            counts = frame[c].value_counts(sort=False, dropna=True)
            self._keys.append(counts[counts > 0])

    def encode(self, frame: pd.DataFrame) -> Encoded:
        """Encode a frame once, so that windows of its rows can be scored quickly."""
        import pandas as pd

        numeric = frame[self.numeric].to_numpy(dtype=float) if self.numeric else np.zeros((len(frame), 0))
        integer = tuple(pd.api.types.is_integer_dtype(frame[c]) for c in self.numeric)
        codes = np.full((len(frame), len(self.categorical)), -1, dtype=np.intp)
        cell_column, ref_counts, start = [], [], 0
        for j, (c, keys) in enumerate(zip(self.categorical, self._keys)):
            values = frame[c]
            if isinstance(values.dtype, pd.CategoricalDtype):
                lookup = np.r_[keys.index.get_indexer(values.cat.categories), -1]
                known = lookup[values.cat.codes.to_numpy()]  # code -1 (missing) picks the trailing -1
                known[values.isna().to_numpy()] = -2
            else:
                known = keys.index.get_indexer(values)
                known[values.isna().to_numpy()] = -2
            new = known == -1
            if new.any():  # values the reference never had get cells of their own
                new_codes, uniques = pd.factorize(values[new])
                known[new] = len(keys) + new_codes
            n_cells = len(keys) + (len(uniques) if new.any() else 0)
            codes[:, j] = np.where(known >= 0, known + start, -1)
            cell_column.append(np.full(n_cells, j))
            ref_counts.append(np.r_[keys.to_numpy(dtype=float), np.zeros(n_cells - len(keys))])
            start += n_cells
        return Encoded(numeric, integer, codes, np.concatenate(cell_column or [np.zeros(0, np.intp)]),
                       np.concatenate(ref_counts or [np.zeros(0)]))

    def scores(self, current: pd.DataFrame | Encoded, rows: np.ndarray | None = None,
               methods: tuple[str, ...] = tuple(METHODS),
               ks_thresholds: tuple[float, ...] | None = (DEFAULT_THRESHOLDS["ks"],)) -> pd.DataFrame:
        """Each method's score for each column (NaN where it does not apply) on `rows` of `current`.

        KS p-values are exact near each threshold in `ks_thresholds`, or everywhere when it is None
        (see the module docstring).
        """
        import pandas as pd

        enc = current if isinstance(current, Encoded) else self.encode(current)
        return pd.DataFrame(self.score_array(enc, rows, methods, ks_thresholds),
                            index=pd.Index(list(self.columns), name="column"), columns=list(methods))

    def score_array(self, enc: Encoded, rows: np.ndarray | None, methods: tuple[str, ...],
                    ks_thresholds: tuple[float, ...] | None) -> np.ndarray:
        """`scores` as a (column, method) array, without pandas: the inner loop of window scans."""
        unknown = set(methods) - set(METHODS)
        if unknown:
            raise ValueError(f"unknown drift methods {sorted(unknown)} (known: {', '.join(METHODS)})")
        out = np.full((len(self.columns), len(methods)), np.nan)
        col = {m: j for j, m in enumerate(methods)}
        cat_at, num_at = self._cat_at, self._num_at
        if self.categorical and ({"chisquare", "psi"} & set(methods)):
            codes = (enc.codes if rows is None else enc.codes[rows]).ravel()
            cur = np.bincount(codes[codes >= 0], minlength=len(enc.ref_counts)).astype(float)
            seen = (cur > 0) | (enc.ref_counts > 0)
            ref, cur, seg = enc.ref_counts[seen], cur[seen], enc.cell_column[seen]
            if (np.bincount(seg, weights=cur, minlength=len(self.categorical)) == 0).any():
                raise ValueError("a categorical column has no values in the current window")
            for m, fn in (("chisquare", chi_square_cells), ("psi", psi_cells)):
                if m in col:
                    out[cat_at, col[m]] = fn(ref, cur, seg, len(self.categorical))
        if self.numeric and ({"ks", "wasserstein", "psi"} & set(methods)):
            values = enc.numeric if rows is None else enc.numeric[rows]
            cur_num = [Sample(values[:, j], enc.integer[j]) for j in range(len(self._num))]
            if "psi" in col:
                out[num_at, col["psi"]] = [psi_binned(r, c) for r, c in zip(self._num, cur_num)]
            if {"ks", "wasserstein"} & set(methods):
                for j, p, w in self._ks_wasserstein(cur_num, ks_thresholds, "ks" in col, "wasserstein" in col):
                    if "ks" in col:
                        out[num_at[j], col["ks"]] = p
                    if "wasserstein" in col:
                        out[num_at[j], col["wasserstein"]] = w
        return out

    def _ks_wasserstein(self, cur_num: list[Sample], thresholds: tuple[float, ...] | None, ks: bool,
                        wasserstein: bool):
        """(numeric column index, KS p-value, normed Wasserstein distance) for every numeric column (NaN: not asked).

        Columns of equal sizes are merged together, in batches of about `_BATCH_CELLS` values.
        """
        groups: dict[tuple[int, int], list[int]] = {}
        for j, (r, c) in enumerate(zip(self._num, cur_num)):
            groups.setdefault((r.n, c.n), []).append(j)
        batches = []
        for (n1, n2), cols in groups.items():
            step = max(1, _BATCH_CELLS // (n1 + n2))
            batches += [(n1, n2, cols[i:i + step]) for i in range(0, len(cols), step)]

        def run(item: tuple[int, int, list[int]]) -> list[tuple[int, float, float]]:
            n1, n2, batch = item
            d, w = merged_stats(np.stack([self._num[j].sorted for j in batch]),
                                np.stack([cur_num[j].sorted for j in batch]), wasserstein)
            p: Any
            if not ks:
                p = [np.nan] * len(batch)
            elif max(n1, n2) <= KS_EXACT_MAX_N:  # scipy's exact distribution for small samples
                p = self._exact_ks.pvalues(d, n1, n2, thresholds,
                                           lambda i: (self._num[batch[i]].sorted, cur_num[batch[i]].sorted))
            else:
                p = ks_pvalues(d, n1, n2, thresholds)
            scaled: Any = (w / np.maximum([self._num[j].std for j in batch], 0.001) if wasserstein
                           else [np.nan] * len(batch))
            return list(zip(batch, np.asarray(p, dtype=float), scaled))

        for batch in batches:
            yield from run(batch)

    def judge(self, scores: pd.DataFrame, detector: Detector) -> pd.DataFrame:
        """Per column: kind, method, score, threshold and the verdict of `detector`, from `scores`."""
        import pandas as pd

        kinds = pd.Series(self.columns)
        method = kinds.map({"numeric": detector.num_method, "categorical": detector.cat_method})
        if not set(method) <= set(scores.columns):
            raise ValueError(f"scores lack methods that the detector uses: {sorted(set(method) - set(scores))}")
        score = scores.reindex(kinds.index).to_numpy(dtype=float)[
            np.arange(len(kinds)), scores.columns.get_indexer(method)]
        threshold = kinds.map({k: detector.threshold(k) for k in ("numeric", "categorical")})
        verdict = [bool(drifted(m, s, t)) for m, s, t in zip(method, score, threshold)]
        return pd.DataFrame({"kind": kinds, "method": method, "score": score, "threshold": threshold,
                             "drifted": verdict}).rename_axis("column")

    def compare(self, current: pd.DataFrame | Encoded, detector: Detector | None = None,
                rows: np.ndarray | None = None) -> pd.DataFrame:
        """Score `current` (or `rows` of it) with `detector` and judge every column; see `compare`."""
        detector = detector or Detector()
        methods = tuple(dict.fromkeys((detector.num_method, detector.cat_method)))
        ks_thresholds = (detector.threshold("numeric"),) if detector.num_method == "ks" else ()
        return self.judge(self.scores(current, rows, methods, ks_thresholds), detector)


def compare(reference: Reference | pd.DataFrame, current: pd.DataFrame, detector: Detector | None = None,
            columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per column: kind, method, score, threshold and whether it drifted, as evidently would decide.

    `reference` is a prepared `Reference`, or a frame together with `columns` (column -> kind).
    """
    if not isinstance(reference, Reference):
        if columns is None:
            raise ValueError("give `columns` (column -> 'numeric' | 'categorical') with a reference frame")
        reference = Reference(reference, columns)
    return reference.compare(current, detector)
