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
from workbench.cases.model import FAIRNESS_CRITERIA, KINDS
from workbench.errors import WorkbenchError
from workbench.fileio import read_yaml_mapping

__all__ = ["list_field", "read_spec"]

if TYPE_CHECKING:
    from collections.abc import Callable

REQUIRED: dict[str, Any] = {
    "id": str, "title": str, "question": str, "data": str, "task": str, "target": str,
    "positive_class": (str, int, bool), "features": dict, "costs": dict,
}
OPTIONAL: dict[str, Any] = {
    "sha256": (str, type(None)), "time_column": (str, type(None)), "identifiers": list,
    "sensitive": list, "text_column": (str, type(None)), "leaky": list,
    "label_delay_days": (int, float, type(None)), "slices": list,
    "prediction_lead_days": (int, float, type(None)),
    "notebooks": (list, type(None)),  # an override: without it, the notebooks that apply are worked out
    "interactions": (dict, type(None)),
    "fairness": (dict, type(None)),
    "serving": (dict, type(None)),
    "expectations": (dict, type(None)),
}
COST_KEYS = ("unit", "false_positive", "false_negative", "note", "retrain", "review", "assumption")
FAIRNESS_KEYS = ("criterion", "favourable", "limit", "note")
COST_ASSUMPTIONS = ("placeholder", "equal")  # costs not yet set (the review refuses to price), or assumed equal
TASKS = ("binary", "interactions")
# Fields task binary requires and task interactions does without (its reward is `interactions.reward`).
BINARY_FIELDS = ("target", "positive_class", "features", "costs")
INTERACTION_COLUMNS = ("action", "reward", "propensity", "policy")  # required keys of the interactions block
INTERACTION_OPTIONAL = ("position", "segment", "uniform_policy", "context", "traffic_per_day")
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


def read_spec(folder: Path, warnings: list[str] | None = None) -> tuple[dict[str, Any] | None, list[str]]:
    """Parse and check case.yaml; return the mapping (None if unreadable) and its problems.

    What does not stop a case from loading (a listed notebook that is not in the notebooks folder)
    is appended to `warnings`.
    """
    warnings = [] if warnings is None else warnings
    where = f"{paths.display(folder / 'case.yaml')}"
    try:
        spec = read_yaml_mapping(folder / "case.yaml", "case.yaml")
    except WorkbenchError as e:
        return None, [str(e).replace(str(folder / "case.yaml"), where, 1)]

    problems: list[str] = []

    def bad(fld: str, msg: str) -> None:
        problems.append(f"{where}: field '{fld}': {msg}")

    interactions = spec.get("task") == "interactions"
    for name, types in REQUIRED.items():
        if interactions and name in BINARY_FIELDS:
            continue  # checked by _check_interactions
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
    elif isinstance(spec.get("data"), str) and (Path(spec["data"]).name != spec["data"] or spec["data"].startswith(".")):
        bad("data", f"'{spec['data']}' must be the name of a file in the case folder itself (no folders, no '..', "
                    "not hidden); move the file next to case.yaml")
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
    if costs.get("assumption") is not None and costs.get("assumption") not in COST_ASSUMPTIONS:
        bad("costs.assumption", f"expected one of {', '.join(COST_ASSUMPTIONS)} (or no assumption), "
                                f"got {costs.get('assumption')!r}")
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

    _check_interactions(spec, bad)
    _check_fairness(spec, bad)
    _check_serving(spec, bad)
    _check_expectations(spec, bad)

    known = sorted(p.stem for p in paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    for nb in list_field(spec, "notebooks"):
        if str(nb) not in known:
            warnings.append(f"{where}: field 'notebooks': '{nb}' is not a notebook in {paths.display(paths.notebooks_dir())} "
                            f"(known: {', '.join(known) or 'none'}); it is ignored")
    return spec, problems


def _check_interactions(spec: dict[str, Any], bad: Callable[[str, str], None]) -> None:
    """The `interactions` block: required by task interactions (which takes no binary fields), refused otherwise."""
    block = spec.get("interactions")
    if spec.get("task") != "interactions":
        if block is not None:
            bad("interactions", f"only task 'interactions' takes this block (task is {spec.get('task')!r})")
        return
    for name in ("target", "positive_class", "costs"):
        if spec.get(name) is not None:
            bad(name, "is not used by task 'interactions' (the reward column is interactions.reward); remove it")
    if not isinstance(block, dict):
        bad("interactions", "is missing (task 'interactions' needs a mapping naming the action, reward, "
                            "propensity and policy columns)")
        return
    for key in INTERACTION_COLUMNS:
        if not isinstance(block.get(key), str) or not block[key]:
            bad(f"interactions.{key}", f"expected a column name, got {block.get(key)!r}")
    for key in ("position", "segment", "uniform_policy"):
        if block.get(key) is not None and not isinstance(block[key], str):
            bad(f"interactions.{key}", f"expected a column name (a value of the policy column for uniform_policy) "
                                       f"or null, got {block[key]!r}")
    context = block.get("context", [])
    if not isinstance(context, list) or not all(isinstance(c, str) for c in context):
        bad("interactions.context", f"expected a list of column names, got {context!r}")
    traffic = block.get("traffic_per_day")
    if traffic is not None and not (isinstance(traffic, (int, float)) and not isinstance(traffic, bool)
                                    and traffic > 0 and math.isfinite(traffic)):
        bad("interactions.traffic_per_day", f"expected a positive number of interactions a day or null, got {traffic!r}")
    columns = [str(block[k]) for k in (*INTERACTION_COLUMNS, "position", "segment") if isinstance(block.get(k), str)]
    for col in sorted({c for c in columns if columns.count(c) > 1}):
        bad("interactions", f"column '{col}' is named for more than one role")
    extra = set(block) - set(INTERACTION_COLUMNS) - set(INTERACTION_OPTIONAL)
    if extra:
        bad("interactions", f"unknown keys {sorted(extra)} (expected {', '.join(INTERACTION_COLUMNS + INTERACTION_OPTIONAL)})")


def _check_fairness(spec: dict[str, Any], bad: Callable[[str, str], None]) -> None:
    """The optional `fairness` block: the criterion the case's question calls for, whose outcome is
    favourable (for equal opportunity), the accepted disparity, and why."""
    block = spec.get("fairness")
    if not isinstance(block, dict):
        return
    extra = set(block) - set(FAIRNESS_KEYS)
    if extra:
        bad("fairness", f"unknown keys {sorted(extra)} (expected {', '.join(FAIRNESS_KEYS)})")
    if block.get("criterion") not in FAIRNESS_CRITERIA:
        bad("fairness.criterion", f"expected one of {', '.join(FAIRNESS_CRITERIA)}, got {block.get('criterion')!r}")
    favourable = block.get("favourable")
    if block.get("criterion") == "equal_opportunity" and favourable is None:
        bad("fairness.favourable", "equal_opportunity needs the target value whose prediction benefits the person")
    if favourable is not None and not isinstance(favourable, (str, int, bool)):
        bad("fairness.favourable", f"expected a value of the target, got {favourable!r}")
    limit = block.get("limit")
    if limit is not None and not (isinstance(limit, (int, float)) and not isinstance(limit, bool) and 0 <= limit <= 1):
        bad("fairness.limit", f"expected a difference between rates, from 0 to 1, got {limit!r}")
    if not list_field(spec, "sensitive"):
        bad("fairness", "needs `sensitive` attributes to judge fairness across")


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
