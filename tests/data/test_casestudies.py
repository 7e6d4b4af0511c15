"""Data tests of the bundled case studies: schema, labels, sha256, provenance."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from tests.helpers import REPO
from workbench.cases import list_cases, load_case
from workbench.fileio import sha256_file

BUNDLED = ["census", "flights", "lending", "reviews"]
# expected (rows, positive rate) as documented in each DATASHEET.md
EXPECTED = {"census": (277_677, 0.5013), "flights": (327_346, 0.2371), "lending": (9_857, 0.0525),
            "reviews": (5_000, 0.3484)}


def test_the_bundled_cases_are_listed() -> None:
    assert set(BUNDLED) <= {c["id"] for c in list_cases()}


@pytest.mark.parametrize("case_id", BUNDLED)
def test_bundled_case_is_valid_and_matches_its_datasheet(case_id: str) -> None:
    case = load_case(case_id)
    rows, rate = EXPECTED[case_id]
    assert len(case.frame()) == rows
    assert case.positive_rate() == pytest.approx(rate, abs=5e-4)
    assert sha256_file(case.data_path) == case.sha256
    datasheet = (case.folder / "DATASHEET.md").read_text()
    for section in ("Source", "licen", "Preprocessing", "bias", "Intended use"):
        assert section.lower() in datasheet.lower(), f"{case_id} DATASHEET.md lacks {section}"
    assert case.sha256 in datasheet or "sha256" in datasheet.lower()
    assert (case.folder / "build.py").is_file()
    assert "00_framing" in case.notebooks


@pytest.mark.parametrize("case_id", BUNDLED)
def test_bundled_case_columns_fit_their_kinds_and_identifiers_are_not_features(case_id: str) -> None:
    case = load_case(case_id)
    df = case.frame()
    for col in case.feature_columns(("numeric",), include_leaky=True):
        assert pd.api.types.is_numeric_dtype(df[col]), col
    assert not set(case.identifiers) & set(case.features)
    assert df[case.target].nunique() == 2 and case.positive_class in set(df[case.target])


def test_flights_declares_its_leak_and_time_order() -> None:
    case = load_case("flights")
    assert case.leaky == ["dep_delay"] and "dep_delay" not in case.feature_columns()
    times = case.frame()[case.time_column]
    assert times.is_monotonic_increasing
    assert times.min() == pd.Timestamp("2013-01-01 05:15") and times.dt.year.eq(2013).all()
    monthly = case.frame().groupby(times.dt.month)[case.target].mean()
    assert monthly.min() < 0.16 and monthly.max() > 0.28, "a year of real seasonal drift"


def test_census_is_four_survey_years_with_a_slow_real_shift() -> None:
    case = load_case("census")
    df = case.frame()
    years = df[case.time_column]
    assert years.is_monotonic_increasing and (years.dt.month == 1).all() and (years.dt.day == 1).all()
    rows = years.dt.year.value_counts().sort_index()
    assert rows.to_dict() == {2015: 68_785, 2016: 69_126, 2017: 69_635, 2018: 70_131}, "as in the nannyml files"
    assert df["person_id"].tolist() == list(range(len(df)))
    assert not df.isna().any().any()
    assert set(case.sensitive) == {"SEX", "RAC1P"} <= set(case.feature_columns())
    assert df.loc[df["AGEP"] < 16, case.target].eq(0).all(), "children are never at work"
    assert (df["SCHL"] == "0").eq(df["AGEP"] < 3).all(), "education is N/A (0) exactly for the under-3s"
    by_year = df.groupby(years.dt.year)[case.target].mean()
    assert by_year.is_monotonic_increasing and 0.004 < by_year.max() - by_year.min() < 0.02, "small, real shift"


def test_the_data_files_stay_small() -> None:
    for path in (REPO / "casestudies").glob("*/*.parquet"):
        assert path.stat().st_size < 5_000_000, path


@pytest.mark.parametrize("case_id", BUNDLED)
def test_bundled_cases_declare_expectations_a_review_cost_and_06(case_id: str) -> None:
    spec = yaml.safe_load((REPO / "casestudies" / case_id / "case.yaml").read_text())
    case = load_case(case_id)
    assert case.expectations is not None and case.supports("06_evaluation")
    assert case.costs.review is not None and case.costs.review > 0
    assert "A review (review)" in case.costs.note, "the costs note says where the review cost comes from"
    declared = spec["expectations"]
    assert len(case.expectations.monotone) == len(declared.get("monotone", {}))
    assert len(case.expectations.invariances) == len(declared.get("invariances", []))
    for swap in [p for p in case.expectations.invariances if p.kind == "swap"]:
        assert swap.column in case.sensitive, "a swapped attribute is one the case declares sensitive"
    text = (REPO / "casestudies" / case_id / "case.yaml").read_text()
    block = text[text.index("expectations:"):text.index("\nnotebooks:")]
    assert block.count("#") >= len(declared.get("invariances", [])) + len(declared.get("monotone", {})), \
        "each declared expectation says why in a comment"
