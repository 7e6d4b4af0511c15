"""Validation of a case's data file against its case.yaml: columns exist, dtypes fit, target and time are usable."""

from __future__ import annotations

import warnings as pywarnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import paths
from workbench.cases.model import KINDS
from workbench.cases.schema import list_field
from workbench.fileio import sha256_cached, yaml_nodes

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

__all__ = ["MIN_CLASS_ROWS", "MIN_ROWS", "read_data", "release_unused_memory"]


def _fits(series: pd.Series, kind: str) -> bool:
    import pandas as pd

    t = pd.api.types
    if kind == "numeric":
        return bool(t.is_numeric_dtype(series)) and not t.is_bool_dtype(series)
    if kind == "categorical":
        return bool(
            isinstance(series.dtype, pd.CategoricalDtype) or t.is_object_dtype(series)
            or t.is_string_dtype(series) or t.is_bool_dtype(series) or t.is_integer_dtype(series)
        )
    non_null = series.dropna()
    return bool(t.is_string_dtype(series) or t.is_object_dtype(series)) and bool(
        non_null.map(lambda v: isinstance(v, str)).all()
    )


MIN_ROWS = 20  # below this no split leaves anything to learn from or to judge on
MIN_CLASS_ROWS = 5  # each class needs a few rows on both sides of a split


def _csv_header(path: Path) -> list[str]:
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        return next(csv.reader(f), [])


def _parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return [str(name) for name in pq.read_schema(path).names if name != "__index_level_0__"]


def _named(spec: Any) -> set[str]:
    """Every string case.yaml mentions (values and keys, at any depth): the columns worth reading."""
    return {v for v in yaml_nodes(spec) if isinstance(v, str)}


def _sample(n: int, max_rows: int | None) -> Any:
    """Sorted row positions of a seeded random sample of max_rows of n rows, or None to keep every row."""
    import numpy as np

    if not max_rows or n <= max_rows:
        return None
    return np.sort(np.random.default_rng(0).choice(n, size=max_rows, replace=False))


def release_unused_memory() -> None:
    """Give memory freed after reading a table back to the operating system. pyarrow's allocator
    (mimalloc) keeps freed pages for reuse: after validating 5M rows the runner process would go on
    holding 1.9 GB while its kernels run (0.2 GB after this)."""
    import gc
    import sys

    gc.collect()
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()


