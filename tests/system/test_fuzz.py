"""Property-based inputs (hypothesis): requests, case.yaml files, data tables and sweep specs, valid and
invalid. A valid one is accepted; an invalid one is one clear message (exit 2, no traceback); nothing is
written outside the runs folder; a finished run is never replaced by a failed one (issue 21)."""

from __future__ import annotations

import io
import json
import os
import shutil
import string
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import make_case, write_notebook
from workbench import paths
from workbench.cases import check_case, load_case
from workbench.errors import CaseError, ParameterError, WorkbenchError
from workbench.runner.cli import EXIT_USAGE, main
from workbench.runner.publish import is_finished_folder, publish
from workbench.runner.run import plan_run
from workbench.runner.sweep_spec import load_spec

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])
PARAMS = ('case = "tiny"  # case study\n'
          'x = 1  # a number; range: 0..10\n'
          'mode = "a"  # a mode; one of: a, b\n'
          'rate = 0.5  # a rate; range: 0..1\n'
          'seed = 0  # a seed; range: 0..\n'
          'tags = ["a"]  # labels\n'
          'window = "auto"  # rows; "auto" sizes it; type: int; range: 10..\n')

scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=50) | st.sampled_from(["a", "b", "auto", "1e3", "nope", "", "../x", "tiny"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                                           max_size=3), max_leaves=12)
names = st.sampled_from(["x", "mode", "rate", "seed", "tags", "window", "case"]) | st.text(string.ascii_lowercase + "_",
                                                                                         min_size=1, max_size=12)


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding a notebooks folder, a cases folder with `tiny`, and a runs folder path."""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs / "90_fuzz.ipynb", [("markdown", "# Fuzz\n", []), ("code", PARAMS, ["parameters"]),
                                           ("code", "import workbench as wb\nwb.record('x', x)\n", [])])
    make_case(tmp_path / "cases" / "tiny", notebooks=["90_fuzz"])
    monkeypatch.setenv(paths.NOTEBOOKS_ENV, str(nbs))
    monkeypatch.setenv(paths.CASES_ENV, str(tmp_path / "cases"))
    monkeypatch.setenv(paths.RUNS_ENV, str(tmp_path / "runs"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as e:  # argparse's own usage errors
            code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


@SETTINGS
@given(request=st.dictionaries(names, values, max_size=5))
def test_a_request_is_either_planned_or_refused_with_a_parameter_or_case_error(sandbox: Path, request: dict) -> None:
    before = tree(sandbox)
    try:
        run = plan_run("90_fuzz", request)
    except (ParameterError, CaseError) as e:
        assert e.problems and all(isinstance(p, str) and len(p) < 2000 for p in e.problems)
    else:
        assert run.params["x"] in range(0, 11) and run.params["mode"] in ("a", "b")
        assert run.params["window"] == "auto" or run.params["window"] >= 10
        assert 0 <= run.params["seed"] <= 2**32 - 1
    assert tree(sandbox) <= before | {"runs", "runs/.cache", "runs/.cache/sha256.json"}, "planning writes nothing"


@SETTINGS
@given(pairs=st.lists(st.tuples(names, values), min_size=1, max_size=3))
def test_bad_parameters_on_the_command_line_are_one_message_and_exit_2(sandbox: Path, pairs: list,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import workbench.runner.run as run_module

    monkeypatch.setattr(run_module, "execute", lambda *a, **k: pytest.fail("a kernel must not start in this test"))
    argv = ["run", "90_fuzz"]
    for name, value in pairs:
        argv += ["-p", name, yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()]
    before = tree(sandbox)
    try:
        code, _, err = cli(*argv)
    except BaseException as e:
        if "a kernel must not start" not in str(e):
            raise
        return
    assert code == EXIT_USAGE and "error: " in err and "Traceback" not in err and len(err) < 10_000
    assert tree(sandbox) == before, "a refused request writes nothing"


def valid_spec() -> dict:
    return yaml.safe_load((paths.repo_root() / "casestudies" / "README.md").read_text().split("```yaml")[1]
                          .split("```")[0])


MUTABLE = ["id", "title", "question", "data", "sha256", "task", "target", "positive_class", "time_column",
           "features", "identifiers", "sensitive", "text_column", "leaky", "costs", "label_delay_days",
           "prediction_lead_days", "slices", "notebooks"]


@SETTINGS
@given(drop=st.lists(st.sampled_from(MUTABLE), max_size=3, unique=True),
       change=st.dictionaries(st.sampled_from(MUTABLE + ["extra_field"]), values, max_size=3))
def test_a_case_yaml_is_either_valid_or_every_problem_is_named_without_a_traceback(sandbox: Path, drop: list,
                                                                                   change: dict) -> None:
    folder = sandbox / "cases" / "fuzzed"
    shutil.rmtree(folder, ignore_errors=True)
    make_case(folder, n=60, notebooks=["90_fuzz"])
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    for key in drop:
        spec.pop(key, None)
    spec.update(change)
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    problems = check_case(folder)
    assert all(isinstance(p, str) and p for p in problems)
    if not problems:
        assert load_case(folder).id == "fuzzed"
    code, out, err = cli("cases", "check", str(folder))
    assert code in (0, 1) and "Traceback" not in out + err and (code == 1) == bool(problems)


columns = st.sampled_from(["x", "colour", "label", "when", "id", "extra"])
cells = st.sampled_from([0.0, 1.5, -3.0, np.nan, np.inf, "red", "blue", None, "yes", "no", "2024-01-01", "x"])


@SETTINGS
@given(n=st.integers(0, 40), cols=st.lists(columns, min_size=1, max_size=6), fill=st.lists(cells, min_size=1,
                                                                                                  max_size=8),
       csv=st.booleans())
def test_any_data_table_is_either_valid_or_refused_with_reasons(sandbox: Path, n: int, cols: list, fill: list,
                                                                csv: bool) -> None:
    folder = sandbox / "cases" / "table"
    shutil.rmtree(folder, ignore_errors=True)
    make_case(folder, n=60, notebooks=["90_fuzz"])
    rng = np.random.default_rng(n)
    data = {c: [fill[int(rng.integers(len(fill)))] for _ in range(n)] for c in dict.fromkeys(cols)}
    df = pd.DataFrame(data)
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    spec["sha256"] = None
    if csv:
        text = df.to_csv(index=False)
        if len(cols) > len(set(cols)):  # repeat a column name in the header, as a hand-edited CSV would
            text = text.replace(cols[-1], cols[0], 1)
        (folder / "data.csv").write_text(text)
        spec["data"] = "data.csv"
    else:
        df.astype({c: "object" for c in df.columns}).astype(str).to_parquet(folder / "data.parquet", index=False)
    (folder / "case.yaml").write_text(yaml.safe_dump(spec))
    problems = check_case(folder)
    assert all(isinstance(p, str) for p in problems)
    if not problems:
        case = load_case(folder)
        assert len(case.frame()) >= 20 and case.labels().sum() >= 5


spec_keys = st.sampled_from(["notebook", "cases", "seeds", "fixed", "grid", "runs", "plots", "name", "other"])


@SETTINGS
@given(raw=st.dictionaries(spec_keys, values, max_size=6), base=st.booleans())
def test_a_sweep_spec_is_either_loaded_or_refused_and_a_dry_run_writes_nothing(sandbox: Path, raw: dict,
                                                                               base: bool) -> None:
    spec = {"notebook": "90_fuzz", "cases": ["tiny"], **raw} if base else raw
    path = sandbox / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    try:
        loaded = load_spec(path)
    except WorkbenchError as e:
        assert "invalid sweep spec" in str(e) or "must be a YAML mapping" in str(e)
    else:
        assert loaded.name and "/" not in loaded.name and not loaded.name.startswith(".")
    before = tree(sandbox)
    code, out, err = cli("sweep", str(path), "--dry-run")
    assert code in (0, EXIT_USAGE) and "Traceback" not in out + err
    assert tree(sandbox) <= before | {"runs", "runs/.cache", "runs/.cache/sha256.json"}


@settings(max_examples=80, deadline=None)
@given(outcomes=st.lists(st.booleans(), min_size=1, max_size=8))
def test_a_finished_run_is_never_replaced_by_a_failed_one(tmp_path_factory: pytest.TempPathFactory,
                                                          outcomes: list) -> None:
    root = tmp_path_factory.mktemp("publish")
    folder = root / "nb" / "case-0123456789"
    folder.parent.mkdir(parents=True)
    last_ok = None
    for i, ok in enumerate(outcomes):
        tmp = folder.parent / f".tmp-{folder.name}-{os.getpid()}-{i:08x}"
        tmp.mkdir()
        (tmp / "provenance.json").write_text(json.dumps({"status": "ok" if ok else "failed", "attempt": i}))
        if ok:
            (tmp / "results.json").write_text(json.dumps({"attempt": i}))
        publish(tmp, folder, ok=ok)
        last_ok = i if ok else last_ok
        if last_ok is not None:
            assert is_finished_folder(folder)
            assert json.loads((folder / "results.json").read_text())["attempt"] == last_ok
    failures = list((folder.parent / "failures").glob("*")) if (folder.parent / "failures").exists() else []
    assert len(failures) == sum(1 for j, ok in enumerate(outcomes) if not ok and any(outcomes[:j]))
    assert not list(folder.parent.glob(".tmp-*")) and not list(folder.parent.glob(".old-*"))


@pytest.mark.notebook
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=st.integers(0, 10), mode=st.sampled_from(["a", "b"]), rate=st.floats(0, 1),
       window=st.sampled_from(["auto", 10, 500]))
def test_a_valid_request_runs_and_records_what_it_was_given(sandbox: Path, x: int, mode: str, rate: float,
                                                            window) -> None:
    from workbench.runner.run import execute

    result = execute(plan_run("90_fuzz", {"x": x, "mode": mode, "rate": rate, "window": window}))
    assert result.ok and result.results["x"] == x
    assert (result.folder / "results.json").is_file() and result.folder.is_relative_to(sandbox / "runs")
