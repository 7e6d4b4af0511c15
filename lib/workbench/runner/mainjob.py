"""The main job (`make run`): the design review of every case study, and one index linking them.

Every (case, notebook that applies) pair runs in one pool of worker processes, reusing runs that are
up to date; then each case's design document is written (runs/review/<case>/design.html and .md) and
runs/index.html links them, with each decision in one line.
"""

from __future__ import annotations

import html
import os
import sys
import time
from pathlib import Path
from typing import Any

from workbench import paths
from workbench.cases import list_cases
from workbench.errors import WorkbenchError
from workbench.fileio import atomic_write

__all__ = ["main_job", "write_index"]


def main_job(*, workers: int | None = None, force: bool = False, runs_dir: Path | None = None,
             out: Any = sys.stdout) -> tuple[list[Any], Path]:
    """Review every case (all notebooks that apply, in parallel); write each design document and the index."""
    from workbench.runner.pool import worker_count
    from workbench.runner.publish import check_runs_root
    from workbench.runner.review import priced_case, review_tasks, run_tasks, write_document

    runs = check_runs_root((runs_dir or paths.runs_dir()).resolve())
    cases, plans, tasks = [], {}, []
    for c in list_cases():  # every case valid, and priced, before any kernel starts
        case = priced_case(c["folder"], runs / ".cache")
        try:
            plan, case_tasks = review_tasks(case, runs, force)
        except WorkbenchError as e:
            print(f"skipping '{case.id}': {e}", file=out, flush=True)
            continue
        cases.append(case)
        plans[case.id] = plan
        tasks += case_tasks
    workers = worker_count(workers, len(tasks))
    print(f"main job: {len(cases)} case reviews, {len(tasks)} runs, {workers} in parallel, into "
          f"{paths.display(runs)}", file=out, flush=True)
    started = time.time()
    outcomes = run_tasks(tasks, workers, lambda text: print(text, file=out, flush=True))
    docs = {}
    for case in cases:
        mine = [o for o in outcomes if o.case == case.id]
        docs[case.id] = write_document(case, plans[case.id], mine, runs / "review" / case.id)
    index = write_index(cases, outcomes, docs, runs / "index.html")
    print(f"done in {time.time() - started:.1f} s; index: {paths.display(index)}", file=out, flush=True)
    return outcomes, index


def write_index(cases: list[Any], outcomes: list[Any], docs: dict[str, Path], path: Path) -> Path:
    """runs/index.html: each case's design document, and each decision in one line."""
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Design reviews</title><style>",
        "body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}",
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}",
        ".failed{color:#b00020}</style></head><body><h1>Design reviews</h1>",
        f"<p>Generated {e(time.strftime('%Y-%m-%d %H:%M'))}: every notebook that applies to each case study, "
        "with default parameters.</p>",
    ]
    for case in cases:
        link = os.path.relpath(docs[case.id], path.parent)
        parts.append(f"<h2>{e(case.title)} <small>(<a href='{e(link)}'>design review of {e(case.id)}</a>)</small></h2>")
        parts.append(f"<p><b>Question:</b> {e(case.question)}</p><table><tr><th>notebook</th><th>decision</th></tr>")
        for o in (o for o in outcomes if o.case == case.id):
            d = o.results.get("decision") if o.status != "failed" else None
            text = e(str(d.get("choice"))) if isinstance(d, dict) else (
                "<span class='failed'>failed</span>" if o.status == "failed" else "<span class='failed'>no decision</span>")
            nb_link = os.path.relpath(o.folder / "notebook.html", path.parent)
            parts.append(f"<tr><td><a href='{e(nb_link)}'>{e(o.notebook)}</a></td><td>{text}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return atomic_write(path, lambda p: p.write_text("\n".join(parts), encoding="utf-8"))
