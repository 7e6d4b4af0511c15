"""Your own table in, a design review out (issue 20): `workbench init` drafts a valid case from tables of
many shapes and refuses bad ones clearly; `workbench review` runs what applies and writes one document."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from workbench import load_case
from workbench.cases import check_case
from workbench.cases.synthetic import make_table
from workbench.errors import WorkbenchError
from workbench.runner.cli import EXIT_USAGE, main
from workbench.runner.draft import draft_case


def drafted(tmp_path: Path, df: pd.DataFrame, name: str = "mine", csv: bool = True, **options) -> tuple[dict, Path]:
    table = tmp_path / (f"{name}.csv" if csv else f"{name}.parquet")
    df.to_csv(table, index=False) if csv else df.to_parquet(table, index=False)
    folder, _ = draft_case(table, "outcome", out=tmp_path / "cases" / name, **options)
    assert check_case(folder) == [], "the draft is a valid case"
    return yaml.safe_load((folder / "case.yaml").read_text()), folder


@pytest.mark.parametrize(("shape", "options", "check"), [
    ("no_time", {"time": False}, lambda s: s["time_column"] is None),
    ("time", {"time": True}, lambda s: s["time_column"] == "when" and "when" not in s["features"]),
    ("text", {"text": True}, lambda s: s["features"]["comment"] == "text" and s["text_column"] == "comment"),
    ("sensitive", {"sensitive": True}, lambda s: s["features"]["group"] == "categorical"),
    ("rows_500", {"n": 500}, lambda s: len(s["features"]) == 9),
    ("missing", {"missing": 0.2}, lambda s: s["features"]["num_0"] == "numeric"),
    ("high_cardinality", {"high_cardinality": True}, lambda s: s["features"]["code"] == "categorical"),
    ("rare_positives", {"positive_rate": 0.01, "n": 4000}, lambda s: s["positive_class"] == "yes"),
    ("leak", {"leak": True}, lambda s: s["leaky"] == ["leak"] and "leak" in s["features"]),
    ("identifier", {"identifier": True}, lambda s: s["identifiers"] == ["row_id"] and "row_id" not in s["features"]),
])
def test_init_drafts_a_valid_case_from_tables_of_many_shapes(tmp_path: Path, shape: str, options: dict,
                                                             check) -> None:
    n = options.pop("n", 1500)
    spec, folder = drafted(tmp_path, make_table(n, **options), shape)
    assert check(spec), spec
    assert spec["costs"]["assumption"] == "placeholder" and spec["target"] == "outcome"
    text = (folder / "case.yaml").read_text()
    assert all("#" in line for line in text.splitlines() if re.match(r"\s+\S+: (numeric|categorical|text)", line)), \
        "every inferred kind says why"


def test_init_handles_200_columns_and_parquet(tmp_path: Path) -> None:
    spec, _ = drafted(tmp_path, make_table(800, numeric=190, categorical=8), "wide", csv=False)
    assert len(spec["features"]) == 198


def test_init_drops_or_pools_rows_without_a_label(tmp_path: Path) -> None:
    df = make_table(1000)
    df.loc[df.index[:37], "outcome"] = None
    spec, folder = drafted(tmp_path, df, "dropped")
    assert len(load_case(folder).frame()) == 963 and "37 rows without a label dropped" in (folder / "case.yaml").read_text()
    _, pooled = drafted(tmp_path, df, "pooled", unlabelled="pool")
    assert len(pd.read_parquet(pooled / "unlabelled.parquet")) == 37


@pytest.mark.parametrize(("name", "make", "args", "message"), [
    ("one_class", lambda: make_table(300).assign(outcome="no"), [], "target 'outcome' has 1 value(s)"),
    ("three_values", lambda: make_table(300).assign(outcome=np.resize(["a", "b", "c"], 300)), [],
     "target 'outcome' has 3 values"),
    ("no_feature", lambda: pd.DataFrame({"row_id": range(300), "outcome": np.resize(["yes", "no"], 300)}), [],
     "no usable feature"),
    ("bad_time", lambda: make_table(300).assign(when="not a date"), ["--time", "when"],
     "time column 'when': 300 of 300 values are missing or do not parse"),
    ("empty", lambda: pd.DataFrame({"x": [], "outcome": []}), [], "the table is empty"),
])
def test_init_refuses_bad_tables_with_a_clear_error_and_writes_nothing(tmp_path: Path, name: str, make, args: list,
                                                                       message: str,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / f"{name}.csv"
    make().to_csv(table, index=False)
    out = tmp_path / "cases" / name
    assert main(["init", str(table), "--target", "outcome", "--out", str(out), *args]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists() and not list((tmp_path / "cases").glob(".init-*")), "nothing that looks finished"


def test_init_refuses_an_existing_folder_and_an_unknown_target(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    make_table(300).to_csv(table, index=False)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("mine")
    with pytest.raises(WorkbenchError, match="already exists and is not empty"):
        draft_case(table, "outcome", out=tmp_path / "taken")
    with pytest.raises(WorkbenchError, match="--target 'nope' is not a column"):
        draft_case(table, "nope", out=tmp_path / "fresh")


def test_review_refuses_placeholder_costs_before_any_kernel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, folder = drafted(tmp_path, make_table(600), "unpriced")
    assert main(["review", str(folder), "--runs", str(tmp_path / "runs")]) == EXIT_USAGE
    assert "costs are placeholders" in capsys.readouterr().err and not (tmp_path / "runs").exists()


def numbers_in(md: str) -> dict[str, str]:
    return dict(re.findall(r"^\| (\w+) \| ([^|]+) \|$", md, flags=re.M))


# Every shape the issue names passes through init and review; shapes are combined to keep the suite short.
REVIEW_SHAPES = {
    "time-sensitive-missing-highcard-leak-id": {"time": True, "sensitive": True, "missing": 0.05,
                                                "high_cardinality": True, "leak": True, "n": 2500},
    "text-no-time-positives-1pc": {"time": False, "text": True, "positive_rate": 0.01, "n": 6000},
    "rows-500-columns-200": {"numeric": 190, "categorical": 8, "n": 500},
}


@pytest.mark.notebook
@pytest.mark.parametrize("shape", list(REVIEW_SHAPES.values()), ids=list(REVIEW_SHAPES))
def test_review_runs_every_notebook_that_applies_and_its_document_matches_the_runs(tmp_path: Path, shape: dict) -> None:
    from workbench.runner.review import SECTION_TITLES, applicable_notebooks, headline_numbers, review

    shape = dict(shape)
    n = shape.pop("n")
    spec, folder = drafted(tmp_path, make_table(n, **shape), "rev", equal_costs=True)
    if shape.get("leak"):
        assert spec["leaky"] == ["leak"], "init flags the planted leak"
    if shape.get("sensitive"):
        from tests.helpers import edit_yaml

        edit_yaml(folder, sensitive=["group"])  # what a user adds after reading the draft
    out = io.StringIO()
    outcomes, doc = review(str(folder), runs_dir=tmp_path / "runs", workers=2, log=out)
    failed = [o for o in outcomes if o.status == "failed"]
    assert not failed, "\n".join(o.error or "" for o in failed)
    validated = yaml.safe_load((tmp_path / "runs" / ".cache" / "validated-cases.json").read_text())
    assert str(folder.resolve()) in validated, "validated once: the workers plan from the cache, not the data"
    plan = applicable_notebooks(load_case(folder))
    md = (doc.parent / "design.md").read_text()
    for a in plan:
        if a.reasons:
            assert f"{a.notebook.stem} does not apply:* {a.reasons[0]}" in md, "a section that does not apply says why"
        assert f"## {SECTION_TITLES[a.needs.section]}" in md
    shown = numbers_in(md)
    for o in outcomes:
        assert o.results["decision"]["choice"] in md
        for name, text in headline_numbers(o.results):
            assert shown.get(name) == text, "the document's numbers are the runs' recorded values"
    assert "costs.assumption: equal" in md
