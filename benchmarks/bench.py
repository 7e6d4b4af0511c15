"""`make bench`: how fast the workbench feels, whole-process, with the target beside each figure.

Every figure is the median of several runs of a whole process (min-max shown), and ratios are
against a baseline measured in the same session, because the machine is shared and noisy. Peak
memory is the largest resident set of the process tree (the run's kernel included), from wait4.
Results go to benchmarks/results/ (ignored by git): bench-<timestamp>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = REPO / "benchmarks" / "results"

EMPTY_PARAMS = ('case = "bench"  # case study\n'
                'work = 0.0  # seconds of CPU work; range: 0..60\n'
                'seed = 0  # repeat number; range: 0..\n')
EMPTY_BODY = ("import time\nimport workbench as wb\nend = time.process_time() + work\n"
              "while time.process_time() < end:\n    sum(range(10000))\nwb.record('work_done', work)\n")


# A small launcher process runs each command and reports its wait4 usage: peak RSS survives exec, so
# a command forked straight from this (pandas-sized) process would inherit our high-water mark.
LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status))
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one whole process tree (the kernel a run starts included)."""
    proc = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, *cmd], env=env, capture_output=True, text=True)
    wall, peak, code = proc.stdout.split()
    if int(code) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
    return float(wall), float(peak)


def measure(label: str, cmd: list[str], env: dict[str, str], repeats: int, before=None) -> dict:
    """The median of `repeats` timings of cmd; before() (untimed) runs before each."""
    def one() -> tuple[float, float]:
        if before is not None:
            before()
        return timed(cmd, env)

    walls, mems = zip(*(one() for _ in range(repeats)))
    row = {"what": label, "median_s": statistics.median(walls), "min_s": min(walls), "max_s": max(walls),
           "peak_mb": max(mems), "repeats": repeats}
    print(f"  {label}: {row['median_s']:.2f} s (min {row['min_s']:.2f}, max {row['max_s']:.2f}), "
          f"peak {row['peak_mb']:.0f} MB", flush=True)
    return row


def pool_full(wb: str, env: dict[str, str], wait: float = 120) -> None:
    """Wait until the kernel pool has all its kernels warm again."""
    import re

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        out = subprocess.run([wb, "kernels", "status"], env=env, capture_output=True, text=True).stdout
        found = re.search(r"(\d+) of (\d+) kernels warm", out)
        if found and found.group(1) == found.group(2):
            return
        time.sleep(0.2)
    raise RuntimeError("the kernel pool did not fill up again in 120 s")


def throughput(tmp: Path, env: dict[str, str], wb: str, repeats: int) -> tuple[dict, dict]:
    """Runs per minute: a 32-run sweep with 2 workers, and the papermill CLI over the same 32 parameter
    sets as 2 parallel loops (xargs -P 2), each the median of `repeats` timings."""
    n, work = 32, 0.2  # a small notebook: 0.2 s of CPU work
    spec = tmp / "throughput.yaml"
    spec.write_text(f"notebook: 99_empty\ncases: [bench]\nfixed: {{work: {work}}}\n"
                    "grid: {seed: [" + ", ".join(map(str, range(n))) + "]}\n")
    nb = tmp / "notebooks" / "99_empty.ipynb"
    case = tmp / "cases" / "bench"
    ours, theirs = [], []
    for i in range(repeats):
        ours.append(timed([wb, "sweep", str(spec), "--workers", "2", "--runs", str(tmp / f"tp-{i}")], env)[0])
        out = tmp / f"pm-{i}"
        out.mkdir()
        loop = (f"seq 0 {n - 1} | xargs -P 2 -I{{}} {BIN / 'papermill'} --log-level ERROR {nb} {out}/out-{{}}.ipynb "
                f"-p case {case} -p work {work} -p seed {{}} --cwd {out}")
        theirs.append(timed(["bash", "-c", loop], env)[0])
    rows = []
    for label, walls in (("sweep of 32 runs, 2 workers", ours), ("papermill CLI loop, 32 runs, 2 parallel", theirs)):
        median = statistics.median(walls)
        rows.append({"what": label, "median_s": median, "min_s": min(walls), "max_s": max(walls), "repeats": repeats,
                     "runs_per_min": 60 * n / median})
        print(f"  {label}: {median:.1f} s ({60 * n / median:.0f} runs/min)", flush=True)
    return rows[0], rows[1]


