"""The `workbench` command: listings, checks, and exit codes for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import make_case
from workbench.runner.cli import EXIT_FAILED, EXIT_USAGE, main


def test_cases_lists_the_bundled_cases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cases"]) == 0
    out = capsys.readouterr().out
    assert all(c in out for c in ("flights", "lending", "reviews"))


def test_cases_check_prints_every_problem_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = make_case(tmp_path / "good")
    bad = make_case(tmp_path / "bad", target="nope", task="regression")
    assert main(["cases", "check", str(good), str(bad)]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert f"{good}: ok" in out or "good: ok" in out
    assert "field 'task': 'regression' is not supported" in out
    assert "column 'nope' named by case.yaml field 'target' does not exist" in out


def test_params_lists_names_types_defaults_and_allowed_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params", "00_framing"]) == 0
    out = capsys.readouterr().out
    assert "split (str) = 'auto'" in out and "one of: auto, time, random" in out


@pytest.mark.usefixtures("case_dir")
def test_run_bad_input_exits_2_with_one_clear_message(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "98_echo", "--case", "tiny", "-p", "x", "eleven"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: invalid parameters for 98_echo.ipynb") and "expected int, got str 'eleven'" in err
    assert main(["run", "98_echo", "--case", "nowhere"]) == EXIT_USAGE
    assert "unknown case study 'nowhere'" in capsys.readouterr().err
    assert main(["run", "98_echo", "--case", "tiny", "-f", str(runs / "absent.yaml")]) == EXIT_USAGE
    assert "cannot read parameters file" in capsys.readouterr().err
    assert not runs.exists()


@pytest.mark.usefixtures("case_dir")
def test_run_reads_a_parameters_file_and_cli_overrides_it(tmp_path: Path, runs: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    params = tmp_path / "p.yaml"
    params.write_text("x: 4\nmode: b\n")
    assert main(["run", "98_echo", "--case", "tiny", "-f", str(params), "-p", "x", "5"]) == 0
    out = capsys.readouterr().out
    assert "x_squared = 25" in out and "mode = b" in out and "decision: echo" in out


@pytest.mark.usefixtures("case_dir")
def test_run_failure_exits_1_naming_the_cell(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "98_echo", "--case", "tiny", "-p", "fail", "true"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "failed in cell 3: ValueError: planted failure" in err and "executed notebook:" in err
    prov = json.loads(next(runs.glob("98_echo/tiny-*/provenance.json")).read_text())
    assert prov["status"] == "failed"


def test_the_console_script_is_installed_and_exits_2_on_bad_input() -> None:
    bin_dir = Path(sys.executable).parent
    proc = subprocess.run([str(bin_dir / "workbench"), "run", "00_framing", "--case", "lending",
                           "-p", "split", "sideways"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == EXIT_USAGE
    assert "'split': 'sideways' is not allowed (one of: auto, time, random)" in proc.stderr
