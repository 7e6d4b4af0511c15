"""Validation of a case folder: case.yaml's schema, then its data file's content.

Every check appends a message naming the file, the field and what was expected, so that a user
sees all problems at once instead of fixing them one run at a time.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import paths

__all__ = ["KINDS", "read_data", "read_spec"]

if TYPE_CHECKING:
    import pandas as pd

REQUIRED = {
    "id": str, "title": str, "question": str, "data": str, "task": str, "target": str,
    "positive_class": (str, int, bool), "features": dict, "costs": dict, "notebooks": list,
}
OPTIONAL = {
    "sha256": (str, type(None)), "time_column": (str, type(None)), "identifiers": list,
    "sensitive": list, "text_column": (str, type(None)), "leaky": list,
    "label_delay_days": (int, float, type(None)), "slices": list,
}
TASKS = ("binary",)
KINDS = ("numeric", "categorical", "text")
TYPE_NAMES = {str: "a string", int: "an integer", bool: "true/false", dict: "a mapping",
              list: "a list", float: "a number", type(None): "null"}


def _list(spec: dict[str, Any], name: str) -> list[Any]:
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

    features = spec.get("features") if isinstance(spec.get("features"), dict) else {}
    if isinstance(spec.get("features"), dict) and not features:
        bad("features", "declares no feature columns")
    for col, kind in features.items():
        if kind not in KINDS:
            bad("features", f"column '{col}' has kind {kind!r} (expected one of: {', '.join(KINDS)})")
    for fld in ("identifiers", "sensitive", "leaky"):
        for col in _list(spec, fld):
            if not isinstance(col, str):
                bad(fld, f"expected column names, got {col!r}")
    for col in _list(spec, "leaky"):
        if isinstance(col, str) and col not in features:
            bad("leaky", f"'{col}' must also be declared under features")
    for col in _list(spec, "identifiers"):
        if col in features:
            bad("identifiers", f"'{col}' is also a feature; identifiers are never features")
    text = spec.get("text_column")
    if isinstance(text, str) and features.get(text) != "text":
        bad("text_column", f"'{text}' must be declared under features with kind 'text'")
    if isinstance(spec.get("target"), str) and spec["target"] in features:
        bad("target", f"'{spec['target']}' is also declared as a feature")

    costs = spec.get("costs") if isinstance(spec.get("costs"), dict) else {}
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
    extra = set(costs) - {"unit", "false_positive", "false_negative", "note"}
    if extra:
        bad("costs", f"unknown keys {sorted(extra)} (expected unit, false_positive, false_negative, note)")

    delay = spec.get("label_delay_days")
    if isinstance(delay, (int, float)) and not isinstance(delay, bool) and delay < 0:
        bad("label_delay_days", f"expected a non-negative number of days, got {delay}")

    for i, s in enumerate(_list(spec, "slices")):
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

    known = sorted(p.stem for p in paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    for nb in _list(spec, "notebooks"):
        if str(nb) not in known:
            bad("notebooks", f"'{nb}' is not a notebook in notebooks/ (known: {', '.join(known) or 'none'})")
    return spec, problems


def _fits(series: pd.Series, kind: str) -> bool:
    import pandas as pd

    t = pd.api.types
    if kind == "numeric":
        return bool(t.is_numeric_dtype(series)) and not t.is_bool_dtype(series)
    if kind == "categorical":
        return bool(
            isinstance(series.dtype, pd.CategoricalDtype) or t.is_object_dtype(series)
            or t.is_string_dtype(series) or t.is_bool_dtype(series) or t.is_integer_dtype(series)
        )
    non_null = series.dropna()
    return bool(t.is_string_dtype(series) or t.is_object_dtype(series)) and bool(
        non_null.map(lambda v: isinstance(v, str)).all()
    )


def read_data(folder: Path, spec: dict[str, Any], *, verify_sha256: bool = True) -> tuple[pd.DataFrame | None, list[str]]:
    """Read the data file and check it against the spec; return the frame and its problems."""
    import pandas as pd

    from .cases import sha256_file

    name = spec.get("data")
    if not isinstance(name, str):
        return None, []
    path = folder / name
    where = paths.display(path)
    if not path.is_file():
        return None, [f"{paths.display(folder / 'case.yaml')}: field 'data': file {where} does not exist"]
    problems: list[str] = []
    if verify_sha256 and isinstance(spec.get("sha256"), str):
        actual = sha256_file(path)
        if actual != spec["sha256"]:
            problems.append(
                f"{where}: sha256 is {actual}, but case.yaml field 'sha256' expects {spec['sha256']} "
                "(the file changed: rebuild it with the case's build.py, or update sha256 if the change is intended)"
            )
    try:
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as e:  # noqa: BLE001 - any reader failure is a broken data file
        return None, [*problems, f"{where}: cannot be read as {path.suffix[1:]} ({type(e).__name__}: {e})"]
    if len(df) == 0:
        return None, [*problems, f"{where}: has no rows"]

    columns = set(df.columns)

    def missing(fld: str, col: Any) -> bool:
        if isinstance(col, str) and col not in columns:
            problems.append(
                f"{where}: column '{col}' named by case.yaml field '{fld}' does not exist "
                f"(columns: {', '.join(map(str, df.columns))})"
            )
            return True
        return False

    features = spec.get("features") if isinstance(spec.get("features"), dict) else {}
    for col, kind in features.items():
        if not missing("features", col) and kind in KINDS and not _fits(df[col], kind):
            problems.append(f"{where}: column '{col}' has dtype {df[col].dtype}, which does not fit kind '{kind}'")
    for fld in ("identifiers", "sensitive"):
        for col in _list(spec, fld):
            missing(fld, col)
    for s in _list(spec, "slices"):
        if isinstance(s, dict) and not missing("slices", s.get("column")) and s.get("bins") is not None:
            if not pd.api.types.is_numeric_dtype(df[s["column"]]):
                problems.append(f"{where}: slice column '{s['column']}' has bins but dtype {df[s['column']].dtype}")

    target = spec.get("target")
    if isinstance(target, str) and not missing("target", target):
        y = df[target]
        if y.isna().any():
            problems.append(f"{where}: target '{target}' has {int(y.isna().sum())} missing values")
        values = sorted(y.dropna().unique().tolist(), key=str)
        if len(values) != 2:
            problems.append(f"{where}: target '{target}' must have exactly 2 values for task 'binary', has {len(values)}: {values[:10]}")
        if "positive_class" in spec and spec["positive_class"] not in values:
            problems.append(
                f"{paths.display(folder / 'case.yaml')}: field 'positive_class': {spec['positive_class']!r} "
                f"is not a value of target '{target}' (values: {values[:10]})"
            )

    tcol = spec.get("time_column")
    if isinstance(tcol, str) and not missing("time_column", tcol):
        if not pd.api.types.is_datetime64_any_dtype(df[tcol]):
            parsed = pd.to_datetime(df[tcol], errors="coerce")
            bad = int(parsed.isna().sum() - df[tcol].isna().sum())
            if bad:
                problems.append(f"{where}: time column '{tcol}' has {bad} values that do not parse as datetimes")
            else:
                df[tcol] = parsed
        if df[tcol].isna().any():
            problems.append(f"{where}: time column '{tcol}' has {int(df[tcol].isna().sum())} missing values")
    return (None if problems else df), problems
