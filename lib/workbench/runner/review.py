"""`workbench review CASE`: every notebook that applies to a case, run in parallel, written up as one
design document in the order the book builds a system.

Which notebooks apply follows from what the case declares (a time column, a text column, sensitive
attributes, expectations, serving facts) and each notebook's declared needs and minimum size
(`applicability`); `notebooks:` in case.yaml, when present, narrows the list. The document (HTML, and
Markdown for a pull request or a wiki) gives per section the decision, its evidence with intervals,
the key figure inline and a link to the executed notebook; a section with no notebook that applies
says why in one line and what to add to the case to get it.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench import paths
from workbench.cases import Case, load_case
from workbench.errors import WorkbenchError
from workbench.fileio import atomic_write
from workbench.runner.applicability import SECTIONS, Applicability, applicability, has_fact, why_not
from workbench.runner.notebooks import list_notebooks, read_notebook
from workbench.runner.params import declared_parameters, unmet_needs

__all__ = ["SECTION_TITLES", "Applicable", "Outcome", "applicable_notebooks", "headline_numbers", "key_figure",
           "priced_case", "review", "review_tasks", "run_tasks", "supported_notebooks", "write_document"]

SECTION_TITLES = {
    "problem": "The problem and its metric",
    "labels": "Labels",
    "features": "Features",
    "model": "Model and evaluation",
    "deployment": "Deployment",
    "monitoring": "Monitoring and retraining",
    "experiments": "Testing in production",
    "fairness": "Fairness",
    "other": "Other notebooks",
}
SECTION_NEEDS = {  # what a section's notebooks usually need, to say what to add when none applies
    "monitoring": "time_column", "experiments": "time_column", "fairness": "sensitive", "deployment": "serving",
}


@dataclass
class Applicable:
    """A notebook, what it needs, and the reasons it does not apply to the case (empty: it applies)."""

    notebook: Path
    needs: Applicability
    reasons: list[str]


@dataclass
class Outcome:
    """One run of a review."""

    notebook: str
    case: str
    section: str
    status: str  # ok | failed | skipped (up to date)
    folder: Path
    results: dict[str, Any]
    error: str | None
    duration_s: float
    warnings: list[str] = field(default_factory=list)


def applicable_notebooks(case: Case, notebooks: list[Path] | None = None) -> list[Applicable]:
    """Every notebook with its needs and the reasons it does not apply to the case (in reading order)."""
    out = []
    for nb in notebooks if notebooks is not None else list_notebooks():
        needs = applicability(read_notebook(nb), nb.name)
        reasons = why_not(case, needs, nb.stem)  # what the case lacks comes first: it says what to add
        declared = declared_parameters(nb)  # a default that needs a case fact (e.g. train_cost=None: costs.retrain)
        reasons += [f"{nb.stem}: {r}" for r in unmet_needs(declared, {k: p.default for k, p in declared.items()},
                                                            lambda fact: has_fact(case, fact))]
        if not case.supports(nb.stem):
            reasons.append(f"case '{case.id}' lists the notebooks it supports in case.yaml (`notebooks:`), "
                           f"and not {nb.stem}")
        out.append(Applicable(nb, needs, reasons))
    return out


def supported_notebooks(entry: dict[str, Any]) -> list[str]:
    """The notebooks a listed case (from `list_cases`) runs: its explicit list, or those that apply to it."""
    if entry["notebooks"] is not None:
        return list(entry["notebooks"])
    try:
        return [a.notebook.stem for a in applicable_notebooks(load_case(entry["folder"])) if not a.reasons]
    except WorkbenchError:
        return []


def _one(notebook: str, case: str, section: str, runs_dir: str, force: bool) -> Outcome:
    """Plan and execute one default run, or reuse it when up to date (in a worker process)."""
    from workbench.runner.run import execute_request

    row = execute_request(notebook, {"case": case}, runs_dir, html=True, force=force)
    folder = Path(row["folder"])
    results = json.loads((folder / "results.json").read_text()) if row["status"] != "failed" else {}
    return Outcome(Path(notebook).stem, Path(case).name, section, row["status"], folder, results, row["message"],
                   row["duration_s"], row.get("warnings") or [])


def priced_case(case_arg: str | Path, cache_dir: Path | None = None) -> Case:
    """The case, loaded and validated, refusing placeholder costs (a review prices every decision)."""
    from workbench.cases.data import release_unused_memory

    case = load_case(case_arg, max_rows=None, cache_dir=cache_dir)  # validate every row, then let go of the data
    case.data = None
    release_unused_memory()
    if case.costs is not None and case.costs.assumption == "placeholder":
        raise WorkbenchError(f"case '{case.id}': its costs are placeholders (costs.assumption: placeholder in "
                             f"{paths.display(case.folder / 'case.yaml')}); set costs.false_positive, "
                             "costs.false_negative and costs.unit, then delete `assumption` (or draft the case with "
                             "`workbench init --equal-costs` to assume both errors cost the same)")
    return case


def review_tasks(case: Case, runs: Path, force: bool = False) -> tuple[list[Applicable], list[tuple[Any, ...]]]:
    """What applies to the case, and one task per applicable notebook for `run_tasks`."""
    plan = applicable_notebooks(case)
    todo = [a for a in plan if not a.reasons]
    if not todo:
        raise WorkbenchError(f"case '{case.id}': no notebook applies:\n" + "\n".join(
            f"  - {a.reasons[0]}" for a in plan))
    found_by_id = case.folder.parent.resolve() in [d.resolve() for d in paths.case_dirs() if d.is_dir()]
    target = case.id if found_by_id else str(case.folder)
    return plan, [(str(a.notebook), target, a.needs.section, str(runs), force) for a in todo]


def run_tasks(tasks: list[tuple[Any, ...]], workers: int | None, say: Any) -> list[Outcome]:
    """Run review tasks in parallel worker processes (reusing finished runs); report each as it ends."""
    from workbench.runner.pool import run_in_processes

    outcomes: list[Outcome] = []
    for i, (k, o, exc) in enumerate(run_in_processes(_one, tasks, workers), 1):
        if exc is not None:  # a broken request is reported, the others go on
            nb, case, section, runs = Path(tasks[k][0]), Path(tasks[k][1]).name, tasks[k][2], Path(tasks[k][3])
            o = Outcome(nb.stem, case, section, "failed", runs / nb.stem, {}, f"{type(exc).__name__}: {exc}", 0.0)
        outcomes.append(o)
        took = "up to date" if o.status == "skipped" else f"{o.duration_s:.1f} s"
        say(f"[{i}/{len(tasks)}] {o.status:7} {o.notebook} on {o.case} ({took})")
        if o.error:
            say("  " + o.error.replace("\n", "\n  "))
        for warning in o.warnings:
            say(f"  warning: {warning}")
    return sorted(outcomes, key=lambda o: (o.case, o.notebook))


def review(case_arg: str | Path, *, workers: int | None = None, force: bool = False, runs_dir: Path | None = None,
           out: Path | None = None, log: Any = None) -> tuple[list[Outcome], Path]:
    """Run every notebook that applies to the case and write its design document; return outcomes and the document."""
    from workbench.cases.loading import remember_validated
    from workbench.runner.pool import worker_count
    from workbench.runner.publish import check_runs_root

    runs = (runs_dir or paths.runs_dir()).resolve()
    existed = runs.is_dir()
    case = priced_case(case_arg, runs / ".cache" if existed else None)  # nothing written before it passes
    runs = check_runs_root(runs)
    if not existed:  # the workers plan from the cache, never reading a big table again
        remember_validated(case, runs / ".cache")
    plan, tasks = review_tasks(case, runs, force)
    say = (lambda text: print(text, file=log, flush=True)) if log is not None else (lambda text: None)
    say(f"review of '{case.id}': {len(tasks)} notebooks apply, {worker_count(workers, len(tasks))} in parallel")
    outcomes = run_tasks(tasks, workers, say)
    doc = write_document(case, plan, outcomes, Path(out) if out else runs / "review" / case.id)
    say(f"design document: {paths.display(doc)} (and design.md)")
    return outcomes, doc


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def headline_numbers(results: dict[str, Any]) -> list[tuple[str, str]]:
    """Recorded values that have an interval, as (name, 'value [lo, hi]')."""
    rows = []
    for name, value in results.items():
        if name.endswith(("_lo", "_hi")) or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        lo, hi = results.get(f"{name}_lo"), results.get(f"{name}_hi")
        if f"{name}_lo" in results or f"{name}_hi" in results:
            bounds = f"[{_fmt(lo)}, {_fmt(hi)}]" if lo is not None and hi is not None else "(no interval)"
            rows.append((name, f"{_fmt(value)} {bounds}"))
    return rows


def key_figure(folder: Path) -> Path | None:
    """The run's key figure: the last figure before its Decision section (or its last figure)."""
    figures = sorted((folder / "figures").glob("cell*_*.png"))
    if not figures:
        return None
    try:
        nb = read_notebook(folder / "notebook.ipynb")
        decision_at = next(i for i, c in enumerate(nb["cells"]) if c.get("cell_type") == "markdown"
                           and "## Decision" in "".join(c.get("source", "")))
    except (WorkbenchError, StopIteration):
        return figures[-1]
    before = [f for f in figures if int(f.stem[4:].split("_")[0]) < decision_at]
    return (before or figures)[-1]


