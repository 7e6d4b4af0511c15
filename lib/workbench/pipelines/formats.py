"""The same table as CSV, JSON lines and Parquet (one file, or partitioned by period): size and read times.

Every format is written and read with pyarrow (pandas for writing JSON lines, which pyarrow does not
write), so the comparison is between formats, not between libraries. Read patterns: every column,
two columns (column pruning), and one period (partition pruning; the text formats must read and
filter every row). Each timing is repeated and summarised by its median and range.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FORMATS", "PATTERNS", "file_bytes", "group_mean_columnar", "group_mean_rowwise", "read", "time_call",
           "time_reads", "write_formats"]

FORMATS = ("csv", "jsonl", "parquet", "parquet_partitioned")
PATTERNS = ("all columns", "two columns", "one period")
PART = "period"  # the partition column: the row's period as text, e.g. '2013-06'


def write_formats(frame: pd.DataFrame, folder: Path, period: pd.Series) -> dict[str, Path]:
    """Write `frame` in every format under folder; the partitioned Parquet is split by `period` (one folder each)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = frame.assign(**{PART: period.astype(str).to_numpy()})
    table = pa.Table.from_pandas(data, preserve_index=False)
    paths = {"csv": folder / "data.csv", "jsonl": folder / "data.jsonl", "parquet": folder / "data.parquet",
             "parquet_partitioned": folder / "data_by_period"}
    if paths["parquet_partitioned"].exists():  # a stale copy would add its periods to this one
        shutil.rmtree(paths["parquet_partitioned"])
    pcsv.write_csv(table, paths["csv"])
    data.to_json(paths["jsonl"], orient="records", lines=True, date_format="iso", date_unit="s")
    pq.write_table(table, paths["parquet"])
    ds.write_dataset(table.drop_columns([PART]).append_column(PART, table[PART]), paths["parquet_partitioned"],
                     format="parquet", partitioning=[PART], partitioning_flavor="hive")
    return paths


def file_bytes(path: Path) -> int:
    """Size on disk of a file, or of every file under a folder."""
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def read(fmt: str, path: Path, columns: Sequence[str] | None = None, period: str | None = None) -> Any:
    """Read a written table (a pyarrow Table): all columns or `columns`, all rows or those of one `period`."""
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.json as pjson
    import pyarrow.parquet as pq

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    cols = list(columns) if columns is not None else None
    wanted = cols if period is None or cols is None else [*cols, PART]
    if fmt == "csv":
        table = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(include_columns=wanted) if wanted else None)
    elif fmt == "jsonl":
        table = pjson.read_json(path)
        table = table.select(wanted) if wanted else table
    elif fmt == "parquet":
        table = pq.read_table(path, columns=wanted, filters=[(PART, "=", period)] if period is not None else None)
    else:
        where = Path(path) / f"{PART}={period}" if period is not None else path
        table = pq.read_table(where, columns=cols)
        return table.drop_columns([PART]) if PART in table.column_names else table
    if period is not None:
        table = table.filter(pc.equal(table[PART].cast("string"), period))
        table = table.select(cols) if cols is not None else table.drop_columns([PART])
    elif PART in table.column_names:
        table = table.drop_columns([PART])
    return table


def time_call(fn: Callable[[], Any], repeats: int = 3) -> tuple[np.ndarray, Any]:
    """Seconds taken by each of `repeats` calls of fn, and the last call's result."""
    seconds, out = [], None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        out = fn()
        seconds.append(time.perf_counter() - start)
    return np.array(seconds), out


def time_reads(paths: dict[str, Path], two_columns: Sequence[str], period: str, repeats: int = 3) -> pd.DataFrame:
    """Per format and read pattern: rows read, median, min and max seconds over `repeats` reads."""
    import pandas as pd

    rows = []
    patterns: dict[str, dict[str, Any]] = {"all columns": {}, "two columns": {"columns": two_columns},
                                           "one period": {"period": period}}
    for fmt, path in paths.items():
        for pattern, kwargs in patterns.items():
            seconds, table = time_call(partial(read, fmt, path, **kwargs), repeats)
            rows.append({"format": fmt, "pattern": pattern, "rows": table.num_rows, "columns": table.num_columns,
                         "median_s": float(np.median(seconds)), "min_s": float(seconds.min()),
                         "max_s": float(seconds.max())})
    return pd.DataFrame(rows)


def group_mean_rowwise(records: Sequence[dict[str, Any]], key: str, value: str) -> dict[Any, float]:
    """The mean of `value` per `key`, one record at a time (as row-oriented code does)."""
    sums: dict[Any, float] = {}
    counts: dict[Any, int] = {}
    for r in records:
        k = r[key]
        sums[k] = sums.get(k, 0.0) + r[value]
        counts[k] = counts.get(k, 0) + 1
    return {k: sums[k] / counts[k] for k in sums}


def group_mean_columnar(frame: pd.DataFrame, key: str, value: str) -> dict[Any, float]:
    """The mean of `value` per `key`, on whole columns at once (a vectorised group-by)."""
    return frame.groupby(key, observed=True)[value].mean().to_dict()
