"""Train/serving skew: one feature spec, a batch (training) path and a row-at-a-time (serving) path.

The training pipeline encodes a whole frame at once (`batch_features`): numeric columns as float64,
categorical columns as their level's position in the training levels, and the point-in-time window
features from `windows`. The serving path (`OnlineService`) answers one request at a time, as an
online service would: it derives time features from the request's timestamp, looks categorical
levels up in a dict, and reads window features from streaming state (`stream.SlidingWindows`) fed
with the labels that have arrived by then. On clean data both give the same features for the same
rows; each of `BUGS` is a mistake that happens in practice, injected into the serving path only.
`compare_rows` compares logged served features with the training features of the same rows, with a
tolerance per kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.pipelines.stream import SlidingWindows

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BUGS", "Arrivals", "DERIVATIONS", "FeatureSpec", "OnlineService", "Tolerance", "batch_features", "compare_rows",
           "fit_spec", "label_arrivals", "mismatched_rows", "time_derived"]

BUGS = {
    "float32": "features cast to float32 instead of float64",
    "unit": "a numeric feature in other units (x 1.609, as miles to kilometres)",
    "stale_cache": "window features read from a store that stopped refreshing `stale` ago",
    "fill": "a missing value filled with 0 instead of left missing",
    "category_codes": "categories encoded in another order (by frequency instead of the training order)",
    "timezone": "the request time read as UTC instead of local time (5 hours later)",
}
# time features a case may hold, as computed from a whole column (batch) and from one timestamp (serving)
DERIVATIONS: dict[str, tuple[Any, Any]] = {
    "hour": (lambda t: t.dt.hour, lambda ts: ts.hour),
    "day_of_week": (lambda t: t.dt.dayofweek, lambda ts: ts.dayofweek),
    "day_name": (lambda t: t.dt.day_name().str[:3], lambda ts: ts.day_name()[:3]),
    "month": (lambda t: t.dt.month, lambda ts: ts.month),
    "year": (lambda t: t.dt.year, lambda ts: ts.year),
}


def time_derived(frame: pd.DataFrame, time_column: str, columns: Sequence[str]) -> dict[str, str]:
    """The columns that equal a derivation of the time column (column -> derivation name).

    Checked on up to about 20,000 rows spread over the frame; a serving path built on a wrong
    derivation shows up at once in a row-wise comparison.
    """
    import pandas as pd

    def same(rows: pd.DataFrame, c: str, whole: Any) -> bool:
        a, b = rows[c], whole(rows[time_column])
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            return bool(np.array_equal(a.to_numpy(dtype=float), b.to_numpy(dtype=float)))
        return bool((a.astype(object).astype(str).to_numpy() == b.astype(object).astype(str).to_numpy()).all())

    probe = frame.iloc[:: max(1, len(frame) // 500)]  # a cheap look first, then a larger spread of rows
    spread = frame.iloc[:: max(1, len(frame) // 20_000)]
    out = {}
    for c in columns:
        for name, (whole, _) in DERIVATIONS.items():
            if same(probe, c, whole) and same(spread, c, whole):
                out[c] = name
                break
    return out


@dataclass(frozen=True)
class FeatureSpec:
    """What training ships to serving: the model's input columns and how each is computed."""

    time_column: str
    numeric: list[str]
    categorical: dict[str, list[Any]]  # column -> levels in the training encoder's order
    derived: dict[str, str]  # column -> time derivation computed from the timestamp at serving time
    window_keys: dict[str, list[str]]  # window feature name -> the columns that form its group
    window: Any  # pandas Timedelta: the length of every window
    lead: Any  # prediction time = event time - lead
    delay: Any  # a label is available at event time + delay
    frequency_order: dict[str, list[Any]] = field(default_factory=dict)  # levels by training frequency

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical, *self.window_keys]

    @property
    def kinds(self) -> dict[str, str]:
        return {c: "categorical" if c in self.categorical else "numeric" for c in self.columns}


