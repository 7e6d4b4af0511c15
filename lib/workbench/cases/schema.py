"""Validation of case.yaml: its fields, their types, and how they refer to each other.

Every check appends a message naming the file, the field and what was expected, so that a user
sees all problems at once instead of fixing them one run at a time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import paths
from workbench.cases.model import KINDS

__all__ = ["list_field", "read_spec"]

if TYPE_CHECKING:
    pass

REQUIRED: dict[str, Any] = {
    "id": str, "title": str, "question": str, "data": str, "task": str, "target": str,
    "positive_class": (str, int, bool), "features": dict, "costs": dict, "notebooks": list,
}
OPTIONAL: dict[str, Any] = {
    "sha256": (str, type(None)), "time_column": (str, type(None)), "identifiers": list,
    "sensitive": list, "text_column": (str, type(None)), "leaky": list,
    "label_delay_days": (int, float, type(None)), "slices": list,
    "prediction_lead_days": (int, float, type(None)),
    "serving": (dict, type(None)),
}
COST_KEYS = ("unit", "false_positive", "false_negative", "note", "retrain", "review")
TASKS = ("binary",)
# serving: what deployment must live with (08_deployment); every key but `note` is required
SERVING_KEYS = ("requests_per_day", "entities", "share_requested", "latency_budget_ms", "valid_hours",
                "cpu_hour_price", "note")
TYPE_NAMES = {str: "a string", int: "an integer", bool: "true/false", dict: "a mapping",
              list: "a list", float: "a number", type(None): "null"}


def list_field(spec: dict[str, Any], name: str) -> list[Any]:
    """A list-valued field, or [] when it is absent or not a list (that problem is reported once)."""
    value = spec.get(name)
    return value if isinstance(value, list) else []


def _expected(types: Any) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(TYPE_NAMES[t] for t in types)


def read_spec(folder: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """Parse and check case.yaml; return the mapping (None if unreadable) and its problems."""
    import yaml

    where = f"{paths.display(folder / 'case.yaml')}"
    try:
        spec = yaml.safe_load((folder / "case.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        return None, [f"{where}: cannot be read ({e})"]
    except yaml.YAMLError as e:
        return None, [f"{where}: is not valid YAML ({' '.join(str(e).split())})"]
    if not isinstance(spec, dict):
        return None, [f"{where}: expected a mapping of fields, got {type(spec).__name__}"]

    problems: list[str] = []

    def bad(fld: str, msg: str) -> None:
        problems.append(f"{where}: field '{fld}': {msg}")

    for name, types in REQUIRED.items():
        if name not in spec or spec[name] is None:
            bad(name, f"is missing (expected {_expected(types)})")
        elif not isinstance(spec[name], types):
            bad(name, f"expected {_expected(types)}, got {spec[name]!r}")
    for name, types in OPTIONAL.items():
        if name in spec and spec[name] is not None and not isinstance(spec[name], types):
            bad(name, f"expected {_expected(types)}, got {spec[name]!r}")
    for name in sorted(set(spec) - set(REQUIRED) - set(OPTIONAL)):
        bad(name, f"unknown field (expected one of: {', '.join([*REQUIRED, *OPTIONAL])})")

    if isinstance(spec.get("id"), str) and spec["id"] != folder.name:
        bad("id", f"'{spec['id']}' must equal the folder name '{folder.name}'")
    if isinstance(spec.get("id"), str) and not re.fullmatch(r"[a-z0-9_]+", spec["id"]):
        bad("id", f"'{spec['id']}' must be lower-case letters, digits and underscores")
    if isinstance(spec.get("task"), str) and spec["task"] not in TASKS:
        bad("task", f"'{spec['task']}' is not supported (expected one of: {', '.join(TASKS)})")
    if isinstance(spec.get("data"), str) and Path(spec["data"]).suffix not in (".parquet", ".csv"):
        bad("data", f"'{spec['data']}' must be a .parquet or .csv file in the case folder")
    if isinstance(spec.get("sha256"), str) and not re.fullmatch(r"[0-9a-f]{64}", spec["sha256"]):
        bad("sha256", "expected 64 lower-case hex digits")

    features: dict[str, Any] = spec["features"] if isinstance(spec.get("features"), dict) else {}
    if isinstance(spec.get("features"), dict) and not features:
        bad("features", "declares no feature columns")
    for col, kind in features.items():
        if kind not in KINDS:
            bad("features", f"column '{col}' has kind {kind!r} (expected one of: {', '.join(KINDS)})")
    for fld in ("identifiers", "sensitive", "leaky"):
        for col in list_field(spec, fld):
            if not isinstance(col, str):
                bad(fld, f"expected column names, got {col!r}")
    for col in list_field(spec, "leaky"):
        if isinstance(col, str) and col not in features:
            bad("leaky", f"'{col}' must also be declared under features")
    for col in list_field(spec, "identifiers"):
        if col in features:
            bad("identifiers", f"'{col}' is also a feature; identifiers are never features")
    text = spec.get("text_column")
    if isinstance(text, str) and features.get(text) != "text":
        bad("text_column", f"'{text}' must be declared under features with kind 'text'")
    if isinstance(spec.get("target"), str) and spec["target"] in features:
        bad("target", f"'{spec['target']}' is also declared as a feature")

    costs: dict[str, Any] = spec["costs"] if isinstance(spec.get("costs"), dict) else {}
    for key in ("false_positive", "false_negative"):
        v = costs.get(key)
        if isinstance(spec.get("costs"), dict) and not (
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 and math.isfinite(v)
        ):
            bad(f"costs.{key}", f"expected a non-negative number, got {v!r}")
    if isinstance(spec.get("costs"), dict) and not isinstance(costs.get("unit"), str):
        bad("costs.unit", "expected the unit the costs are in (e.g. USD, minutes)")
    if isinstance(spec.get("costs"), dict) and costs.get("false_positive") == costs.get("false_negative") == 0:
        bad("costs", "both costs are 0: at least one error must cost something")
    for key in ("retrain", "review"):
        v = costs.get(key)
        if v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 and math.isfinite(v)):
            bad(f"costs.{key}", f"expected a non-negative number or null, got {v!r}")
    extra = set(costs) - set(COST_KEYS)
    if extra:
        bad("costs", f"unknown keys {sorted(extra)} (expected {', '.join(COST_KEYS)})")

    for name in ("label_delay_days", "prediction_lead_days"):
        days = spec.get(name)
        if isinstance(days, (int, float)) and not isinstance(days, bool) and not (days >= 0 and math.isfinite(days)):
            bad(name, f"expected a non-negative number of days, got {days}")

    for i, s in enumerate(list_field(spec, "slices")):
        if not isinstance(s, dict) or not isinstance(s.get("column"), str):
            bad(f"slices[{i}]", f"expected a mapping with a 'column', got {s!r}")
            continue
        if set(s) - {"column", "bins"}:
            bad(f"slices[{i}]", f"unknown keys {sorted(set(s) - {'column', 'bins'})} (expected column, bins)")
        bins = s.get("bins")
        if bins is not None and not (
            isinstance(bins, list) and len(bins) >= 2
            and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bins)
            and all(a < b for a, b in zip(bins, bins[1:]))
        ):
            bad(f"slices[{i}].bins", f"expected at least two ascending numbers, got {bins!r}")

    _check_serving(spec, bad)

    known = sorted(p.stem for p in paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    for nb in list_field(spec, "notebooks"):
        if str(nb) not in known:
            bad("notebooks", f"'{nb}' is not a notebook in notebooks/ (known: {', '.join(known) or 'none'})")
    return spec, problems


def _check_serving(spec: dict[str, Any], bad: Callable[[str, str], None]) -> None:
    """The optional `serving` block: traffic, entities, latency budget, validity and compute price."""
    block = spec.get("serving")
    if not isinstance(block, dict):
        return  # absent, null, or not a mapping (reported with the other field types)

    def number(key: str) -> float | None:
        v = block.get(key)
        if key not in block or v is None:
            bad(f"serving.{key}", "is missing (expected a number)")
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            bad(f"serving.{key}", f"expected a number, got {v!r}")
            return None
        return float(v)

    for key in sorted(set(block) - set(SERVING_KEYS)):
        bad("serving", f"unknown key '{key}' (expected {', '.join(SERVING_KEYS)})")
    values = {key: number(key) for key in SERVING_KEYS if key != "note"}
    for key in ("requests_per_day", "latency_budget_ms", "valid_hours"):
        v = values[key]
        if v is not None and v <= 0:
            bad(f"serving.{key}", f"expected a number above 0, got {block[key]!r}")
    entities = values["entities"]
    if entities is not None and (entities < 1 or entities != int(entities)):
        bad("serving.entities", f"expected a whole number of entities >= 1, got {block['entities']!r}")
    share = values["share_requested"]
    if share is not None and not 0 < share <= 1:
        bad("serving.share_requested", f"expected a share in (0, 1], got {block['share_requested']!r}")
    price = values["cpu_hour_price"]
    if price is not None and price < 0:
        bad("serving.cpu_hour_price", f"expected a price >= 0, got {block['cpu_hour_price']!r}")
    if "note" in block and not isinstance(block["note"], str):
        bad("serving.note", f"expected a string saying where the numbers come from, got {block['note']!r}")
    requests, hours = values["requests_per_day"], values["valid_hours"]
    if entities and share and requests and hours and min(entities, share, requests, hours) > 0:
        per_period = requests * hours / 24
        if share * entities > per_period * (1 + 1e-9):
            bad("serving.share_requested", f"{share:g} of {entities:,.0f} entities would be requested in "
                f"{hours:g} hours, but only {per_period:,.0f} requests arrive in that time "
                "(each requested entity needs at least one request)")
