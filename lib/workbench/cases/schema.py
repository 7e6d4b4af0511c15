"""Validation of case.yaml: its fields, their types, and how they refer to each other.

Every check appends a message naming the file, the field and what was expected, so that a user
sees all problems at once instead of fixing them one run at a time.
"""

from __future__ import annotations

import math
import re
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
    "expectations": (dict, type(None)),
}
COST_KEYS = ("unit", "false_positive", "false_negative", "note", "retrain", "review")
TASKS = ("binary",)
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

    _check_expectations(spec, bad)

    known = sorted(p.stem for p in paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    for nb in list_field(spec, "notebooks"):
        if str(nb) not in known:
            bad("notebooks", f"'{nb}' is not a notebook in notebooks/ (known: {', '.join(known) or 'none'})")
    return spec, problems


# The optional `expectations:` block (06_evaluation's behavioural tests): what each part may hold.
EXPECTATION_KEYS = ("monotone", "invariances", "directional", "examples", "text_lengths")
DIRECTIONS = ("increasing", "decreasing")
# perturbation kind -> (the feature kind it applies to, its parameters: name -> (type check, what is expected))
PERTURBATION_KINDS: dict[str, tuple[str, dict[str, tuple[Any, str]]]] = {
    "round": ("numeric", {"unit": (lambda v: _number(v) and v > 0, "a positive number")}),
    "swap": ("categorical", {}),
    "typos": ("text", {"rate": (lambda v: _number(v) and 0 < v <= 1, "a share of words in (0, 1]")}),
    "append": ("text", {"text": (lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string")}),
    "punctuation": ("text", {}),
}


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_expectations(spec: dict[str, Any], bad: Any) -> None:
    """Check the optional `expectations:` block: monotone directions, perturbations, examples, text lengths."""
    block = spec.get("expectations")
    if not isinstance(block, dict):
        return  # absent, null, or a wrong type (reported with the other optional fields)
    features: dict[str, Any] = spec["features"] if isinstance(spec.get("features"), dict) else {}
    leaky = set(list_field(spec, "leaky"))
    for key in sorted(set(block) - set(EXPECTATION_KEYS)):
        bad(f"expectations.{key}", f"unknown key (expected one of: {', '.join(EXPECTATION_KEYS)})")

    def feature(fld: str, col: Any, kinds: tuple[str, ...]) -> bool:
        if not isinstance(col, str) or features.get(col) not in kinds:
            bad(fld, f"{col!r} must be a feature of kind {' or '.join(kinds)} declared under features")
            return False
        if col in leaky:
            bad(fld, f"'{col}' is declared leaky; expectations are about the features a model may use")
            return False
        return True

    monotone = block.get("monotone")
    if monotone is not None and not isinstance(monotone, dict):
        bad("expectations.monotone", f"expected a mapping of numeric feature -> direction, got {monotone!r}")
    for col, rule in (monotone or {}).items() if isinstance(monotone, dict) else ():
        fld = f"expectations.monotone.{col}"
        feature(fld, col, ("numeric",))
        rule = {"direction": rule} if isinstance(rule, str) else rule
        if not isinstance(rule, dict) or rule.get("direction") not in DIRECTIONS:
            bad(fld, f"expected {' or '.join(DIRECTIONS)}, or a mapping with 'direction' and optionally 'step' or "
                     f"'factor', got {rule!r}")
            continue
        if set(rule) - {"direction", "step", "factor"}:
            bad(fld, f"unknown keys {sorted(set(rule) - {'direction', 'step', 'factor'})} (expected direction, step, factor)")
        if "step" in rule and "factor" in rule:
            bad(fld, "give either 'step' (added) or 'factor' (multiplied), not both")
        if "step" in rule and not (_number(rule["step"]) and rule["step"] > 0):
            bad(f"{fld}.step", f"expected a positive number (how far the feature rises), got {rule['step']!r}")
        if "factor" in rule and not (_number(rule["factor"]) and rule["factor"] > 1):
            bad(f"{fld}.factor", f"expected a number above 1 (the feature is multiplied by it), got {rule['factor']!r}")

    for part in ("invariances", "directional"):
        entries = block.get(part)
        if entries is not None and not isinstance(entries, list):
            bad(f"expectations.{part}", f"expected a list of perturbations, got {entries!r}")
            continue
        for i, entry in enumerate(entries or []):
            _check_perturbation(f"expectations.{part}[{i}]", entry, part == "directional", feature, bad)

    examples = block.get("examples")
    if examples is not None and not isinstance(examples, list):
        bad("expectations.examples", f"expected a list of examples, got {examples!r}")
    for i, ex in enumerate(examples or [] if isinstance(examples, list) else []):
        fld = f"expectations.examples[{i}]"
        if not isinstance(ex, dict) or "expected" not in ex:
            bad(fld, f"expected a mapping with 'expected' (a target value) and feature values, got {ex!r}")
            continue
        if not isinstance(ex["expected"], (str, int, bool)):
            bad(f"{fld}.expected", f"expected a value of the target, got {ex['expected']!r}")
        given = [c for c in ex if c not in ("expected", "name")]
        if not given:
            bad(fld, "gives no feature values")
        for col in given:
            if feature(f"{fld}.{col}", col, ("numeric", "categorical", "text")):
                value, kind = ex[col], features[col]
                if (kind == "numeric" and not _number(value)) or (kind == "text" and not isinstance(value, str)):
                    bad(f"{fld}.{col}", f"expected a {'number' if kind == 'numeric' else 'string'} for a {kind} "
                                        f"feature, got {value!r}")
        if "name" in ex and not isinstance(ex["name"], str):
            bad(f"{fld}.name", f"expected a string, got {ex['name']!r}")

    lengths = block.get("text_lengths")
    if lengths is not None and not isinstance(lengths, dict):
        bad("expectations.text_lengths", f"expected a mapping of numeric feature -> text feature, got {lengths!r}")
    for col, text in (lengths or {}).items() if isinstance(lengths, dict) else ():
        feature(f"expectations.text_lengths.{col}", col, ("numeric",))
        feature(f"expectations.text_lengths.{col}", text, ("text",))


def _check_perturbation(fld: str, entry: Any, directional: bool, feature: Any, bad: Any) -> None:
    """Check one perturbation of `invariances` or `directional`: its kind, column and parameters."""
    if not isinstance(entry, dict) or entry.get("kind") not in PERTURBATION_KINDS:
        bad(fld, f"expected a mapping with 'kind' (one of: {', '.join(PERTURBATION_KINDS)}) and 'column', got {entry!r}")
        return
    kind_of, params = PERTURBATION_KINDS[entry["kind"]]
    feature(f"{fld}.column", entry.get("column"), (kind_of,))
    allowed = {"kind", "column", "name", *params, *(["direction"] if directional else [])}
    if set(entry) - allowed:
        bad(fld, f"unknown keys {sorted(set(entry) - allowed)} (expected {', '.join(sorted(allowed))})")
    for name, (ok, what) in params.items():
        if not ok(entry.get(name)):
            bad(f"{fld}.{name}", f"kind '{entry['kind']}' needs '{name}': {what}, got {entry.get(name)!r}")
    if directional and entry.get("direction") not in DIRECTIONS:
        bad(f"{fld}.direction", f"expected {' or '.join(DIRECTIONS)} (how P(positive class) must move), "
                                f"got {entry.get('direction')!r}")
    if "name" in entry and not isinstance(entry["name"], str):
        bad(f"{fld}.name", f"expected a string, got {entry['name']!r}")
