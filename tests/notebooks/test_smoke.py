"""Smoke profile: every notebook runs with its default parameters on every case that supports it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import shared_run
from workbench.cases import list_cases
from workbench.runner.notebooks import list_notebooks
from workbench.runner.review import supported_notebooks

pytestmark = pytest.mark.notebook

PAIRS = [(nb.stem, c["id"]) for c in list_cases() for nb in list_notebooks() if nb.stem in supported_notebooks(c)]


def test_every_notebook_is_supported_by_some_case() -> None:
    supported = {nb for nb, _ in PAIRS}
    assert supported == {nb.stem for nb in list_notebooks()}


@pytest.mark.parametrize(("notebook", "case"), PAIRS, ids=[f"{nb}-{c}" for nb, c in PAIRS])
def test_defaults_run_and_reach_a_decision(notebook: str, case: str, tmp_path: Path) -> None:
    result = shared_run(notebook, {"case": case})
    assert result.ok, result.error
    decision = result.results["decision"]
    assert decision["choice"] and decision["evidence"] and decision["would_change"]
    assert (result.run.folder / "figures").is_dir(), "a decision notebook shows its evidence in figures"
