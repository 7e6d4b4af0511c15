"""Time notebook 04_retraining's default run, whole-process, against its 20 s budget on 2 cores.

Each figure is the median of several `workbench run 04_retraining --case flights` processes
(min-max shown). CPU seconds (user + system of the whole process tree, the kernel included) are
reported beside wall seconds: on a shared machine wall time grows with other people's load, CPU
time much less. Peak memory is the largest resident set in the process tree, from wait4 in a small
launcher process (so this process's own high-water mark is not inherited). Results go to
benchmarks/results/ (ignored by git) as bench_retraining-<timestamp>.json and .md; with --json the
last line printed is {"rows": [...], "targets": [...]} for an aggregating benchmark.

    .venv/bin/python benchmarks/bench_retraining.py [--repeats 5] [--case flights] [--json]
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
NOTEBOOK = "04_retraining"
BUDGET_S = 20.0

LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
      os.waitstatus_to_exitcode(status))
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one whole process tree."""
    proc = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, *cmd], env=env, capture_output=True, text=True)
    wall, cpu, peak, code = proc.stdout.split()
    if int(code) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
    return float(wall), float(cpu), float(peak)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs to take the median of (default 5)")
    parser.add_argument("--case", default="flights", help="case study to run on (default flights)")
    parser.add_argument("--json", action="store_true", help="print the rows and targets as JSON last")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    samples = []
    with tempfile.TemporaryDirectory(prefix="wb-bench-retraining-") as tmp:
        env = {**os.environ, "WORKBENCH_RUNS": tmp}
        cmd = [str(BIN / "workbench"), "run", NOTEBOOK, "--case", args.case]
        for i in range(args.repeats):
            samples.append(timed(cmd, env))
            print(f"  run {i + 1}: {samples[-1][0]:.1f} s wall, {samples[-1][1]:.1f} s CPU, "
                  f"{samples[-1][2]:.0f} MB", flush=True)
    walls, cpus, peaks = zip(*samples)
    row = {"what": f"{NOTEBOOK} on {args.case} (workbench run, defaults)", "median_s": statistics.median(walls),
           "min_s": min(walls), "max_s": max(walls), "cpu_median_s": statistics.median(cpus),
           "peak_mb": max(peaks), "repeats": args.repeats}
    targets = [(f"{NOTEBOOK} on {args.case} <= {BUDGET_S:.0f} s on 2 cores",
                f"{row['median_s']:.1f} s wall ({row['cpu_median_s']:.1f} s CPU), {row['peak_mb']:.0f} MB",
                row["median_s"] <= BUDGET_S)]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    stamp = time.strftime("%Y-%m-%d %H:%M")
    lines = [f"# {NOTEBOOK} benchmark {stamp}", "", f"Machine: {machine}; load average {load:.2f} at the start.",
             "", "| target | measured | met |", "| --- | --- | --- |"]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in targets]
    lines += ["", "| what | median s | min-max s | CPU s | peak MB | n |", "| --- | --- | --- | --- | --- | --- |",
              f"| {row['what']} | {row['median_s']:.2f} | {row['min_s']:.2f}-{row['max_s']:.2f} | "
              f"{row['cpu_median_s']:.2f} | {row['peak_mb']:.0f} | {row['repeats']} |"]
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "bench_retraining-" + time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{name}.md").write_text(text)
    (RESULTS / f"{name}.json").write_text(json.dumps({"machine": machine, "date": stamp, "load_average": load,
                                                      "rows": [row], "targets": targets}, indent=2))
    print("\n" + text)
    if args.json:
        print(json.dumps({"rows": [row], "targets": targets}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
