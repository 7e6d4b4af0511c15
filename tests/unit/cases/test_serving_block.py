"""The optional `serving` block of case.yaml: read into `Case.serving`, every problem reported."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, make_case
from workbench.cases import Serving, check_case, load_case

GOOD = {"requests_per_day": 1000, "entities": 5000, "share_requested": 0.1, "latency_budget_ms": 50,
        "valid_hours": 24, "cpu_hour_price": 0.05, "note": "made up for a test"}


def test_a_case_without_a_serving_block_has_none(tmp_path: Path) -> None:
    assert load_case(make_case(tmp_path / "plain")).serving is None


def test_the_serving_block_is_read_with_its_types(tmp_path: Path) -> None:
    case = load_case(make_case(tmp_path / "served", serving=GOOD))
    assert case.serving == Serving(1000.0, 5000, 0.1, 50.0, 24.0, 0.05, "made up for a test")
    assert isinstance(case.serving.entities, int)


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"requests_per_day": 0}, "serving.requests_per_day", "above 0"),
    ({"entities": 2.5}, "serving.entities", "whole number"),
    ({"share_requested": 1.5}, "serving.share_requested", "(0, 1]"),
    ({"share_requested": 0}, "serving.share_requested", "(0, 1]"),
    ({"latency_budget_ms": "fast"}, "serving.latency_budget_ms", "expected a number, got 'fast'"),
    ({"valid_hours": None}, "serving.valid_hours", "is missing"),
    ({"cpu_hour_price": -1}, "serving.cpu_hour_price", ">= 0"),
    ({"note": 3}, "serving.note", "expected a string"),
    ({"peak": 3}, "serving", "unknown key 'peak'"),
    ({"share_requested": 0.9}, "serving.share_requested", "only 1,000 requests arrive"),
])
def test_each_bad_serving_value_is_named_with_what_was_expected(tmp_path: Path, change: dict, field: str,
                                                                 words: str) -> None:
    block = {**GOOD, **change}
    problems = check_case(make_case(tmp_path / "bad", serving=block))
    hits = [p for p in problems if f"field '{field}'" in p]
    assert hits and words in hits[0], problems


def test_a_missing_key_and_a_non_mapping_are_reported(tmp_path: Path) -> None:
    block = {k: v for k, v in GOOD.items() if k != "entities"}
    assert any("serving.entities" in p and "is missing" in p
               for p in check_case(make_case(tmp_path / "a", serving=block)))
    assert any("field 'serving': expected a mapping" in p
               for p in check_case(make_case(tmp_path / "b", serving=[1, 2])))


@pytest.mark.parametrize("case_id", ["flights", "lending", "reviews"])
def test_each_bundled_case_declares_serving_facts_and_says_where_they_come_from(case_id: str) -> None:
    text = (REPO / "casestudies" / case_id / "case.yaml").read_text()
    block = yaml.safe_load(text)["serving"]
    assert len(block["note"].split()) > 30, "the note gives the reasoning"
    serving_lines = text[text.index("\nserving:"):].splitlines()[1:7]
    assert all("#" in line for line in serving_lines), "every number has a comment"


def test_08_deployment_refuses_a_case_without_serving_facts_before_any_kernel_starts(tmp_path: Path,
                                                                                     monkeypatch) -> None:
    from workbench import paths
    from workbench.errors import ParameterError
    from workbench.runner.run import plan_run

    make_case(tmp_path / "cases" / "unserved", n=3000, notebooks=["08_deployment"])
    make_case(tmp_path / "cases" / "served", n=3000, notebooks=["08_deployment"],
              serving={**GOOD, "requests_per_day": 10_000})
    monkeypatch.setenv(paths.CASES_ENV, str(tmp_path / "cases"))
    with pytest.raises(ParameterError, match=r"needs a `serving` block .* declares none \(add it to case.yaml\)"):
        plan_run("08_deployment", {"case": "unserved"}, runs_dir=tmp_path / "runs")
    assert plan_run("08_deployment", {"case": "served"}, runs_dir=tmp_path / "runs").params["case"] == "served"
