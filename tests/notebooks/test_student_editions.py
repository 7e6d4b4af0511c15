"""Student editions: every notebook's student edition runs top to bottom and still reaches its decision.

A student edition differs from the instructor edition only in its `solution` cells (checked here for
every notebook). Where a notebook has none, its code is the instructor's, which nbval and the smoke
test execute; the editions with a placeholder in place of a solution are executed here, under plain
papermill, and must record what the instructor edition records outside its solutions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import REPO, shared_run
from workbench.runner.cli import main
from workbench.runner.hygiene import SOLUTION_TAG
from workbench.runner.notebooks import read_notebook, read_records

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def has_solutions(path: Path) -> bool:
    return any(SOLUTION_TAG in c.get("metadata", {}).get("tags", []) for c in cells(path))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_student_edition_differs_only_in_its_solution_cells(path: Path, tmp_path: Path) -> None:
    assert main(["export", "--student", str(tmp_path / "student"), path.stem]) == 0
    teacher, student = cells(path), cells(tmp_path / "student" / path.name)
    assert len(student) == len(teacher)
    for t, s in zip(teacher, student):
        assert not s.get("outputs"), "every output is cleared"
        if SOLUTION_TAG in t.get("metadata", {}).get("tags", []):
            assert s["source"] != t["source"], "a solution is replaced by a placeholder"
        else:
            assert (s["cell_type"], s["source"]) == (t["cell_type"], t["source"])


@pytest.mark.notebook
@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if has_solutions(p)], ids=lambda p: p.stem)
def test_student_editions_execute_top_to_bottom(path: Path, tmp_path: Path) -> None:
    import papermill

    assert main(["export", "--student", str(tmp_path / "student"), path.stem]) == 0
    student = tmp_path / "student" / path.name
    papermill.execute_notebook(str(student), str(tmp_path / "out.ipynb"), cwd=str(tmp_path),
                               kernel_name="python3", progress_bar=False)
    records = read_records(read_notebook(tmp_path / "out.ipynb"))
    assert records["decision"]["choice"], "the student edition still reaches its decision"
    assert json.dumps(records)
    teacher = shared_run(path.stem, {}).results  # the instructor edition, same (default) parameters
    def names(recorded: dict) -> set[str]:  # an interval's bounds exist only when its value does (08: a
        return {k.removesuffix("_lo").removesuffix("_hi") for k in recorded}  # loaded machine may price no online)

    assert names(records) == names(teacher), "the student edition records what the instructor edition records"
    timed = [k for k in teacher if "second" in k or k.endswith(("_us", "_ms", "_rps"))]
    if not timed:  # a notebook that records no timing chooses deterministically: same parameters, same choice
        assert records["decision"]["choice"] == teacher["decision"]["choice"]
