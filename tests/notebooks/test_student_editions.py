"""Student editions: every notebook's student edition runs top to bottom and still reaches its decision."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import REPO
from workbench.runner.cli import main
from workbench.runner.notebooks import read_notebook, read_records

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_editions_execute_top_to_bottom(path: Path, tmp_path: Path) -> None:
    import papermill

    assert main(["export", "--student", str(tmp_path / "student"), path.stem]) == 0
    student = tmp_path / "student" / path.name
    papermill.execute_notebook(str(student), str(tmp_path / "out.ipynb"), cwd=str(tmp_path),
                               kernel_name="python3", progress_bar=False)
    records = read_records(read_notebook(tmp_path / "out.ipynb"))
    assert records["decision"]["choice"], "the student edition still reaches its decision"
    assert json.dumps(records)
