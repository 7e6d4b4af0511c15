"""The `workbench` command: cases, notebooks, params, run, kernels, sweep, init, review, report, export.

Imports are lazy so that `workbench params` or a bad request answers at once, without loading
pandas, papermill or a kernel.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workbench.errors import WorkbenchError

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_USAGE", "build_parser", "main"]

EXIT_FAILED = 1  # a run or check failed
EXIT_USAGE = 2  # the request was wrong
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C (a run stopped by a signal exits 128 + its number)


def _cases(args: argparse.Namespace) -> int:
    from workbench import paths
    from workbench.cases import check_case, list_cases
    from workbench.runner.review import supported_notebooks

    if args.action == "check":
        targets = args.paths or [c["folder"] for c in list_cases()]
        bad = 0
        for target in targets:
            try:
                problems = check_case(target)
            except WorkbenchError as e:
                problems = [str(e)]
            name = paths.display(Path(target)) if Path(target).exists() else str(target)
            if problems:
                bad += 1
                print(f"{name}: {len(problems)} problem{'s' * (len(problems) != 1)}")
                for p in problems:
                    print(f"  - {p}")
            else:
                print(f"{name}: ok")
        return EXIT_FAILED if bad else 0
    cases = list_cases()
    if not cases:
        print("no case studies found")
        return EXIT_FAILED
    width = max(len(c["id"]) for c in cases)
    for c in cases:
        print(f"{c['id']:<{width}}  {c['title']}  [notebooks: {', '.join(supported_notebooks(c)) or 'none'}]")
    return 0


def _params(args: argparse.Namespace) -> int:
    from workbench.runner.notebooks import resolve_notebook
    from workbench.runner.params import declared_parameters

    nb = resolve_notebook(args.notebook)
    params = declared_parameters(nb)
    print(f"{nb.name} parameters:")
    for p in params.values():
        allowed = "a case study that supports this notebook" if p.name == "case" else p.allowed()
        print(f"  {p.name} ({p.type}) = {p.default!r}\n      {p.help}\n      allowed: {allowed}")
    return 0


def _notebooks(args: argparse.Namespace) -> int:
    from workbench import paths
    from workbench.runner.hygiene import clean, problems, write_notebook
    from workbench.runner.notebooks import list_notebooks, read_notebook, resolve_notebook

    targets = [resolve_notebook(n) for n in args.notebooks] or list_notebooks()
    if args.action == "list":
        from workbench.cases import list_cases
        from workbench.runner.review import supported_notebooks

        cases = list_cases()
        for nb in targets:
            supported = [c["id"] for c in cases if nb.stem in supported_notebooks(c)]
            print(f"{nb.stem}  [cases: {', '.join(supported) or 'none'}]")
        return 0
    bad = 0
    for nb in targets:
        content = read_notebook(nb)
        if args.action == "clean":
            cleaned = clean(content)
            if cleaned != content:
                write_notebook(cleaned, nb)
                print(f"cleaned {paths.display(nb)}")
        found = problems(clean(content) if args.action == "clean" else content)
        bad += bool(found)
        for p in found:
            print(f"{paths.display(nb)}: {p}")
    if args.action == "check" and not bad:
        print(f"{len(targets)} notebooks clean")
    return EXIT_FAILED if bad else 0


def _export(args: argparse.Namespace) -> int:
    from workbench import paths
    from workbench.runner.hygiene import student_edition, write_notebook
    from workbench.runner.notebooks import list_notebooks, read_notebook, resolve_notebook

    out = Path(args.student)
    targets = [resolve_notebook(n) for n in args.notebooks] or list_notebooks()
    for nb in targets:
        write_notebook(student_edition(read_notebook(nb)), out / nb.name)
    print(f"wrote {len(targets)} student editions to {paths.display(out)}")
    return 0


def _request(args: argparse.Namespace) -> dict:
    """The requested parameters: the -f file first, then -p pairs, then --case."""
    from workbench.fileio import read_yaml_mapping
    from workbench.runner.notebooks import resolve_notebook
    from workbench.runner.params import declared_parameters, parse_cli_value

    request: dict = read_yaml_mapping(args.file, "parameters file") if args.file else {}
    declared = declared_parameters(resolve_notebook(args.notebook))
    for name, raw in args.param or []:
        request[name] = parse_cli_value(declared.get(name), raw)
    if args.case is not None:
        request["case"] = args.case
    return request


def _run(args: argparse.Namespace) -> int:
    from workbench import paths
    from workbench.fileio import shown
    from workbench.runner.publish import check_runs_root
    from workbench.runner.run import execute, plan_run, run_failed_message

    run = plan_run(args.notebook, _request(args), runs_dir=Path(args.out) if args.out else None)
    check_runs_root(run.folder.parent.parent)
    for warning in run.case.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"running {run.notebook.name} on '{run.case.id}' -> {paths.display(run.folder)}", flush=True)
    result, why_cold = None, None
    if not args.cold:
        from workbench.runner.warm import PoolLost, try_warm_run

        try:
            result, why_cold = try_warm_run(run, html=args.html, command=sys.argv)
        except PoolLost as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_FAILED
    if why_cold:
        print(f"note: {why_cold}", file=sys.stderr)
    kernel = "a new kernel" if result is None else "a warm kernel from the pool"
    if result is None:
        result = execute(run, html=args.html)
    if not result.ok:
        print(f"error: {run_failed_message(result)}", file=sys.stderr)
        signum = (result.error or {}).get("interrupted")
        return 128 + signum if signum else EXIT_FAILED  # 130 for SIGINT (Ctrl-C), 143 for SIGTERM
    decision = result.results.get("decision")
    for name, value in result.results.items():
        if name != "decision":
            text = value if isinstance(value, (str, int)) else shown(value)
            print(f"  {name} = {value:.4g}" if isinstance(value, float) else f"  {name} = {text}")
    if isinstance(decision, dict):
        print(f"decision: {decision.get('choice')}")
    for warning in result.warnings[len(run.case.warnings):]:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"finished in {result.duration_s:.1f} s in {kernel}: {paths.display(result.folder or run.folder)}")
    return 0


def _kernels(args: argparse.Namespace) -> int:
    from workbench.runner import warm

    if args.action == "start":
        started = warm.start_pool(size=args.size, idle_minutes=args.idle_minutes)
        verb = "runs already" if started.get("already") else "started"
        print(f"kernel pool {verb}: {started['ready']} of {started['size']} kernels warm (pid {started['pid']}); "
              f"`workbench run` uses one per run; it stops after {started['idle_minutes_left']:g} idle minutes "
              "or on `workbench kernels stop`")
    elif args.action == "stop":
        pid = warm.stop_pool()
        print("no kernel pool runs" if pid is None else f"kernel pool stopped (pid {pid})")
    else:
        status = warm.pool_status()
        if status is None:
            print("no kernel pool runs")
        else:
            print(f"kernel pool pid {status['pid']}: {status['ready']} of {status['size']} kernels warm, "
                  f"{status['running']} running, {status['served']} runs served, "
                  f"stops after {status['idle_minutes_left']:g} more idle minutes")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from workbench import paths
    from workbench.runner.sweep import run_sweep
    from workbench.runner.sweep_spec import load_spec

    spec = load_spec(args.spec)
    if args.dry_run:
        from workbench.runner.run import is_finished
        from workbench.runner.sweep import plan

        planned = plan(spec, Path(args.runs).resolve() if args.runs else paths.runs_dir())
        done = sum(is_finished(r) for r in planned)
        print(f"sweep '{spec.name}': {len(planned)} valid runs of {planned[0].notebook.name}, "
              f"{done} already finished, {len(planned) - done} to run")
        return 0
    rows, folder = run_sweep(spec, workers=args.workers, scheduler=args.scheduler,
                             runs_dir=Path(args.runs) if args.runs else None,
                             out=Path(args.out) if args.out else None)
    failed = [r for r in rows if r["status"] == "failed"]
    reused = sum(r["status"] == "skipped" for r in rows)
    print(f"sweep '{spec.name}': {len(rows)} runs, {len(rows) - len(failed)} ok ({reused} reused), "
          f"{len(failed)} failed")
    for r in failed:
        e = r["error"] or {}
        shown = ", ".join(f"{k}={v!r}" for k, v in r["params"].items())
        print(f"  failed [{shown}]: cell {e.get('cell')}: {e.get('ename')}: {e.get('evalue')}", file=sys.stderr)
    print(f"table: {paths.display(folder / 'table.csv')}; summary: {paths.display(folder / 'index.html')}")
    return EXIT_FAILED if failed else 0


def _report(args: argparse.Namespace) -> int:
    from workbench.runner.mainjob import main_job

    outcomes, _ = main_job(workers=args.workers, force=args.force,
                           runs_dir=Path(args.out) if args.out else None)
    failed = [o for o in outcomes if o.status == "failed"]
    return EXIT_FAILED if failed or not outcomes else 0


def _review(args: argparse.Namespace) -> int:
    from workbench.runner.review import review

    outcomes, _ = review(args.case, workers=args.workers, force=args.force,
                         runs_dir=Path(args.runs) if args.runs else None, out=Path(args.out) if args.out else None,
                         log=sys.stdout)
    return EXIT_FAILED if any(o.status == "failed" for o in outcomes) else 0


def _init(args: argparse.Namespace) -> int:
    from workbench import paths
    from workbench.runner.draft import draft_case

    folder, draft = draft_case(Path(args.data), args.target, positive=args.positive, time=args.time, text=args.text,
                               out=Path(args.out) if args.out else None, unlabelled=args.unlabelled,
                               equal_costs=args.equal_costs)
    kinds = [k for k, _ in draft.kinds.values()]
    print(f"drafted {paths.display(folder)}: {kinds.count('numeric')} numeric, {kinds.count('categorical')} "
          f"categorical, {kinds.count('text')} text features; identifiers: {', '.join(draft.identifiers) or 'none'}; "
          f"time column: {draft.time[0] if draft.time else 'none'}; positive class: {draft.positive!r}")
    for col, why in draft.leaky.items():
        print(f"  suspected leak: {col}: {why}")
    if draft.unlabelled:
        print(f"  {draft.unlabelled:,} rows without a label: "
              + ("kept in unlabelled.parquet" if args.unlabelled == "pool" else "dropped"))
    print("next: read case.yaml (every inferred field says why), "
          + ("set the costs, " if not args.equal_costs else "")
          + f"then `workbench review {paths.display(folder)}`")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("cases", help="list case studies, or check case folders")
    p.add_argument("action", nargs="?", choices=["list", "check"], default="list")
    p.add_argument("paths", nargs="*", help="case folders or ids to check (default: all)")
    p.set_defaults(func=_cases)

    p = sub.add_parser("notebooks", help="list notebooks, check that they are committed clean, or clean them")
    p.add_argument("action", nargs="?", choices=["list", "check", "clean"], default="list")
    p.add_argument("notebooks", nargs="*", help="notebooks (default: all)")
    p.set_defaults(func=_notebooks)

    p = sub.add_parser("export", help="write student editions (solution cells replaced by placeholders)")
    p.add_argument("--student", required=True, metavar="OUT", help="folder for the student editions")
    p.add_argument("notebooks", nargs="*", help="notebooks (default: all)")
    p.set_defaults(func=_export)

    p = sub.add_parser("params", help="list a notebook's parameters")
    p.add_argument("notebook", help="path, stem (00_framing) or number (00)")
    p.set_defaults(func=_params)

    p = sub.add_parser("run", help="execute a notebook with validated parameters into runs/")
    p.add_argument("notebook", help="path, stem (00_framing) or number (00)")
    p.add_argument("--case", help="case study id or folder")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="set a parameter (values parse as YAML: 0.5, true, [1, 7])")
    p.add_argument("-f", "--file", help="YAML file of parameters (-p and --case override it)")
    p.add_argument("--html", action="store_true", help="also render notebook.html")
    p.add_argument("--out", help="runs folder (default: runs/ or $WORKBENCH_RUNS)")
    p.add_argument("--cold", action="store_true", help="start a new kernel even when a kernel pool runs")
    p.set_defaults(func=_run)

    p = sub.add_parser("kernels", help="start, stop or show the pool of warm kernels that `workbench run` uses")
    p.add_argument("action", nargs="?", choices=["start", "stop", "status"], default="status")
    p.add_argument("--size", type=int, default=2, help="kernels kept warm (default 2)")
    p.add_argument("--idle-minutes", type=float, default=30, help="stop after this long without a run (default 30)")
    p.set_defaults(func=_kernels)

    p = sub.add_parser("sweep", help="run a notebook over a grid of parameters (resumable), and aggregate")
    p.add_argument("spec", help="sweep spec (YAML), e.g. sweeps/framing_data_size.yaml")
    p.add_argument("--workers", type=int, help="parallel runs on this machine (default: the number of cores)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask distributed scheduler instead")
    p.add_argument("--runs", help="runs folder (default: runs/ or $WORKBENCH_RUNS)")
    p.add_argument("--out", help="sweep folder (default: <runs>/sweeps/<spec name>)")
    p.add_argument("--dry-run", action="store_true", help="validate and count the runs; run nothing")
    p.set_defaults(func=_sweep)

    p = sub.add_parser("init", help="draft a case folder (case.yaml, datasheet, data) from your own table")
    p.add_argument("data", help="a .csv or .parquet table")
    p.add_argument("--target", required=True, help="the column to predict (two values)")
    p.add_argument("--positive", help="the target value that is the positive class (default: the rarer one)")
    p.add_argument("--time", help="the column saying when each row happened (default: the first datetime-like one)")
    p.add_argument("--text", help="a free-text column")
    p.add_argument("--out", help="the case folder to write (default: ./<table name>)")
    p.add_argument("--unlabelled", choices=["drop", "pool"], default="drop",
                   help="rows without a label: drop them, or keep them as an unlabelled pool (default: drop)")
    p.add_argument("--equal-costs", action="store_true",
                   help="assume both errors cost the same (stated in every decision) instead of placeholders")
    p.set_defaults(func=_init)

    p = sub.add_parser("review", help="run every notebook that applies to a case and write its design document")
    p.add_argument("case", help="case study id or folder")
    p.add_argument("--workers", type=int, help="parallel runs (default: the number of cores)")
    p.add_argument("--force", action="store_true", help="re-run runs that are up to date")
    p.add_argument("--runs", help="runs folder (default: runs/ or $WORKBENCH_RUNS)")
    p.add_argument("--out", help="folder for the design document (default: <runs>/review/<case>)")
    p.set_defaults(func=_review)

    p = sub.add_parser("report", help="the main job: the design review of every case study, and an index")
    p.add_argument("--workers", type=int, help="parallel runs (default: the number of cores)")
    p.add_argument("--force", action="store_true", help="re-run runs that are up to date")
    p.add_argument("--out", help="runs folder (default: runs/ or $WORKBENCH_RUNS)")
    p.set_defaults(func=_report)
    return parser


def _take_params(argv: list[str]) -> tuple[list[str], list[list[str]]]:
    """Pull `-p NAME VALUE` pairs out of argv, taking VALUE verbatim even when it starts with '-'
    (argparse would read `-p x -1e3` as a new option). An incomplete pair is left for argparse."""
    rest: list[str] = []
    pairs: list[list[str]] = []
    i = 0
    while i < len(argv):
        if argv[i] in ("-p", "--param") and i + 2 < len(argv):
            pairs.append(argv[i + 1:i + 3])
            i += 3
        else:
            rest.append(argv[i])
            i += 1
    return rest, pairs


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    rest, pairs = _take_params(argv)
    args = build_parser().parse_args(rest)
    if pairs:
        if args.command != "run":
            build_parser().parse_args(argv)  # argparse's own message for -p where it does not belong
        args.param = (args.param or []) + pairs
    try:
        return args.func(args)
    except WorkbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as e:  # a full disk, a folder that vanished: say what and where, without a traceback
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"error: {e.strerror or e}{where}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
