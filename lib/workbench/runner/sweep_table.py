"""Aggregate a sweep: one tidy table (parquet and CSV), plots of recorded values against parameters, index.html."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.fileio import atomic_write

if TYPE_CHECKING:
    import pandas as pd

    from workbench.runner.sweep_spec import Spec

__all__ = ["OUTPUTS", "mark_running", "table", "write_outputs"]


def _cell(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


def table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run: its parameters, recorded scalar values, decision, status, duration and folder."""
    import pandas as pd

    records = []
    for row in rows:
        folder = Path(row["folder"])
        results: dict[str, Any] = {}
        duration = row["duration_s"]
        if row["status"] in ("ok", "skipped"):
            results = json.loads((folder / "results.json").read_text())
            if row["status"] == "skipped":
                duration = json.loads((folder / "provenance.json").read_text()).get("duration_s", 0.0)
        decision = results.pop("decision", None)
        err = row.get("error") or {}
        records.append({
            **{k: _cell(v) for k, v in row["params"].items()},
            **{k: v for k, v in results.items() if isinstance(v, (int, float, str, bool)) or v is None},
            "decision": decision.get("choice") if isinstance(decision, dict) else None,
            "status": "failed" if row["status"] == "failed" else "ok",
            "reused": row["status"] == "skipped",
            "duration_s": round(float(duration), 3),
            "attempts": row.get("attempts", 1),
            "error": f"cell {err.get('cell')}: {err.get('ename')}: {err.get('evalue')}" if err else None,
            "folder": str(folder),
        })
    df = pd.DataFrame.from_records(records)
    keys = [k for k in rows[0]["params"]] if rows else []
    return df.sort_values(keys, kind="stable").reset_index(drop=True) if keys else df


def _plots(spec: Spec, df: pd.DataFrame, folder: Path) -> list[Path]:
    if not spec.plots:
        return []  # matplotlib and seaborn cost a second to import: only when there is something to draw
    import matplotlib

    matplotlib.use("Agg")  # the sweep process draws to files only
    import matplotlib.pyplot as plt
    import seaborn as sns

    from workbench.modelling import plots

    plots.style()
    ok = df[df["status"] == "ok"]
    written = []
    for p in spec.plots:
        for y in p["y"]:
            if p["x"] not in ok or y not in ok or ok.empty:
                continue
            fig, ax = plt.subplots()
            hue = "case" if ok["case"].nunique() > 1 else None
            sns.lineplot(data=ok, x=p["x"], y=y, hue=hue, marker="o", errorbar=("pi", 100), ax=ax)
            band = " (band: min-max over seeds)" if "seed" in ok and ok["seed"].nunique() > 1 else ""
            ax.set_title(f"{y} against {p['x']}{band}")
            path = folder / "plots" / f"{y}_vs_{p['x']}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path)
            plt.close(fig)
            written.append(path)
    return written


_STYLE = ("<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:.2em .5em}.failed{color:#b00020}.stale{color:#8a6d00}</style>")
OUTPUTS = ("table.parquet", "table.csv", "index.html", "plots", "sweep.json")


def mark_running(spec: Spec, planned: int, folder: Path) -> None:
    """At the start of a sweep: move an earlier sweep's outputs to previous/ and say, in index.html and
    sweep.json, that this spec is running, so that no stale table is taken for this sweep's."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    earlier = [folder / n for n in OUTPUTS if (folder / n).exists()]
    if earlier:
        previous = folder / "previous"
        shutil.rmtree(previous, ignore_errors=True)
        previous.mkdir()
        for path in earlier:
            path.rename(previous / path.name)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    state = {"spec": spec.digest(), "notebook": spec.notebook, "status": "running", "planned": planned,
             "started": started}
    atomic_write(folder / "sweep.json", lambda p: p.write_text(json.dumps(state, indent=2) + "\n"))
    e = html.escape
    note = (" The outputs of the previous sweep into this folder are in <a href='previous/index.html'>previous/</a>."
            if earlier else "")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Sweep {e(spec.name)}</title>{_STYLE}</head>"
            f"<body><h1>Sweep {e(spec.name)}: {e(spec.notebook)}</h1><p class='stale'>Running since {e(started)}: "
            f"{planned} runs planned (spec {e(spec.digest())}). This page is replaced when the sweep finishes; "
            f"if it still says running, the sweep was interrupted: run it again to finish it.{note}</p></body></html>")
    atomic_write(folder / "index.html", lambda p: p.write_text(page, encoding="utf-8"))


def write_outputs(spec: Spec, rows: list[dict[str, Any]], folder: Path, planned: int | None = None) -> pd.DataFrame:
    """Write table.parquet, table.csv, plots/, index.html and sweep.json into the sweep folder."""
    df = table(rows)
    planned = len(rows) if planned is None else planned
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "table.parquet", lambda p: df.to_parquet(p, index=False))
    atomic_write(folder / "table.csv", lambda p: df.to_csv(p, index=False))
    figures = _plots(spec, df, folder)
    e = html.escape
    failed = df[df["status"] == "failed"]
    finished = time.strftime("%Y-%m-%d %H:%M:%S")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Sweep {e(spec.name)}</title>{_STYLE}</head><body>",
        f"<h1>Sweep {e(spec.name)}: {e(spec.notebook)}</h1>",
        f"<p>Spec {e(spec.digest())}, finished {e(finished)}: {len(df)} of {planned} planned runs, "
        f"{int((df['status'] == 'ok').sum())} ok "
        f"({int(df['reused'].sum())} reused from earlier), {len(failed)} failed. "
        "Data: <a href='table.csv'>table.csv</a>, <a href='table.parquet'>table.parquet</a>.</p>",
    ]
    if len(failed):
        items = "".join(f"<li>{e(str(r.error))} — {e(r.folder)}</li>" for r in failed.itertuples())
        parts.append(f"<h2 class='failed'>Failures</h2><ul class='failed'>{items}</ul>")
    parts += [f"<h2>{e(f.stem)}</h2><img src='plots/{e(f.name)}'>" for f in figures]
    parts.append("<h2>All runs</h2>" + df.drop(columns=["folder"]).to_html(index=False, na_rep=""))
    parts.append("</body></html>")
    atomic_write(folder / "index.html", lambda p: p.write_text("\n".join(parts), encoding="utf-8"))
    state = {"spec": spec.digest(), "notebook": spec.notebook, "planned": planned, "runs": len(df),
             "ok": int((df["status"] == "ok").sum()), "failed": len(failed), "finished": finished,
             "status": "complete" if len(df) == planned and not len(failed) else "finished with failures"}
    atomic_write(folder / "sweep.json", lambda p: p.write_text(json.dumps(state, indent=2) + "\n"))
    return df