def setup(tmp: Path) -> dict[str, str]:
    """A private notebooks folder (the real ones plus an empty parameterised one) and a small case."""
    import shutil

    from workbench.cases.synthetic import make_case
    from workbench.runner.hygiene import write_notebook
    from workbench.runner.notebooks import new_notebook

    nbs = tmp / "notebooks"
    shutil.copytree(REPO / "notebooks", nbs)
    write_notebook(new_notebook([("markdown", "# Empty\n", []), ("code", EMPTY_PARAMS, ["parameters"]),
                                 ("code", EMPTY_BODY, [])]), nbs / "99_empty.ipynb")
    make_case(tmp / "cases" / "bench", notebooks=["99_empty"])
    return {**os.environ, "WORKBENCH_NOTEBOOKS": str(nbs), "WORKBENCH_CASES": str(tmp / "cases"),
            "WORKBENCH_RUNS": str(tmp / "runs")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--heavy-repeats", type=int, default=3, help="runs of the main job and sweeps (default 3)")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["overhead", "throughput", "notebooks", "main", "sweep", "drift", "scale"])
    args = parser.parse_args()
    rows: list[dict] = []
    targets: list[tuple[str, str, bool]] = []
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = setup(tmp)
        wb = str(BIN / "workbench")
        if "overhead" not in args.skip:
            print("run overhead (empty notebook):", flush=True)
            code = EMPTY_PARAMS.replace('"bench"', f'"{tmp / "cases" / "bench"}"') + EMPTY_BODY
            limit = measure("plain python -c (the limit)", [sys.executable, "-c", code], env, args.repeats)
            anchor = measure("papermill CLI (the anchor)", [str(BIN / "papermill"), str(tmp / "notebooks" / "99_empty.ipynb"),
                             str(tmp / "pm.ipynb"), "-p", "case", str(tmp / "cases" / "bench"), "--cwd", str(tmp)],
                             env, args.repeats)
            cold = measure("workbench run --cold (a new kernel)", [wb, "run", "99_empty", "--case", "bench", "--cold"],
                           env, args.repeats)
            pool = subprocess.run([wb, "kernels", "start", "--size", "2"], env=env, capture_output=True, text=True)
            if pool.returncode != 0:
                raise RuntimeError(f"workbench kernels start failed: {pool.stderr[-2000:]}")
            try:  # each timed run finds the pool full again, as a run between two edits does
                ours = measure("workbench run (a warm kernel from `workbench kernels start`; peak: the client)",
                               [wb, "run", "99_empty", "--case", "bench"], env, args.repeats,
                               before=lambda: pool_full(wb, env))
            finally:
                subprocess.run([wb, "kernels", "stop"], env=env, capture_output=True)
            rows += [limit, anchor, cold, ours]
            for row in (cold, ours):
                row["ratio_vs_papermill"] = row["median_s"] / anchor["median_s"]
            targets.append(("workbench run of an empty notebook <= 0.6 s", f"{ours['median_s']:.2f} s with the kernel "
                            f"pool, {cold['median_s']:.2f} s without (papermill CLI {anchor['median_s']:.2f} s; "
                            f"python -c {limit['median_s']:.2f} s)", ours["median_s"] <= 0.6))
        if "throughput" not in args.skip:
            print("throughput: 32 runs of a small notebook, 2 at a time:", flush=True)
            row_ours, row_pm = throughput(tmp, env, wb, args.heavy_repeats)
            rows += [row_ours, row_pm]
            ratio = row_ours["runs_per_min"] / row_pm["runs_per_min"]
            targets.append(("32-run sweep >= 2x the runs per minute of a papermill loop (2 parallel)",
                            f"{ratio:.2f}x ({row_ours['runs_per_min']:.0f} vs {row_pm['runs_per_min']:.0f} runs/min)",
                            ratio >= 2.0))
        if "notebooks" not in args.skip:
            print("notebooks with default parameters:", flush=True)
            from workbench.cases import list_cases
            from workbench.runner.notebooks import list_notebooks
            from workbench.runner.review import supported_notebooks

            cases = list_cases()
            for nb in (p for p in list_notebooks() if p.stem != "99_empty"):
                for case in (c["id"] for c in cases if nb.stem in supported_notebooks(c)):
                    row = measure(f"{nb.stem} on {case}", [wb, "run", nb.stem, "--case", case], env, args.repeats)
                    rows.append(row)
                    budget = 20 if nb.stem.startswith("08_") else 15  # 08 compiles a model runtime (issue 17)
                    targets.append((f"{nb.stem} on {case} <= {budget} s, <= 1.5 GB",
                                    f"{row['median_s']:.1f} s, {row['peak_mb']:.0f} MB",
                                    row["median_s"] <= budget and row["peak_mb"] <= 1536))
        if "main" not in args.skip:
            print("main job:", flush=True)
            main_env = {k: v for k, v in env.items() if k not in ("WORKBENCH_NOTEBOOKS", "WORKBENCH_CASES")}
            row = measure("make run (workbench report --force)", [wb, "report", "--force", "--out", str(tmp / "main")],
                          main_env, 1)  # minutes long: one timing
            rows.append(row)
            targets.append(("make run (every case's review) <= 600 s", f"{row['median_s']:.0f} s", row["median_s"] <= 600))
        if "sweep" not in args.skip:
            print("sweep scaling (16 runs of 0.5 s CPU work each):", flush=True)
            spec = tmp / "scaling.yaml"
            spec.write_text("notebook: 99_empty\ncases: [bench]\nfixed: {work: 0.5}\n"
                            "grid: {seed: [" + ", ".join(map(str, range(16))) + "]}\n")
            one = two = None
            for workers in (1, 2):
                walls = []
                for i in range(args.heavy_repeats):
                    runs = tmp / f"sweep-{workers}-{i}"
                    walls.append(timed([wb, "sweep", str(spec), "--workers", str(workers), "--runs", str(runs)], env)[0])
                row = {"what": f"sweep of 16 runs, {workers} worker(s)", "median_s": statistics.median(walls),
                       "min_s": min(walls), "max_s": max(walls), "repeats": args.heavy_repeats}
                print(f"  {row['what']}: {row['median_s']:.1f} s", flush=True)
                rows.append(row)
                one, two = (row, two) if workers == 1 else (one, row)
            speedup = one["median_s"] / two["median_s"]
            targets.append(("sweep: 2 workers >= 1.8x 1 worker", f"{speedup:.2f}x", speedup >= 1.8))
    scale = REPO / "benchmarks" / "bench_scale.py"
    if "scale" not in args.skip:
        print("big tables (init and review of rows x 20 columns):", flush=True)
        proc = subprocess.run([sys.executable, str(scale), "--json"], capture_output=True, text=True)
        print(proc.stdout.rsplit("\n", 2)[0] if proc.stdout else proc.stderr[-500:], flush=True)
        if proc.returncode == 0 and proc.stdout.strip():
            found = json.loads(proc.stdout.strip().splitlines()[-1])
            rows += [{"what": f"review of {r['rows']:,} rows x {r['columns']}", "median_s": r["review_s"],
                      "min_s": r["review_s"], "max_s": r["review_s"], "peak_mb": r["review_peak_mb"], "repeats": 1}
                     for r in found["rows"]]
            targets += [tuple(x) for x in found["targets"]]
        else:
            targets.append(("scale benchmark ran", proc.stderr[-300:], False))
    drift = REPO / "benchmarks" / "bench_drift.py"
    if "drift" not in args.skip and drift.exists():
        print("drift fast path vs evidently:", flush=True)
        proc = subprocess.run([sys.executable, str(drift), "--json"], capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            found = json.loads(proc.stdout.strip().splitlines()[-1])
            rows += found.get("rows", [])
            targets += [tuple(t) for t in found.get("targets", [])]
        else:
            targets.append(("drift benchmark ran", proc.stderr[-300:], False))
    report(rows, targets, time.time() - started)
    return 0


def report(rows: list[dict], targets: list[tuple[str, str, bool]], took: float) -> None:
    from importlib import metadata

    stamp = time.strftime("%Y-%m-%d %H:%M")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [f"# Benchmarks {stamp}", "", f"Machine: {machine}; workbench {metadata.version('workbench')}; "
             f"took {took / 60:.1f} min.", "", "| target | measured | met |", "| --- | --- | --- |"]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in targets]
    lines += ["", "| what | median s | min-max s | peak MB | n |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        peak = f"{r['peak_mb']:.0f}" if "peak_mb" in r else ""
        spread = f"{r['min_s']:.2f}-{r['max_s']:.2f}"
        lines.append(f"| {r['what']} | {r['median_s']:.2f} | {spread} | {peak} | {r.get('repeats', '')} |")
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "bench-" + time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{name}.md").write_text(text)
    (RESULTS / f"{name}.json").write_text(json.dumps({"machine": machine, "date": stamp, "rows": rows,
                                                      "targets": targets}, indent=2))
    print("\n" + text)


if __name__ == "__main__":
    sys.exit(main())