def fit_spec(train: pd.DataFrame, time_column: str, numeric: Sequence[str], categorical: Sequence[str],
             window_keys: Mapping[str, Sequence[str]], *, window: Any, lead: Any, delay: Any) -> FeatureSpec:
    """A spec fitted on training rows: categorical levels (their declared order, else sorted) and time derivations."""
    import pandas as pd

    levels, by_frequency = {}, {}
    for c in categorical:
        values = train[c]
        if isinstance(values.dtype, pd.CategoricalDtype):
            levels[c] = list(values.cat.categories)
        else:
            levels[c] = sorted(values.dropna().unique().tolist())
        counts = values.value_counts(dropna=True).reindex(levels[c], fill_value=0)
        by_frequency[c] = list(counts.sort_values(ascending=False, kind="stable").index)
    return FeatureSpec(time_column, list(numeric), levels, time_derived(train, time_column, [*numeric, *categorical]),
                       {k: list(v) for k, v in window_keys.items()}, pd.Timedelta(window), pd.Timedelta(lead),
                       pd.Timedelta(delay), by_frequency)


def batch_features(frame: pd.DataFrame, spec: FeatureSpec, window_values: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The training pipeline: the model's inputs for every row at once (window features given, computed in batch)."""
    import pandas as pd

    out = {c: pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float) for c in spec.numeric}
    for c, levels in spec.categorical.items():
        codes = pd.Index(levels).get_indexer(frame[c].astype(object))
        out[c] = np.where(codes >= 0, codes, np.nan)
    for name in spec.window_keys:
        out[name] = np.asarray(window_values[name], dtype=float)
    return pd.DataFrame(out, index=frame.index)[spec.columns]


Arrivals = tuple[np.ndarray, list, list, list]  # per window feature: time (ns), group, sum of labels, count


def label_arrivals(spec: FeatureSpec, history: pd.DataFrame, labels: np.ndarray) -> dict[str, Arrivals]:
    """The labels as they reach the serving side, per window feature: events at one time per group arrive together."""
    from workbench.pipelines.windows import key_codes

    labels = np.asarray(labels, dtype=float)
    t = (history[spec.time_column] + spec.delay).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    out = {}
    for name, keys in spec.window_keys.items():
        code = key_codes(history, keys)
        first = np.unique(code, return_index=True)[1]
        groups = list(zip(*(history[k].astype(object).to_numpy()[first] for k in keys))) if keys else [()]
        order = np.lexsort((code, t))
        tc, cc, yc = t[order], code[order], labels[order]
        last = np.r_[(tc[1:] != tc[:-1]) | (cc[1:] != cc[:-1]), True]
        ends = np.flatnonzero(last)
        sums = np.add.reduceat(yc, np.r_[0, ends[:-1] + 1]) if len(yc) else yc
        sizes = np.diff(np.r_[-1, ends])
        out[name] = (tc[ends], [groups[c] for c in cc[ends].tolist()], sums.tolist(), sizes.tolist())
    return out


