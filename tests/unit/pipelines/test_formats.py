"""File formats (workbench.pipelines.formats): every format reads back the same rows, sizes, timings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.pipelines import formats


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.Series, dict[str, Path]]:
    rng = np.random.default_rng(0)
    n = 3000
    df = pd.DataFrame({
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 90 * 24 * 60, n)), unit="min"),
        "carrier": rng.choice(["AA", "B6", "DL", "UA"], n),
        "distance": rng.integers(100, 3000, n),
        "delayed": rng.integers(0, 2, n),
    })
    period = df["when"].dt.to_period("M").astype(str)
    return df, period, formats.write_formats(df, tmp_path_factory.mktemp("formats"), period)


@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_every_format_reads_back_the_rows_each_pattern_asks_for(written, fmt: str) -> None:
    df, period, paths = written
    everything = formats.read(fmt, paths[fmt]).to_pandas()
    assert len(everything) == len(df) and set(everything.columns) == set(df.columns)
    back = everything.sort_values(["when", "carrier", "distance", "delayed"]).reset_index(drop=True)
    want = df.sort_values(["when", "carrier", "distance", "delayed"]).reset_index(drop=True)
    assert back["distance"].tolist() == want["distance"].tolist()
    assert back["carrier"].astype(str).tolist() == want["carrier"].tolist()
    assert (pd.to_datetime(back["when"]).to_numpy() == want["when"].to_numpy()).all()
    two = formats.read(fmt, paths[fmt], columns=["carrier", "delayed"])
    assert two.column_names == ["carrier", "delayed"] and two.num_rows == len(df)
    feb = formats.read(fmt, paths[fmt], period="2024-02").to_pandas()
    assert len(feb) == int((period == "2024-02").sum()) and formats.PART not in feb.columns
    assert int(feb["delayed"].sum()) == int(df.loc[period == "2024-02", "delayed"].sum())


def test_sizes_follow_the_encoding(written) -> None:
    _, _, paths = written
    size = {f: formats.file_bytes(p) for f, p in paths.items()}
    assert size["parquet"] < size["csv"] < size["jsonl"], size
    parts = sorted(p.name for p in paths["parquet_partitioned"].iterdir())
    assert parts == ["period=2024-01", "period=2024-02", "period=2024-03"]
    assert size["parquet_partitioned"] == sum(f.stat().st_size for f in paths["parquet_partitioned"].rglob("*") if f.is_file())


def test_rewriting_replaces_the_partitions_of_an_earlier_table(tmp_path: Path) -> None:
    a = pd.DataFrame({"v": [1, 2]})
    formats.write_formats(a, tmp_path, pd.Series(["2020", "2021"]))
    paths = formats.write_formats(a, tmp_path, pd.Series(["2030", "2030"]))
    assert [p.name for p in paths["parquet_partitioned"].iterdir()] == ["period=2030"]


def test_time_reads_reports_every_format_and_pattern(written) -> None:
    df, period, paths = written
    reads = formats.time_reads(paths, ["when", "delayed"], "2024-03", repeats=2)
    assert len(reads) == len(formats.FORMATS) * len(formats.PATTERNS)
    assert (reads["min_s"] <= reads["median_s"]).all() and (reads["median_s"] <= reads["max_s"]).all()
    rows = reads.set_index(["format", "pattern"])["rows"]
    assert (rows.xs("one period", level="pattern") == int((period == "2024-03").sum())).all()
    assert (rows.xs("two columns", level="pattern") == len(df)).all()
    seconds, out = formats.time_call(lambda: 7, repeats=4)
    assert len(seconds) == 4 and out == 7
    with pytest.raises(ValueError, match="format"):
        formats.read("xlsx", paths["csv"])


def test_row_wise_and_columnar_group_means_agree(written) -> None:
    df, _, _ = written
    by_row = formats.group_mean_rowwise(df.to_dict("records"), "carrier", "distance")
    by_col = formats.group_mean_columnar(df, "carrier", "distance")
    expected = {k: df.loc[df["carrier"] == k, "distance"].mean() for k in df["carrier"].unique()}
    assert by_row.keys() == by_col.keys() == expected.keys()
    assert all(np.isclose(by_row[k], expected[k]) and np.isclose(by_col[k], expected[k]) for k in expected)
