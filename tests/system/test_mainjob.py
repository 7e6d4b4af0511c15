"""The main job (workbench.runner.mainjob): each case reviewed, up-to-date runs skipped, documents and index written."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.helpers import make_case, write_notebook
from workbench import load_case, paths
from workbench.runner.mainjob import main_job, write_index
from workbench.runner.review import Outcome


@pytest.fixture
def one_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A notebooks folder with one notebook and a cases folder with one case that supports it."""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs / "97_hello.ipynb", [
        ("markdown", "# Hello\n", []),
        ("code", 'case = "solo"  # case study\nx = 2  # a number; range: 0..9\n', ["parameters"]),
        ("code", "import workbench as wb\nwb.record('x_cubed', x ** 3)\n"
                 "wb.decide('say hello', ['x was 2'], ['another x'])\n", []),
    ])
    monkeypatch.setenv(paths.NOTEBOOKS_ENV, str(nbs))
    make_case(tmp_path / "cases" / "solo", notebooks=["97_hello"])
    monkeypatch.setenv(paths.CASES_ENV, str(tmp_path / "cases"))
    return tmp_path


@pytest.mark.notebook
def test_the_main_job_reviews_each_case_once_then_skips_its_runs_until_forced(one_pair: Path) -> None:
    runs = one_pair / "runs"
    bundled = {"census", "flights", "lending", "reviews"}
    out = io.StringIO()
    outcomes, index = main_job(workers=2, runs_dir=runs, out=out)
    ran = [(o.notebook, o.case, o.status) for o in outcomes]
    assert ran == [("97_hello", "solo", "ok")], "only notebooks in the notebooks folder, on cases they apply to"
    assert not bundled & {o.case for o in outcomes}
    assert outcomes[0].results["x_cubed"] == 8
    html = index.read_text()
    assert "say hello" in html and "97_hello" in html and "review/solo/design.html" in html
    design = (runs / "review" / "solo" / "design.html").read_text()
    assert "say hello" in design and "x was 2" in design, "the case's design document carries each decision"
    assert (outcomes[0].folder / "notebook.html").is_file(), "the document links to a rendered notebook"

    again, _ = main_job(workers=1, runs_dir=runs, out=out)
    assert [o.status for o in again] == ["skipped"] and again[0].results["x_cubed"] == 8
    forced, _ = main_job(workers=1, runs_dir=runs, out=out, force=True)
    assert [o.status for o in forced] == ["ok"]
    assert "[1/1] skipped 97_hello on solo (up to date)" in out.getvalue()


def test_the_index_shows_failures_and_links_relative_to_itself(tmp_path: Path, tiny_case: Path) -> None:
    case = load_case(tiny_case)
    folder = tmp_path / "runs" / "00_framing" / "tiny-abc"
    failed = Outcome("00_framing", "tiny", "problem", "failed", folder, {}, "failed in cell 4: ValueError: <boom>", 1.0)
    doc = tmp_path / "runs" / "review" / "tiny" / "design.html"
    page = write_index([case], [failed], {"tiny": doc}, tmp_path / "runs" / "index.html").read_text()
    assert "href='00_framing/tiny-abc/notebook.html'" in page and "failed" in page
    assert "href='review/tiny/design.html'" in page
    assert "Is it yes?" in page, "each case's business question heads its section"


@pytest.mark.notebook
def test_editing_a_module_in_a_subpackage_makes_a_finished_run_stale(one_pair: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from workbench.runner import run

    library = tmp_path / "library" / "workbench"
    shutil.copytree(run.LIBRARY, library, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(run, "LIBRARY", library)
    runs = str(one_pair / "runs")
    assert run.execute_request("97_hello", {"case": "solo"}, runs)["status"] == "ok"
    assert run.execute_request("97_hello", {"case": "solo"}, runs)["status"] == "skipped"
    drift = library / "monitoring" / "drift.py"
    drift.write_text(drift.read_text() + "\n# an edit deep in a toolkit\n")
    assert run.execute_request("97_hello", {"case": "solo"}, runs)["status"] == "ok", "the library changed: rerun"
    (one_pair / "cases" / "solo" / "labelling.py").write_text("def labelling_functions(case):\n    return []\n")
    assert run.execute_request("97_hello", {"case": "solo"}, runs)["status"] == "ok", "the case's code changed: rerun"