def _read_sample(path: Path, columns: list[str], rows: Any) -> Any:
    """The given sorted row positions of a Parquet file's columns, as an Arrow table, read a batch at a
    time: memory holds the sample and one batch, never the whole table (5M rows x 20 columns would
    be 1.5 GB in Arrow before sampling)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    whole = pq.read_schema(path)
    schema = pa.schema([whole.field(c) for c in columns], metadata=whole.metadata)
    parts, start = [], 0
    for batch in file.iter_batches(batch_size=65_536, columns=columns, use_pandas_metadata=False):
        end = start + batch.num_rows
        lo, hi = np.searchsorted(rows, [start, end])
        if hi > lo:
            parts.append(batch.take(pa.array(rows[lo:hi] - start)))
        start = end
    return pa.Table.from_batches(parts, schema=schema)


def read_data(folder: Path, spec: dict[str, Any], *, verify_sha256: bool = True,
              warnings: list[str] | None = None, max_rows: int | None = None,
              sizes: dict[str, int] | None = None) -> tuple[pd.DataFrame | None, list[str]]:
    """Read the data file and check it against the spec; return the frame and its problems.

    Problems a notebook could not survive are errors (no rows, fewer than MIN_ROWS, a class with
    fewer than MIN_CLASS_ROWS rows, an empty or infinite feature, duplicate column names); what a
    notebook survives (a constant feature) is appended to `warnings`.
    """
    import numpy as np
    import pandas as pd

    warnings = [] if warnings is None else warnings

    name = spec.get("data")
    if not isinstance(name, str):
        return None, []
    path = folder / name
    where = paths.display(path)
    if not path.is_file():
        return None, [f"{paths.display(folder / 'case.yaml')}: field 'data': file {where} does not exist"]
    problems: list[str] = []
    if verify_sha256 and isinstance(spec.get("sha256"), str):
        actual = sha256_cached(path)
        if actual != spec["sha256"]:
            problems.append(
                f"{where}: sha256 is {actual}, but case.yaml field 'sha256' expects {spec['sha256']} "
                "(the file changed: rebuild it with the case's build.py, or update sha256 if the change is intended)"
            )
    try:
        header = _csv_header(path) if path.suffix == ".csv" else _parquet_columns(path)
        named = _named(spec)  # read only the columns case.yaml names: a wide table costs no memory for the rest
        keep = [c for c in dict.fromkeys(header) if c in named]
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            total = pq.ParquetFile(path).metadata.num_rows
            rows = _sample(total, max_rows)
            table = pq.read_table(path, columns=keep) if rows is None else _read_sample(path, keep, rows)
            df = table.to_pandas()
            del table
        else:
            df = pd.read_csv(path, usecols=lambda c: c in named) if keep else pd.read_csv(path)
            total = len(df)
            rows = _sample(total, max_rows)
            if rows is not None:
                df = df.iloc[rows].reset_index(drop=True)
        if sizes is not None:
            sizes.update(total=total, read=len(df))
    except Exception as e:  # noqa: BLE001 - any reader failure is a broken data file
        return None, [*problems, f"{where}: cannot be read as {path.suffix[1:]} ({type(e).__name__}: {e})"]
    if len(df) == 0:
        return None, [*problems, f"{where}: has no rows"]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        return None, [*problems, f"{where}: column names {repeated} appear more than once; each column needs its "
                                 "own name"]
    if len(df) < MIN_ROWS:
        problems.append(f"{where}: has {len(df)} rows; a case needs at least {MIN_ROWS} (and each notebook states "
                        "its own minimum)")

    columns = set(df.columns)

    def missing(fld: str, col: Any) -> bool:
        if isinstance(col, str) and col not in columns:
            problems.append(
                f"{where}: column '{col}' named by case.yaml field '{fld}' does not exist "
                f"(columns: {', '.join(map(str, df.columns))})"
            )
            return True
        return False

    features: dict[str, Any] = spec["features"] if isinstance(spec.get("features"), dict) else {}
    for col, kind in features.items():
        if missing("features", col) or kind not in KINDS:
            continue
        if not _fits(df[col], kind):
            problems.append(f"{where}: column '{col}' has dtype {df[col].dtype}, which does not fit kind '{kind}'")
            continue
        values = df[col]
        if values.isna().all():
            problems.append(f"{where}: feature '{col}' has no values (all {len(df)} missing); drop it from features")
            continue
        if kind == "numeric" and np.isinf(values.to_numpy(dtype=float, na_value=np.nan)).any():
            n_inf = int(np.isinf(values.to_numpy(dtype=float, na_value=np.nan)).sum())
            problems.append(f"{where}: feature '{col}' has {n_inf} infinite values; replace them (e.g. by missing)")
        elif values.nunique(dropna=True) == 1:
            warnings.append(f"{where}: feature '{col}' is constant ({values.dropna().iloc[0]!r}): it cannot inform "
                            "a model; consider dropping it from features")
    for fld in ("identifiers", "sensitive"):
        for col in list_field(spec, fld):
            missing(fld, col)
    for s in list_field(spec, "slices"):
        if (isinstance(s, dict) and not missing("slices", s.get("column")) and s.get("bins") is not None
                and not pd.api.types.is_numeric_dtype(df[s["column"]])):
            problems.append(f"{where}: slice column '{s['column']}' has bins but dtype {df[s['column']].dtype}")

    target = spec.get("target")
    if isinstance(target, str) and not missing("target", target):
        y = df[target]
        if y.isna().any():
            problems.append(f"{where}: target '{target}' has {int(y.isna().sum())} missing values")
        values = sorted(y.dropna().unique().tolist(), key=str)
        if len(values) != 2:
            problems.append(f"{where}: target '{target}' must have exactly 2 values for task 'binary', "
                            f"has {len(values)}: {values[:10]}")
        if "positive_class" in spec and spec["positive_class"] not in values:
            problems.append(
                f"{paths.display(folder / 'case.yaml')}: field 'positive_class': {spec['positive_class']!r} "
                f"is not a value of target '{target}' (values: {values[:10]})"
            )
        elif len(values) == 2:
            counts = y.value_counts()
            rare = counts.idxmin()
            if counts.min() < MIN_CLASS_ROWS:
                problems.append(f"{where}: target '{target}' has {int(counts.min())} rows of class {rare!r}; at least "
                                f"{MIN_CLASS_ROWS} of each class are needed to train on some and judge on others")
        fairness = spec.get("fairness")
        favourable = fairness.get("favourable") if isinstance(fairness, dict) else None
        if favourable is not None and favourable not in values:
            problems.append(
                f"{paths.display(folder / 'case.yaml')}: field 'fairness.favourable': {favourable!r} "
                f"is not a value of target '{target}' (values: {values[:10]})"
            )
        problems += _expected_values(spec, values, paths.display(folder / "case.yaml"))

    if spec.get("task") == "interactions" and isinstance(spec.get("interactions"), dict):
        _check_interactions_data(df, spec["interactions"], where, missing, problems)

    tcol = spec.get("time_column")
    if isinstance(tcol, str) and not missing("time_column", tcol):
        if not pd.api.types.is_datetime64_any_dtype(df[tcol]):
            with pywarnings.catch_warnings():  # "could not infer format": each value is parsed on its own
                pywarnings.simplefilter("ignore")
                parsed = pd.to_datetime(df[tcol], errors="coerce")
            bad = int(parsed.isna().sum() - df[tcol].isna().sum())
            if bad:
                problems.append(f"{where}: time column '{tcol}' has {bad} values that do not parse as datetimes")
            else:
                df[tcol] = parsed
        if df[tcol].isna().any():
            problems.append(f"{where}: time column '{tcol}' has {int(df[tcol].isna().sum())} missing values")
    return (None if problems else df), problems


def _check_interactions_data(df: pd.DataFrame, block: dict[str, Any], where: str,
                             missing: Callable[[str, Any], bool], problems: list[str]) -> None:
    """Logged interactions are usable: the named columns exist, rewards are 0/1, propensities lie in (0, 1]."""
    import pandas as pd

    t = pd.api.types
    present = {key: col for key, col in block.items()
               if key in ("action", "reward", "propensity", "policy", "position", "segment")
               and isinstance(col, str) and not missing(f"interactions.{key}", col)}
    for col in block.get("context") or []:
        missing("interactions.context", col)
    for key, col in present.items():
        if df[col].isna().any():
            problems.append(f"{where}: column '{col}' (interactions.{key}) has {int(df[col].isna().sum())} missing values")
    if "reward" in present:
        r = df[present["reward"]]
        if not (t.is_bool_dtype(r) or t.is_numeric_dtype(r)) or not set(r.dropna().unique().tolist()) <= {0, 1}:
            problems.append(f"{where}: reward column '{present['reward']}' must hold 0/1 (e.g. click or no click), "
                            f"has values {sorted(map(str, r.dropna().unique().tolist()))[:10]}")
    if "propensity" in present:
        p = df[present["propensity"]]
        if not t.is_numeric_dtype(p) or t.is_bool_dtype(p):
            problems.append(f"{where}: propensity column '{present['propensity']}' must be numeric, has dtype {p.dtype}")
        elif not p.dropna().between(0, 1, inclusive="right").all():
            outside = int((~p.dropna().between(0, 1, inclusive="right")).sum())
            problems.append(f"{where}: propensity column '{present['propensity']}' has {outside} values outside (0, 1] "
                            "(a logged action must have had a positive probability)")
    if "position" in present and not t.is_integer_dtype(df[present["position"]]):
        problems.append(f"{where}: position column '{present['position']}' must hold whole numbers, "
                        f"has dtype {df[present['position']].dtype}")
    uniform = block.get("uniform_policy")
    if isinstance(uniform, str) and "policy" in present:
        rows = df[df[present["policy"]].astype(str) == uniform]
        if rows.empty:
            problems.append(f"{where}: interactions.uniform_policy '{uniform}' is not a value of column "
                            f"'{present['policy']}' (values: {sorted(map(str, df[present['policy']].unique()))[:10]})")
        elif "propensity" in present and t.is_numeric_dtype(rows[present["propensity"]]):
            keys = [present["segment"]] if "segment" in present else []
            spread = (rows.groupby(keys, observed=True)[present["propensity"]].nunique() if keys
                      else pd.Series([rows[present["propensity"]].nunique()]))
            if (spread > 1).any():
                problems.append(f"{where}: rows of uniform_policy '{uniform}' must all have the same propensity"
                                f"{' within each ' + present['segment'] if keys else ''} (uniform logging), "
                                f"found up to {int(spread.max())} different values")


def _expected_values(spec: dict[str, Any], values: list[Any], where: str) -> list[str]:
    """Problems with `expectations.examples`: each example's expected class must be a value of the target."""
    block = spec.get("expectations")
    examples = block.get("examples") if isinstance(block, dict) else None
    out = []
    for i, ex in enumerate(examples if isinstance(examples, list) else []):
        if isinstance(ex, dict) and "expected" in ex and ex["expected"] not in values:
            out.append(f"{where}: field 'expectations.examples[{i}].expected': {ex['expected']!r} is not a value of "
                       f"target '{spec.get('target')}' (values: {values[:10]})")
    return out
