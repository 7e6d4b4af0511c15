"""Benchmark: how `workbench init` and `workbench review` grow with the table (rows x 20 columns, Parquet).

For each size: the whole-process wall time and the peak memory of the process tree (sampled, summed
over the review, its workers and their kernels), and per notebook the run's duration and its kernel's
peak memory (from provenance). Targets (issue 22): peak memory <= 4 GB at every size, and the review of
5M rows <= 3 minutes on 2 cores; a 50,000-row review <= 60 s (issue 20).

    .venv/bin/python benchmarks/bench_scale.py [--rows 50000 100000 1000000 5000000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak MB of the whole process tree (sampled every 0.1 s), and the exit code."""
    import psutil

    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            try:
                root = psutil.Process(proc.pid)
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()) / 2**20)
            except psutil.Error:
                pass
            stop.wait(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    _, err = proc.communicate()
    stop.set()
    thread.join()
    if proc.returncode:
        print(err.decode()[-2000:], file=sys.stderr)
    return time.perf_counter() - started, peak, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[50_000, 100_000, 1_000_000, 5_000_000])
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the rows and targets as one JSON line at the end")
    args = parser.parse_args()
    from workbench.cases.synthetic import make_table

    rows, targets = [], []
    with tempfile.TemporaryDirectory(prefix="wb-scale-") as tmp_name:
        tmp = Path(tmp_name)
        for n in args.rows:
            numeric = args.columns - 5  # + 3 categorical, a time column and a target: 20 columns by default
            table = tmp / f"table_{n}.parquet"
            make_table(n, numeric=numeric, categorical=3, seed=1, identifier=False).to_parquet(table, index=False)
            env = {**os.environ, "WORKBENCH_RUNS": str(tmp / f"runs_{n}")}
            case = tmp / f"case_{n}"
            init_s, init_mb, code = run_measured([str(BIN / "workbench"), "init", str(table), "--target", "outcome",
                                                  "--equal-costs", "--out", str(case)], env)
            if code:
                targets.append((f"init of {n:,} rows", "failed", False))
                continue
            review_s, review_mb, code = run_measured([str(BIN / "workbench"), "review", str(case), "--workers",
                                                      str(args.workers)], env)
            per_nb = []
            for prov in sorted((tmp / f"runs_{n}").glob("*/*/provenance.json")):
                p = json.loads(prov.read_text())
                per_nb.append({"notebook": p["notebook"], "status": p["status"], "seconds": p["duration_s"],
                               "peak_mb": p.get("peak_memory_mb")})
            row = {"rows": n, "columns": args.columns, "init_s": round(init_s, 1), "init_peak_mb": round(init_mb),
                   "review_s": round(review_s, 1), "review_peak_mb": round(review_mb), "review_exit": code,
                   "notebooks": per_nb}
            rows.append(row)
            print(f"{n:>9,} rows: init {init_s:5.1f} s ({init_mb:,.0f} MB); review {review_s:6.1f} s "
                  f"({review_mb:,.0f} MB peak, exit {code})", flush=True)
            for r in per_nb:
                print(f"           {r['notebook']:<22} {r['status']:6} {r['seconds']:6.1f} s  "
                      f"{r['peak_mb'] or 0:7,.0f} MB", flush=True)
            targets.append((f"review of {n:,} rows: peak <= 4 GB", f"{review_mb:,.0f} MB", review_mb <= 4096))
            if n == 50_000:
                targets.append(("review of 50,000 rows <= 60 s", f"{review_s:.0f} s", review_s <= 60 and code == 0))
            if n == 5_000_000:
                targets.append(("review of 5M rows <= 180 s", f"{review_s:.0f} s", review_s <= 180 and code == 0))
    if args.json:
        print(json.dumps({"rows": rows, "targets": targets}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
