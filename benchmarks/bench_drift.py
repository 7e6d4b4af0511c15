"""Benchmark: the workbench's drift tests (workbench.monitoring.drift) against evidently 0.7, same tests, same verdicts.

    .venv/bin/python benchmarks/bench_drift.py                      # 10k, 100k, 1M rows; about 4 minutes
    .venv/bin/python benchmarks/bench_drift.py --rows 10000 100000 --repeats 5 --detector psi

Data: 12 columns, 6 numeric (3 continuous, 3 integer-valued) and 6 categorical (pandas category,
2 to 100 levels); the reference and the current frame have `rows` rows each, and 3 of the 12
columns are shifted a little in the current frame, so that some verdicts are "drift" and some are
not. Each run compares the two frames from scratch (preparing the reference is part of the time).
The verdicts of every tool are asserted equal to evidently's. Timings are in-process medians over
`--repeats` runs; evidently's import time is measured once in a fresh interpreter. Results go to
benchmarks/results/ (git-ignored) as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.monitoring import alerts, drift, evidently_adapter

RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = {**{f"num{i}": "numeric" for i in range(6)}, **{f"cat{i}": "categorical" for i in range(6)}}
LEVELS = [2, 5, 9, 18, 25, 100]
DETECTORS = alerts.detectors()  # ks_chi2, psi, wasserstein at evidently's default thresholds


def frame(rows: int, seed: int, shifted: bool) -> pd.DataFrame:
    """Synthetic data with realistic shapes; `shifted` moves num0, num3 and cat1 a little."""
    rng = np.random.default_rng(seed)
    s = 1.0 if shifted else 0.0
    data = {
        "num0": rng.normal(0.02 * s, 1.0, rows),
        "num1": rng.lognormal(3.0, 0.8, rows),
        "num2": rng.gamma(2.0, 10.0, rows),
        "num3": np.clip(rng.normal(42 + 0.3 * s, 23, rows).round(), 0, 95),  # ages
        "num4": rng.poisson(3.0, rows).astype(float),
        "num5": rng.integers(0, 24, rows).astype(float),  # hours
    }
    for i, k in enumerate(LEVELS):
        p = 1.0 / np.arange(1, k + 1)
        if i == 1 and shifted:
            p[0] *= 1.03
        codes = rng.choice(k, size=rows, p=p / p.sum())
        data[f"cat{i}"] = pd.Categorical.from_codes(codes, categories=[f"L{j:03d}" for j in range(k)])
    return pd.DataFrame(data)


def scipy_loop(reference: pd.DataFrame, current: pd.DataFrame, detector: drift.Detector) -> list[bool]:
    """A plain per-column scipy loop (KS and chi-square only), as one would write it by hand."""
    from scipy import stats

    out = []
    for c, kind in COLUMNS.items():
        if kind == "numeric":
            out.append(bool(stats.ks_2samp(reference[c], current[c]).pvalue <= detector.threshold(kind)))
        else:
            ref, cur = reference[c].value_counts(), current[c].value_counts()
            keys = ref.index.union(cur.index)
            ref, cur = ref.reindex(keys, fill_value=0), cur.reindex(keys, fill_value=0)
            p = stats.chisquare(cur, ref * cur.sum() / ref.sum()).pvalue
            out.append(bool(p < detector.threshold(kind)))
    return out


def timed(fn, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def evidently_import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import evidently.presets; print(time.perf_counter() - t)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3, help="runs per tool and size (the median is reported)")
    parser.add_argument("--detector", choices=sorted(DETECTORS), default="ks_chi2")
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON line of rows and targets for benchmarks/bench.py")
    args = parser.parse_args()
    detector = DETECTORS[args.detector]

    import_s = evidently_import_seconds()
    print(f"evidently import (fresh interpreter): {import_s:.1f} s")
    warm = frame(500, 0, False), frame(500, 1, True)  # first calls pay for imports: not timed
    evidently_adapter.drift_report(*warm, COLUMNS, detector)
    drift.compare(*warm, detector, COLUMNS)
    rows_out = []
    for rows in args.rows:
        reference, current = frame(rows, 0, False), frame(rows, 1, True)
        ev_s, ev_all, ev = timed(lambda r=reference, c=current: evidently_adapter.drift_report(r, c, COLUMNS, detector),
                                 args.repeats)
        fast_s, fast_all, fast = timed(lambda r=reference, c=current: drift.compare(r, c, detector, COLUMNS), args.repeats)
        expected = ev.table["drifted"].tolist()
        assert fast["drifted"].tolist() == expected, (fast, ev.table)
        row = {"rows": rows, "columns": len(COLUMNS), "detector": args.detector,
               "evidently_s": ev_s, "fast_s": fast_s, "speedup": ev_s / fast_s,
               "speedup_with_import": (ev_s + import_s) / fast_s,
               "drifted": int(sum(expected)), "evidently_runs_s": ev_all, "fast_runs_s": fast_all}
        if args.detector == "ks_chi2":
            loop_s, loop_all, loop = timed(lambda r=reference, c=current: scipy_loop(r, c, detector), args.repeats)
            assert loop == expected
            row.update(scipy_loop_s=loop_s, scipy_loop_runs_s=loop_all)
        rows_out.append(row)
        print(f"{rows:>9,} rows x {len(COLUMNS)}: evidently {ev_s:7.2f} s, fast path {fast_s:6.3f} s "
              f"({ev_s / fast_s:5.0f}x; {row['speedup_with_import']:.0f}x with evidently's import)"
              + (f", scipy loop {row['scipy_loop_s']:.2f} s" if "scipy_loop_s" in row else "")
              + f"; same verdicts ({row['drifted']} of {len(COLUMNS)} columns drifted)", flush=True)

    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"bench_drift-{args.detector}-{stamp}.json"
    out.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                               "evidently_import_s": import_s, "repeats": args.repeats, "results": rows_out},
                              indent=1))
    print(f"wrote {out}")
    if args.json:
        table, targets = [], []
        for r in rows_out:
            for tool, runs in (("drift fast path", r["fast_runs_s"]), ("evidently", r["evidently_runs_s"])):
                table.append({"what": f"{tool}, {r['rows']:,} rows x {r['columns']} ({r['detector']})",
                              "median_s": statistics.median(runs), "min_s": min(runs), "max_s": max(runs),
                              "repeats": args.repeats})
        largest = rows_out[-1]
        targets.append((f"drift fast path >= 20x evidently at {largest['rows']:,} rows, same verdicts",
                        f"{largest['speedup']:.0f}x (verdicts equal on every column)", largest["speedup"] >= 20))
        print(json.dumps({"rows": table, "targets": targets}))


if __name__ == "__main__":
    main()
