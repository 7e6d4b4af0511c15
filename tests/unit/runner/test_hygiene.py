"""Notebook hygiene and student editions (workbench.runner.hygiene) on the committed notebooks."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.helpers import REPO
from workbench.runner.cli import EXIT_FAILED, main
from workbench.runner.hygiene import CODE_PLACEHOLDER, SOLUTION_TAG, clean, problems, student_edition, write_notebook
from workbench.runner.notebooks import read_notebook

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def dirty(nb: dict) -> dict:
    nb = copy.deepcopy(nb)
    code = next(c for c in nb["cells"] if c["cell_type"] == "code" and "nbval-check-output" not in c["metadata"].get("tags", []))
    code["execution_count"] = 7
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]}]
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_are_clean_with_the_standard_sections(path: Path) -> None:
    assert problems(read_notebook(path)) == []


def test_a_dirty_notebook_fails_the_check_and_clean_fixes_it() -> None:
    nb = dirty(read_notebook(NOTEBOOKS[0]))
    found = problems(nb)
    assert any("has outputs" in p for p in found) and any("execution count" in p for p in found)
    assert "metadata: has widget state" in found
    assert problems(clean(nb)) == []
    assert clean(nb) == read_notebook(NOTEBOOKS[0]), "cleaning restores the committed form"


def test_missing_sections_and_parameters_are_reported() -> None:
    nb = read_notebook(NOTEBOOKS[0])
    nb["cells"] = [c for c in nb["cells"] if "parameters" not in c["metadata"].get("tags", [])
                   and "## Decision" not in "".join(c["source"])]
    found = problems(nb)
    assert "has 0 cells tagged 'parameters' (expected exactly 1)" in found
    assert "has no '## Decision' section" in found


def test_the_cli_check_fails_on_a_dirty_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WORKBENCH_NOTEBOOKS", str(tmp_path))
    write_notebook(dirty(read_notebook(NOTEBOOKS[0])), tmp_path / NOTEBOOKS[0].name)
    assert main(["notebooks", "check"]) == EXIT_FAILED
    assert "has outputs" in capsys.readouterr().out
    assert main(["notebooks", "clean"]) == 0
    assert main(["notebooks", "check"]) == 0


def test_student_edition_replaces_only_solution_cells() -> None:
    for path in NOTEBOOKS:
        nb = read_notebook(path)
        student = student_edition(nb)
        assert len(student["cells"]) == len(nb["cells"])
        for src, out in zip(nb["cells"], student["cells"]):
            if SOLUTION_TAG in src["metadata"].get("tags", []):
                assert "exercise" in out["metadata"]["tags"] and SOLUTION_TAG not in out["metadata"]["tags"]
                if src["cell_type"] == "code":
                    assert out["source"] == [CODE_PLACEHOLDER]
            else:
                assert out["source"] == src["source"]
            assert not out.get("outputs")
    assert any(SOLUTION_TAG in c["metadata"].get("tags", []) for c in read_notebook(NOTEBOOKS[0])["cells"])
