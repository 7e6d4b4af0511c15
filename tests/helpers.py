"""Helpers shared by tests: the repository root, a bundled case read without the library, test notebooks.

Synthetic case folders come from the library (`workbench.cases.synthetic.make_case`), so that
benchmarks use the same ones without importing tests.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from workbench.cases.synthetic import make_case
from workbench.runner.hygiene import write_notebook as _write
from workbench.runner.notebooks import new_notebook

__all__ = ["REPO", "at_declared_minimum", "case_with_permuted_test_labels", "edit_yaml", "finished_runs",
           "latest_rows", "make_case", "raw_case", "run_with_predictions", "write_case", "write_notebook"]

REPO = Path(__file__).resolve().parents[1]


def raw_case(case_id: str) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """A bundled case read without the library: its case.yaml, its data, and y (True = positive class;
    for logged interactions, a reward of 1)."""
    folder = REPO / "casestudies" / case_id
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    df = pd.read_parquet(folder / spec["data"])
    if spec.get("task") == "interactions":
        return spec, df, (df[spec["interactions"]["reward"]] == 1).to_numpy()
    return spec, df, (df[spec["target"]] == spec["positive_class"]).to_numpy()


def edit_yaml(folder: Path, **changes) -> None:
    """Change top-level fields of a case folder's case.yaml (`...` as a value removes the field)."""
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    for key, value in changes.items():
        if value is ...:
            spec.pop(key)
        else:
            spec[key] = value
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


def latest_rows(times: np.ndarray, test_size: float) -> np.ndarray:
    """The test rows of a time split, recomputed without the library: the latest ceil(test_size x n) rows,
    and every row that shares the cut-off time (a boolean mask)."""
    import math

    n = len(times)
    return times >= np.sort(times)[n - math.ceil(test_size * n)]


def write_case(folder: Path, spec: dict, df: pd.DataFrame) -> Path:
    """A case folder holding `df` as its data file and `spec` as its case.yaml (id: the folder's name,
    no sha256), e.g. a bundled case with some rows altered."""
    folder.mkdir(parents=True)
    df.to_parquet(folder / spec["data"], index=False)
    spec = {k: v for k, v in spec.items() if k != "sha256"} | {"id": folder.name}
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def write_notebook(path: Path, cells: list[tuple[str, str, list[str]]]) -> Path:
    """A minimal nbformat-4 notebook from (cell_type, source, tags), written to path."""
    _write(new_notebook(cells), path)
    return path


def finished_runs(runs: Path, notebook: str = "*") -> list[Path]:
    """Published, finished run folders (results.json present), not temporary folders being built
    (hidden, named .tmp-...) nor failed attempts kept under failures/."""
    return sorted(p.parent for p in runs.glob(f"{notebook}/*/results.json")
                  if not p.parent.name.startswith(".") and p.parent.parent.name != "failures")


def case_with_permuted_test_labels(case_id: str, folder: Path, *, test_size: float = 0.25, seed: int = 0) -> Path:
    """A copy of a bundled case with a time column whose test rows (the latest `test_size` of rows, as a
    time split holds them out) have their labels shuffled among themselves; returns the copy's folder.

    Training and validation rows are untouched, so a decision made on them must come out the same,
    while every number measured on test rows changes.
    """
    spec, df, _ = raw_case(case_id)
    times = df[spec["time_column"]].to_numpy()
    n_test = math.ceil(test_size * len(df))
    test = np.flatnonzero(times >= np.sort(times)[len(df) - n_test])
    labels = df[spec["target"]].to_numpy().copy()
    labels[test] = labels[np.random.default_rng(seed).permutation(test)]
    df[spec["target"]] = labels
    folder = Path(folder) / case_id
    folder.mkdir(parents=True)
    for code in (REPO / "casestudies" / case_id).glob("*.py"):
        shutil.copy(code, folder / code.name)  # hooks the case brings (e.g. labelling.py)
    df.to_parquet(folder / spec["data"], index=False)
    spec.pop("sha256", None)
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def run_with_predictions(notebook: str, case: str | Path, runs: Path, **params: object) -> tuple[dict, pd.DataFrame]:
    """Execute a notebook under `workbench run`'s machinery: (its recorded results, the predictions.parquet it saved)."""
    result = shared_run(notebook, {"case": str(case), **params})  # `runs` unused: runs are shared
    assert result.ok, result.error
    return result.results, pd.read_parquet(result.run.folder / "predictions.parquet")


def at_declared_minimum(notebook: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A feature x and labels for exactly the notebook's declared min_rows rows, min_class_rows of them positive.

    x carries signal (a positive's x tends to be high); the metadata is read from the .ipynb, not the library.
    """
    import json

    meta = json.loads((REPO / "notebooks" / f"{notebook}.ipynb").read_text())["metadata"]["workbench"]
    n, rare = meta["min_rows"], meta["min_class_rows"]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    score = x + rng.normal(size=n)
    return x, score >= np.sort(score)[-rare]


def command_line(process) -> str:
    """A process's command line, "" once it has ended (a zombie not yet reaped has none)."""
    import psutil

    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


SHARED_RUNS_ENV = "WORKBENCH_TEST_SHARED_RUNS"  # set by tests/conftest.py for the whole session


def shared_run(notebook: str, params: dict):
    """A run of a bundled notebook with these parameters, executed once per test session and shared by
    every test, on every pytest-xdist worker, that asks for exactly the same request (the runner's own
    reuse: same notebook, parameters, case data and library fingerprint). Tests only read it.

    A file lock per run makes a second asker wait for the first instead of running it twice."""
    import json
    import os

    from filelock import FileLock

    from workbench.runner.run import RunResult, execute, is_finished, plan_run

    root = Path(os.environ[SHARED_RUNS_ENV])
    run = plan_run(notebook, params, runs_dir=root)
    locks = root / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with FileLock(str(locks / f"{run.folder.parent.name}-{run.folder.name}.lock")):
        if is_finished(run):
            prov = json.loads((run.folder / "provenance.json").read_text())
            results = json.loads((run.folder / "results.json").read_text())
            return RunResult(run, "ok", results, None, prov["duration_s"], run.folder, prov["warnings"])
        return execute(run)
