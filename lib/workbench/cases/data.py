"""Validation of a case's data file against its case.yaml: columns exist, dtypes fit, target and time are usable."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import paths
from workbench.cases.model import KINDS
from workbench.cases.schema import list_field
from workbench.fileio import sha256_file

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_data"]


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

    features: dict[str, Any] = spec["features"] if isinstance(spec.get("features"), dict) else {}
    for col, kind in features.items():
        if not missing("features", col) and kind in KINDS and not _fits(df[col], kind):
            problems.append(f"{where}: column '{col}' has dtype {df[col].dtype}, which does not fit kind '{kind}'")
    for fld in ("identifiers", "sensitive"):
        for col in list_field(spec, fld):
            missing(fld, col)
    for s in list_field(spec, "slices"):
        if (isinstance(s, dict) and not missing("slices", s.get("column")) and s.get("bins") is not None
                and not pd.api.types.is_numeric_dtype(df[s["column"]])):
            problems.append(f"{where}: slice column '{s['column']}' has bins but dtype {df[s['column']].dtype}")

    target = spec.get("target")
    if isinstance(target, str) and not missing("target", target):
        y = df[target]
        if y.isna().any():
            problems.append(f"{where}: target '{target}' has {int(y.isna().sum())} missing values")
        values = sorted(y.dropna().unique().tolist(), key=str)
        if len(values) != 2:
            problems.append(f"{where}: target '{target}' must have exactly 2 values for task 'binary', "
                            f"has {len(values)}: {values[:10]}")
        if "positive_class" in spec and spec["positive_class"] not in values:
            problems.append(
                f"{paths.display(folder / 'case.yaml')}: field 'positive_class': {spec['positive_class']!r} "
                f"is not a value of target '{target}' (values: {values[:10]})"
            )
        problems += _expected_values(spec, values, paths.display(folder / "case.yaml"))

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


def _expected_values(spec: dict[str, Any], values: list[Any], where: str) -> list[str]:
    """Problems with `expectations.examples`: each example's expected class must be a value of the target."""
    block = spec.get("expectations")
    examples = block.get("examples") if isinstance(block, dict) else None
    out = []
    for i, ex in enumerate(examples if isinstance(examples, list) else []):
        if isinstance(ex, dict) and "expected" in ex and ex["expected"] not in values:
            out.append(f"{where}: field 'expectations.examples[{i}].expected': {ex['expected']!r} is not a value of "
                       f"target '{spec.get('target')}' (values: {values[:10]})")
    return out