def write_document(case: Case, plan: list[Applicable], outcomes: list[Outcome], folder: Path) -> Path:
    """design.md and design.html (with figures/) in folder; returns the HTML path."""
    e = html.escape
    folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder / "figures", ignore_errors=True)
    (folder / "figures").mkdir()
    by_nb = {o.notebook: o for o in outcomes}
    costs = case.costs
    assumption = ("Costs are assumed equal (costs.assumption: equal in case.yaml): every cost below counts errors, "
                  "not money." if costs is not None and costs.assumption == "equal" else "")
    priced = (f"costs: false positive {_fmt(costs.false_positive)} {costs.unit}, false negative "
              f"{_fmt(costs.false_negative)} {costs.unit}" if costs is not None
              else f"task {case.task}: rewards, not error costs")
    md = [f"# Design review: {case.title}", "", f"**Question:** {case.question}", "",
          f"Case `{case.id}` ({paths.display(case.folder)}), {case.rows:,} rows; {priced}. "
          f"Generated {time.strftime('%Y-%m-%d %H:%M')}."]
    body = [f"<h1>Design review: {e(case.title)}</h1>", f"<p><b>Question:</b> {e(case.question)}</p>",
            f"<p>{e(md[-1])}</p>"]
    if assumption:
        md += ["", f"> {assumption}"]
        body.append(f"<p class='assumption'>{e(assumption)}</p>")
    for warning in case.warnings:
        md += ["", f"> warning: {warning}"]
        body.append(f"<p class='failed'>warning: {e(warning)}</p>")
    sections = [s for s in (*SECTIONS, "other") if any(a.needs.section == s for a in plan)]
    for section in sections:
        items = [a for a in plan if a.needs.section == section]
        md += ["", f"## {SECTION_TITLES[section]}"]
        body.append(f"<h2>{e(SECTION_TITLES[section])}</h2>")
        for a in items:
            o = by_nb.get(a.notebook.stem)
            if o is None:
                why = a.reasons[0] if a.reasons else "not run"
                md += ["", f"*{a.notebook.stem} does not apply:* {why}"]
                body.append(f"<p class='na'><i>{e(a.notebook.stem)} does not apply:</i> {e(why)}</p>")
                continue
            link = os.path.relpath(o.folder / "notebook.html", folder)
            md += ["", f"### {a.notebook.stem} ([executed notebook]({link}))"]
            body.append(f"<h3>{e(a.notebook.stem)} <small><a href='{e(link)}'>executed notebook</a></small></h3>")
            if o.status == "failed":
                md += ["", "```", o.error or "failed", "```"]
                body.append(f"<pre class='failed'>{e(o.error or 'failed')}</pre>")
                continue
            for warning in o.warnings:
                md += ["", f"> warning: {warning}"]
                body.append(f"<p class='failed'>warning: {e(warning)}</p>")
            d = o.results.get("decision")
            if isinstance(d, dict):
                md += ["", f"**Decision:** {d.get('choice')}", "", "Evidence:", ""]
                md += [f"- {x}" for x in d.get("evidence", [])]
                md += ["", "What would change it:", ""] + [f"- {x}" for x in d.get("would_change", [])]
                if assumption:
                    md += ["", f"*Assumption:* {assumption}"]
                ev = "".join(f"<li>{e(str(x))}</li>" for x in d.get("evidence", []))
                ch = "".join(f"<li>{e(str(x))}</li>" for x in d.get("would_change", []))
                body.append(f"<div class='decision'><p><b>Decision:</b> {e(str(d.get('choice')))}</p><p>Evidence:</p>"
                            f"<ul>{ev}</ul><p>What would change it:</p><ul>{ch}</ul>"
                            + (f"<p><i>Assumption:</i> {e(assumption)}</p>" if assumption else "") + "</div>")
            numbers = headline_numbers(o.results)
            if numbers:
                md += ["", "| headline number | value [interval] |", "| --- | --- |"]
                md += [f"| {n} | {v} |" for n, v in numbers]
                rows = "".join(f"<tr><td>{e(n)}</td><td>{e(v)}</td></tr>" for n, v in numbers)
                body.append(f"<table><tr><th>headline number</th><th>value [interval]</th></tr>{rows}</table>")
            fig = key_figure(o.folder)
            if fig is not None:
                name = f"{a.notebook.stem}-{fig.name}"
                shutil.copy(fig, folder / "figures" / name)
                md += ["", f"![{a.notebook.stem}](figures/{name})"]
                body.append(f"<p><img src='figures/{e(name)}' alt='{e(a.notebook.stem)}'></p>")
    style = ("body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}"
             ".failed{color:#b00020}.na{color:#666}.assumption{background:#fff6e0;padding:.5em}"
             ".decision{background:#f3f7ff;padding:.6em 1em;border-left:4px solid #3366cc}img{max-width:100%}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Design review: {e(case.id)}</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>")
    atomic_write(folder / "design.md", lambda p: p.write_text("\n".join(md) + "\n", encoding="utf-8"))
    return atomic_write(folder / "design.html", lambda p: p.write_text(page, encoding="utf-8"))