class OnlineService:
    """The serving path: features for one request at a time, from the request and streaming window state.

    `history` holds the rows whose labels become window events (at their time + delay), with `labels`
    (or pass `arrivals`, made once by `label_arrivals`). Requests must come in time order. `bug`
    injects one of `BUGS`.
    """

    def __init__(self, spec: FeatureSpec, history: pd.DataFrame, labels: np.ndarray, bug: str | None = None, *,
                 stale: Any = "7D", unit_column: str | None = None, unit_factor: float = 1.609,
                 tz_shift: Any = "5h", arrivals: Mapping[str, Arrivals] | None = None) -> None:
        import pandas as pd

        if bug is not None and bug not in BUGS:
            raise ValueError(f"unknown bug {bug!r}; known: {', '.join(BUGS)}")
        self.spec, self.bug = spec, bug
        self.unit_column = unit_column or next((c for c in spec.numeric if c not in spec.derived), None)
        self.unit_factor = unit_factor
        self.shift = pd.Timedelta(tz_shift).value if bug == "timezone" else 0
        self.lag = spec.lead.value + (pd.Timedelta(stale).value if bug == "stale_cache" else 0)
        self.tie = int(spec.lead + spec.delay > pd.Timedelta(0))  # as windows.read_times: the moment itself counts
        order = spec.frequency_order if bug == "category_codes" else spec.categorical
        self.codes = {c: {v: i for i, v in enumerate(order[c])} for c in spec.categorical}
        self.windows = {name: SlidingWindows(spec.window.value) for name in spec.window_keys}
        self.arrivals = label_arrivals(spec, history, labels) if arrivals is None else arrivals
        self.next: dict[str, int | None] = {name: None for name in spec.window_keys}  # next arrival to feed

    def _advance(self, name: str, until: int) -> None:
        times, keys, sums, sizes = self.arrivals[name]
        i = self.next[name]
        if i is None:  # first request: skip arrivals that every window has already left
            i = int(np.searchsorted(times, until - self.spec.window.value, side="left"))
        j = max(i, int(np.searchsorted(times, until, side="left")))  # arrivals strictly before `until`
        add = self.windows[name].add
        for key, t, s, n in zip(keys[i:j], times[i:j].tolist(), sums[i:j], sizes[i:j]):
            add(key, t, s, n)
        self.next[name] = j

    def serve(self, request: Mapping[str, Any]) -> dict[str, float]:
        """The model's inputs for one request (a mapping of the raw row's fields)."""
        import pandas as pd

        ts = pd.Timestamp(request[self.spec.time_column]) + pd.Timedelta(self.shift)
        out: dict[str, float] = {}
        for c in self.spec.numeric:
            v = DERIVATIONS[self.spec.derived[c]][1](ts) if c in self.spec.derived else request[c]
            v = np.nan if v is None or pd.isna(v) else float(v)
            out[c] = v * self.unit_factor if self.bug == "unit" and c == self.unit_column else v
        for c in self.spec.categorical:
            v = DERIVATIONS[self.spec.derived[c]][1](ts) if c in self.spec.derived else request[c]
            out[c] = float(self.codes[c].get(v, np.nan))
        asked = ts.value - self.lag + self.tie
        for name, keys in self.spec.window_keys.items():
            self._advance(name, asked)
            s, n = self.windows[name].query(tuple(request[k] for k in keys), asked)
            out[name] = s / n if n else np.nan
        for c, v in out.items():
            if self.bug == "fill" and np.isnan(v):
                out[c] = 0.0
            elif self.bug == "float32" and self.spec.kinds[c] == "numeric":
                out[c] = float(np.float32(v))
        return out

    def serve_all(self, requests: pd.DataFrame) -> pd.DataFrame:
        """Serve each row of `requests` in order, one at a time; the logged features, one row per request."""
        import pandas as pd

        rows = [self.serve(r) for r in requests.to_dict("records")]
        return pd.DataFrame(rows, index=requests.index, columns=self.spec.columns)


@dataclass(frozen=True)
class Tolerance:
    """When two values of a feature count as equal: numeric within rtol and atol, categorical codes exactly."""

    rtol: float = 1e-9
    atol: float = 1e-12

    def equal(self, a: np.ndarray, b: np.ndarray, kind: str) -> np.ndarray:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        both_missing = np.isnan(a) & np.isnan(b)
        with np.errstate(invalid="ignore"):
            same = (a == b) if kind == "categorical" else np.isclose(a, b, rtol=self.rtol, atol=self.atol, equal_nan=False)
        return same | both_missing


def mismatched_rows(expected: pd.DataFrame, served: pd.DataFrame, kinds: Mapping[str, str],
                    tolerance: Tolerance = Tolerance()) -> np.ndarray:
    """Per row: whether any feature the service logged differs from the training pipeline's."""
    if len(expected) != len(served):
        raise ValueError(f"expected ({len(expected)}) and served ({len(served)}) need the same rows")
    bad = np.zeros(len(expected), dtype=bool)
    for c, kind in kinds.items():
        bad |= ~tolerance.equal(expected[c].to_numpy(), served[c].to_numpy(), kind)
    return bad


def compare_rows(expected: pd.DataFrame, served: pd.DataFrame, kinds: Mapping[str, str],
                 tolerance: Tolerance = Tolerance()) -> pd.DataFrame:
    """Per feature: rows that differ, their share, the first (position) and the largest absolute difference."""
    import pandas as pd

    rows = []
    for c, kind in kinds.items():
        a, b = expected[c].to_numpy(dtype=float), served[c].to_numpy(dtype=float)
        bad = ~tolerance.equal(a, b, kind)
        diff = np.abs(a - b)[bad]
        finite = diff[np.isfinite(diff)]
        rows.append({"column": c, "kind": kind, "mismatched": int(bad.sum()), "share": float(bad.mean()) if len(a) else 0.0,
                     "first_row": int(np.argmax(bad)) if bad.any() else None,
                     "max_abs_diff": float(finite.max()) if finite.size else (np.inf if bad.any() else 0.0)})
    return pd.DataFrame(rows).set_index("column")
