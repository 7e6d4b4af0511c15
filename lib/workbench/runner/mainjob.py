"""The main job: every notebook on every case it supports, with defaults, and a design-review index."""

from __future__ import annotations

import html
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench import paths
from workbench.cases import list_cases, load_case
from workbench.fileio import atomic_write
from workbench.runner.notebooks import list_notebooks

__all__ = ["Outcome", "main_job", "write_index"]


@dataclass
class Outcome:
    """One run of the main job, as the index shows it."""

    notebook: str
    case: str
    status: str  # ok | failed | skipped (up to date)
    folder: Path
    results: dict[str, Any]
    error: str | None
    duration_s: float


def _pairs() -> list[tuple[Path, str]]:
    cases = list_cases()
    return [(nb, c["id"]) for nb in list_notebooks() for c in cases if nb.stem in c["notebooks"]]


def _one(notebook: str, case: str, runs_dir: str, force: bool) -> Outcome:
    """Plan and execute one default run, or reuse it when up to date (in a worker process)."""
    from workbench.runner.run import execute_request

    row = execute_request(notebook, {"case": case}, runs_dir, html=True, force=force)
    folder = Path(row["folder"])
    results = json.loads((folder / "results.json").read_text()) if row["status"] != "failed" else {}
    return Outcome(Path(notebook).stem, case, row["status"], folder, results, row["message"], row["duration_s"])


def main_job(*, workers: int | None = None, force: bool = False, runs_dir: Path | None = None,
             out=sys.stdout) -> tuple[list[Outcome], Path]:
    """Run every (notebook, case) pair in parallel, write runs/index.html, return the outcomes."""
    from workbench.runner.pool import run_in_processes, worker_count

    runs = (runs_dir or paths.runs_dir()).resolve()
    pairs = _pairs()
    for case in sorted({c for _, c in pairs}):
        load_case(case)  # every case valid before any kernel starts
    workers = worker_count(workers, len(pairs))
    # Kernels keep their libraries' default thread counts: capping OMP_NUM_THREADS at 1 per run made
    # two parallel runs 50x slower here (scikit-learn's lbfgs spinning), so it is not done.
    print(f"main job: {len(pairs)} runs, {workers} in parallel, into {paths.display(runs)}", file=out, flush=True)
    outcomes: list[Outcome] = []
    started = time.time()
    tasks = [(str(nb), case, str(runs), force) for nb, case in pairs]
    for i, (k, o, exc) in enumerate(run_in_processes(_one, tasks, workers), 1):
        if exc is not None:  # a broken request is reported, the others go on
            nb, case = pairs[k][0].stem, pairs[k][1]
            o = Outcome(nb, case, "failed", runs / nb, {}, f"{type(exc).__name__}: {exc}", 0.0)
        outcomes.append(o)
        took = "up to date" if o.status == "skipped" else f"{o.duration_s:.1f} s"
        print(f"[{i}/{len(pairs)}] {o.status:7} {o.notebook} on {o.case} ({took})", file=out, flush=True)
        if o.error:
            print("  " + o.error.replace("\n", "\n  "), file=out, flush=True)
    outcomes.sort(key=lambda o: (o.case, o.notebook))
    index = write_index(outcomes, runs / "index.html")
    print(f"done in {time.time() - started:.1f} s; index: {paths.display(index)}", file=out, flush=True)
    return outcomes, index


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def write_index(outcomes: list[Outcome], path: Path) -> Path:
    """An HTML design review: each case, each decision with its key numbers, links to the notebooks."""
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Design review</title><style>",
        "body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}",
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}",
        ".failed{color:#b00020}.decision{background:#f3f7ff;padding:.6em 1em;border-left:4px solid #3366cc}",
        "</style></head><body><h1>Design review</h1>",
        f"<p>Generated {e(time.strftime('%Y-%m-%d %H:%M'))}: every notebook on every case study it supports, "
        "with default parameters.</p>",
    ]
    by_case: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_case.setdefault(o.case, []).append(o)
    for case_id, items in by_case.items():
        case = load_case(case_id)
        parts.append(f"<h2 id='{e(case_id)}'>{e(case.title)} <small>({e(case_id)})</small></h2>")
        parts.append(f"<p><b>Question:</b> {e(case.question)}</p>")
        if case.costs is not None:  # a binary case; logged interactions have rewards, not error costs
            parts.append(f"<p>Costs: false positive {case.costs.false_positive:,.0f} {e(case.costs.unit)}, "
                         f"false negative {case.costs.false_negative:,.0f} {e(case.costs.unit)}.</p>")
        for o in items:
            link = os.path.relpath(o.folder / "notebook.html", path.parent)
            parts.append(f"<h3>{e(o.notebook)} — <a href='{e(link)}'>notebook</a></h3>")
            if o.status == "failed":
                parts.append(f"<pre class='failed'>{e(o.error or 'failed')}</pre>")
                continue
            d = o.results.get("decision")
            if isinstance(d, dict):
                ev = "".join(f"<li>{e(str(x))}</li>" for x in d.get("evidence", []))
                ch = "".join(f"<li>{e(str(x))}</li>" for x in d.get("would_change", []))
                parts.append(f"<div class='decision'><p><b>Decision:</b> {e(str(d.get('choice')))}</p>"
                             f"<p>Evidence:</p><ul>{ev}</ul><p>What would change it:</p><ul>{ch}</ul></div>")
            rows = "".join(f"<tr><td>{e(k)}</td><td>{e(_fmt(v))}</td></tr>" for k, v in o.results.items()
                           if k != "decision" and isinstance(v, (int, float, str, bool)))
            if rows:
                n = rows.count("<tr>")
                parts.append(f"<details><summary>{n} recorded values</summary>"
                             f"<table><tr><th>recorded</th><th>value</th></tr>{rows}</table></details>")
    parts.append("</body></html>")
    return atomic_write(path, lambda p: p.write_text("\n".join(parts), encoding="utf-8"))
