"""The in-notebook API: record key results and the decision so that runs and sweeps can collect them.

Each call displays its value as an output of the cell with a workbench MIME type (and a readable
text form). The executed notebook therefore carries its own results: `workbench run`, a sweep, or
anyone holding a notebook executed by plain papermill or JupyterLab can read them back with
`workbench.notebook.read_records`. Nothing is written to disk.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from workbench import paths

__all__ = ["Decision", "MIME", "RUN_DIR_ENV", "decide", "output_dir", "record", "recorded"]

MIME = "application/vnd.workbench.record+json"
RUN_DIR_ENV = "WORKBENCH_RUN_DIR"
NAME = re.compile(r"[a-z][a-z0-9_]*")

_recorded: dict[str, Any] = {}


@dataclass(frozen=True)
class Decision:
    """The choice the evidence supports, the evidence, and what would change it."""

    choice: str
    evidence: list[str]
    would_change: list[str]

    def markdown(self) -> str:
        ev = "\n".join(f"- {e}" for e in self.evidence)
        ch = "\n".join(f"- {c}" for c in self.would_change)
        return f"**Decision:** {self.choice}\n\n**Evidence**\n\n{ev}\n\n**What would change it**\n\n{ch}"


def _jsonable(name: str, value: Any) -> Any:
    """A JSON-safe copy of value (numpy scalars and arrays become Python), or a ValueError."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # numpy scalar or array
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"record('{name}'): value is {value}; record None if it is undefined")
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(name, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(name, v) for k, v in value.items()}
    raise TypeError(
        f"record('{name}'): cannot record a {type(value).__name__}; record numbers, strings, "
        "booleans, or lists and dicts of them"
    )


def _emit(payload: dict[str, Any], text: str, markdown: str | None = None) -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is None:
        return
    from IPython.display import display

    bundle = {MIME: payload, "text/plain": text}
    if markdown:
        bundle["text/markdown"] = markdown
    display(bundle, raw=True)


def _bounds(name: str, interval: Any) -> tuple[float | None, float | None]:
    """(lo, hi) of an interval given as an object with .lo/.hi or a pair; NaN bounds become None."""
    lo, hi = (interval.lo, interval.hi) if hasattr(interval, "lo") else tuple(interval)
    out = []
    for bound in (lo, hi):
        b = None if bound is None else float(bound)
        out.append(None if b is None or math.isnan(b) else b)
    if out[0] is not None and out[1] is not None and out[0] > out[1]:
        raise ValueError(f"record('{name}'): interval lower bound {out[0]} is above its upper bound {out[1]}")
    return out[0], out[1]


def record(name: str, value: Any, *, interval: Any = None) -> Any:
    """Record a named result of this run (a number, string, bool, or list/dict of them); returns value.

    A headline number is recorded with its interval: pass an `Interval` (from
    workbench.modelling.intervals) as the value, or `interval=(lo, hi)`; the bounds are recorded as
    `<name>_lo` and `<name>_hi` (None where the interval is undefined).
    """
    if not isinstance(name, str) or not NAME.fullmatch(name) or name == "decision":
        raise ValueError(
            f"record: name {name!r} must be lower_snake_case (letters, digits, _), and not 'decision'"
        )
    if all(hasattr(value, k) for k in ("value", "lo", "hi")) and interval is None:
        interval, value = value, value.value
    if interval is not None:
        lo, hi = _bounds(name, interval)
        record(name, value)
        record(f"{name}_lo", lo)
        record(f"{name}_hi", hi)
        return value
    clean = _jsonable(name, value)
    _recorded[name] = clean
    shown = f"{clean:.4g}" if isinstance(clean, float) else repr(clean)
    _emit({"name": name, "value": clean}, f"recorded {name} = {shown}")
    return value


def decide(choice: str, evidence: list[str] | str, would_change: list[str] | str) -> Decision:
    """Record the decision: the choice, the evidence for it, and what would change it."""
    ev = [evidence] if isinstance(evidence, str) else [str(e) for e in evidence]
    ch = [would_change] if isinstance(would_change, str) else [str(c) for c in would_change]
    if not str(choice).strip() or not ev or not ch:
        raise ValueError("decide: a decision needs a choice, at least one piece of evidence, and what would change it")
    decision = Decision(str(choice), ev, ch)
    _recorded["decision"] = asdict(decision)
    _emit({"name": "decision", "value": asdict(decision)}, f"decision: {decision.choice}", decision.markdown())
    return decision


def recorded() -> dict[str, Any]:
    """What this kernel has recorded so far (a copy)."""
    return dict(_recorded)


def output_dir() -> Path:
    """The folder a notebook may write files into: its run folder under `workbench run`, else runs/interactive/."""
    env = os.environ.get(RUN_DIR_ENV)
    path = Path(env) if env else paths.runs_dir() / "interactive"
    path.mkdir(parents=True, exist_ok=True)
    return path
