"""Loading and validating case studies (workbench.cases, workbench.cases.schema)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import edit_yaml, make_case
from workbench import paths
from workbench.cases import check_case, find_case, list_cases, load_case
from workbench.errors import CaseError
from workbench.fileio import sha256_file


def test_a_valid_case_loads_with_typed_fields_and_data(tiny_case: Path) -> None:
    case = load_case(tiny_case)
    assert case.id == "tiny" and case.target == "label" and case.positive_class == "yes"
    assert case.costs.false_negative == 4.0 and case.costs.unit == "USD"
    assert case.feature_columns() == ["x", "colour"]
    assert len(case.frame()) == 400
    assert pd.api.types.is_datetime64_any_dtype(case.frame()["when"])
    assert case.labels().tolist() == (case.frame()["label"] == "yes").astype(int).tolist()


def test_a_case_is_found_by_id_on_the_search_path(tiny_case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.CASES_ENV, str(tiny_case.parent))
    assert find_case("tiny") == tiny_case
    assert "tiny" in [c["id"] for c in list_cases()]


def test_an_unknown_case_id_names_the_known_ones() -> None:
    with pytest.raises(CaseError, match=r"unknown case study 'nope' \(known: .*lending"):
        find_case("nope")


def test_every_problem_is_reported_at_once_naming_file_and_field(tiny_case: Path) -> None:
    edit_yaml(tiny_case, target="lable", positive_class="maybe", costs={"unit": "USD", "false_positive": -1,
              "false_negative": 2}, features={"x": "numeric", "colour": "categorical", "size": "numeric",
                                              "x2": "weird"}, colour_map=1)
    problems = check_case(tiny_case)
    text = "\n".join(problems)
    assert len(problems) >= 5, text
    assert "field 'costs.false_positive': expected a non-negative number, got -1" in text
    assert "field 'colour_map': unknown field" in text
    assert "column 'x2' has kind 'weird'" in text
    assert "column 'size' named by case.yaml field 'features' does not exist" in text
    assert "column 'lable' named by case.yaml field 'target' does not exist" in text
    assert all("case.yaml" in p or "data.parquet" in p for p in problems)


def test_a_changed_data_file_fails_its_sha256(tiny_case: Path) -> None:
    df = pd.read_parquet(tiny_case / "data.parquet")
    df.loc[0, "x"] = 99.0
    df.to_parquet(tiny_case / "data.parquet", index=False)
    with pytest.raises(CaseError, match="sha256 is .* but case.yaml field 'sha256' expects"):
        load_case(tiny_case)


def test_dtype_target_and_time_problems_are_found(tiny_case: Path) -> None:
    df = pd.read_parquet(tiny_case / "data.parquet")
    df["x"] = df["x"].astype(str)
    df["when"] = df["when"].astype(str)
    df.loc[3, "when"] = "not a time"
    df.loc[5, "label"] = "maybe"
    df.to_parquet(tiny_case / "data.parquet", index=False)
    edit_yaml(tiny_case, sha256=sha256_file(tiny_case / "data.parquet"))
    text = "\n".join(check_case(tiny_case))
    assert "column 'x' has dtype object, which does not fit kind 'numeric'" in text
    assert "time column 'when' has 1 values that do not parse as datetimes" in text
    assert "target 'label' must have exactly 2 values" in text


def test_missing_fields_bad_yaml_and_empty_data_are_clear(tiny_case: Path) -> None:
    edit_yaml(tiny_case, notebooks=["77_nothing", "00_framing"])
    assert check_case(tiny_case) == [], "an unknown notebook is a warning: WORKBENCH_NOTEBOOKS may hold a subset"
    assert any("field 'notebooks': '77_nothing' is not a notebook in notebooks" in w and "ignored" in w
               for w in load_case(tiny_case).warnings)
    edit_yaml(tiny_case, question=...)
    assert "field 'question': is missing (expected a string)" in "\n".join(check_case(tiny_case))

    (tiny_case / "case.yaml").write_text("id: [unclosed\n")
    assert "is not valid YAML" in check_case(tiny_case)[0]

    make_case(tiny_case)
    pd.read_parquet(tiny_case / "data.parquet").iloc[:0].to_parquet(tiny_case / "data.parquet", index=False)
    edit_yaml(tiny_case, sha256=sha256_file(tiny_case / "data.parquet"))
    assert any("has no rows" in p for p in check_case(tiny_case))


def test_a_csv_case_without_sha256_loads(tiny_case: Path) -> None:
    pd.read_parquet(tiny_case / "data.parquet").to_csv(tiny_case / "data.csv", index=False)
    edit_yaml(tiny_case, data="data.csv", sha256=...)
    case = load_case(tiny_case)
    assert pd.api.types.is_datetime64_any_dtype(case.frame()["when"])
    assert case.positive_rate() == pytest.approx((case.frame()["label"] == "yes").mean())


def test_slice_groups_use_values_or_left_closed_bins(tiny_case: Path) -> None:
    case = load_case(tiny_case)
    by_colour, by_x = case.slices
    assert set(case.slice_groups(by_colour)) == {"red", "green", "blue"}
    groups = case.slice_groups(by_x)
    x = case.frame()["x"]
    assert (groups[x < 0] == "[-10, 0)").all() and (groups[x >= 0] == "[0, 10)").all()


def test_optional_costs_and_the_prediction_lead_are_read_and_checked(tmp_path: Path) -> None:
    folder = make_case(tmp_path / "timed", costs={"unit": "USD", "false_positive": 1, "false_negative": 4,
                                                  "retrain": 100, "review": 2.5},
                       label_delay_days=1, prediction_lead_days=21)
    case = load_case(folder)
    assert (case.costs.retrain, case.costs.review, case.prediction_lead_days) == (100.0, 2.5, 21)
    bad = make_case(tmp_path / "bad", costs={"unit": "USD", "false_positive": 1, "false_negative": 4,
                                             "retrain": -1, "refund": 3}, prediction_lead_days=-2)
    problems = check_case(bad)
    assert any("costs.retrain" in p and "non-negative" in p for p in problems)
    assert any("unknown keys ['refund']" in p for p in problems)
    assert any("prediction_lead_days" in p for p in problems)


def test_a_case_validated_before_is_not_read_again_until_its_data_or_yaml_changes(tmp_path: Path) -> None:
    folder = make_case(tmp_path / "cached", n=120)
    cache = tmp_path / "runs" / ".cache"
    cache.parent.mkdir()
    first = load_case(folder, cache_dir=cache)
    assert first.data is not None and first.rows == 120 and sum(first.class_rows) == 120
    again = load_case(folder, cache_dir=cache)
    assert again.data is None, "valid before and unchanged: not read again"
    assert (again.rows, again.class_rows, again.warnings) == (first.rows, first.class_rows, first.warnings)
    df = pd.read_parquet(folder / "data.parquet")
    df.head(10).to_parquet(folder / "data.parquet", index=False)  # now too small, and its sha256 is wrong
    with pytest.raises(CaseError, match="sha256 is"):
        load_case(folder, cache_dir=cache)


def test_a_big_table_is_read_as_a_seeded_sample_that_matches_pyarrow(tmp_path, monkeypatch) -> None:
    """Above the row cap a notebook reads a seeded sample, read a batch at a time from Parquet; the rows
    are the ones an independent reader (pyarrow's take on the whole table) gives."""
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    from workbench import load_case
    from workbench.cases.data import _read_sample
    from workbench.cases.loading import MAX_ROWS_ENV
    from workbench.cases.synthetic import make_case

    folder = make_case(tmp_path / "big", n=5000)
    data = folder / "data.parquet"
    pq.write_table(pq.read_table(data), data, row_group_size=700)  # several row groups and batches
    import yaml

    from workbench.fileio import sha256_file

    spec = yaml.safe_load((folder / "case.yaml").read_text())
    spec["sha256"] = sha256_file(data)
    (folder / "case.yaml").write_text(yaml.safe_dump(spec))
    rows = np.sort(np.random.default_rng(0).choice(5000, size=1234, replace=False))  # the stated seeded sample
    reference = pq.read_table(data).take(rows).to_pandas()
    sampled = load_case(folder, max_rows=1234)
    pd.testing.assert_frame_equal(sampled.frame()[reference.columns], reference, check_exact=True)
    for batch_rows in (rows[:1], rows[-1:], np.arange(4990, 5000)):  # first, last, a tail inside one batch
        cols = ["x", "colour"]
        pd.testing.assert_frame_equal(_read_sample(data, cols, batch_rows).to_pandas(),
                                      pq.read_table(data, columns=cols).take(batch_rows).to_pandas())
    assert len(load_case(folder, max_rows=None).frame()) == 5000
    monkeypatch.setenv(MAX_ROWS_ENV, "999")
    assert len(load_case(folder).frame()) == 999, "WORKBENCH_MAX_ROWS sets the default cap"
