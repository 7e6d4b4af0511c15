"""Read a notebook's declared parameters and validate a request against them.

The declaration is the notebook's `parameters`-tagged cell: one assignment of a literal per line,
with a comment that says what it means and, optionally, what values it allows:

    split = "time"      # how to hold out test rows; one of: time, random
    test_size = 0.25    # fraction of rows held out; range: 0.05..0.5
    cost_fp = None      # cost of a false positive (default: the case's); type: float

`one of: a, b` lists allowed values; `range: lo..hi` bounds a number (either side may be empty);
`needs: time=time_column` says a value needs a fact of the case (checked when the case is known);
`type: T` gives the type of a parameter whose default is None (which then also allows None) or
"auto" (which then also allows "auto": the notebook sizes it from the case's data):

    window = "auto"     # rows per window; "auto" sizes it from the data; type: int; range: 100..
The parameter `case` must name a case study that supports the notebook. `type: date` takes an ISO
date ("2013-10-01"). Whatever the declaration, a seed (`seed`, `*_seed`) must fit numpy's and
LightGBM's 0..2**32-1, and a cost (`cost*`) stays below 1e12 so that costs per 1,000 never overflow.
"""

from __future__ import annotations

import ast
import difflib
import io
import math
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import ParameterError, WorkbenchError
from workbench.fileio import load_yaml, shown
from workbench.runner.applicability import REQUIREMENTS
from workbench.runner.notebooks import parameters_cell, read_notebook

__all__ = ["MAX_COST", "MAX_SEED", "Param", "declared_parameters", "parse_cli_value", "unmet_needs", "validate"]

TYPES = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "date": str}
MAX_SEED = 2**32 - 1
MAX_COST = 1e12


@dataclass(frozen=True)
class Param:
    """One declared parameter of a notebook."""

    name: str
    type: str  # int | float | str | bool | list
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    nullable: bool = False
    item_type: str | None = None  # element type of a list parameter
    auto: bool = False  # also accepts "auto" (the notebook computes the value from the case)
    needs: tuple[tuple[Any, str], ...] = ()  # (value, case fact): this value needs the case to declare the fact

    def range_text(self) -> str:
        """The bounds as 'lo..hi' (either side may be empty), or '' when unbounded."""
        if self.low is None and self.high is None:
            return ""
        lo = "" if self.low is None else f"{self.low:g}"
        hi = "" if self.high is None else f"{self.high:g}"
        return f"{lo}..{hi}"

    def allowed(self) -> str:
        """The allowed values in words, for listings and error messages."""
        parts = []
        if self.choices is not None:
            parts.append("one of: " + ", ".join(map(str, self.choices)))
        if self.range_text():
            parts.append(f"range: {self.range_text()}")
        if self.nullable:
            parts.append("or None")
        if self.auto:
            parts.append('or "auto"')
        parts += [f"{v!r} needs the case's {fact}" for v, fact in self.needs]
        return "; ".join(parts) or "any " + (f"list of {self.item_type}" if self.item_type else self.type)


def _type_name(value: Any) -> str | None:
    for name, t in TYPES.items():
        if type(value) is t:
            return name
    return None


def _parse_comment(name: str, comment: str, where: str) -> dict[str, Any]:
    """Split a declaration comment into help text and its `one of`, `range` and `type` clauses."""
    out: dict[str, Any] = {"help": []}
    for part in (p.strip() for p in comment.lstrip("#").split(";")):
        key, sep, rest = part.partition(":")
        key = key.strip().lower()
        if sep and key == "one of":
            out["choices"] = [_literal(v.strip()) for v in rest.split(",") if v.strip()]
        elif sep and key == "range":
            lo, dots, hi = rest.strip().partition("..")
            if not dots:
                raise ParameterError(where, [f"parameter '{name}': range must look like 'lo..hi', got '{rest.strip()}'"])
            out["low"] = float(lo) if lo.strip() else None
            out["high"] = float(hi) if hi.strip() else None
        elif sep and key == "type":
            out["type"] = rest.strip()
        elif sep and key == "needs":
            pairs = []
            for item in (v.strip() for v in rest.split(",") if v.strip()):
                value, eq, fact = item.partition("=")
                if not eq:
                    raise ParameterError(where, [f"parameter '{name}': needs must look like 'value=case_fact', got '{item}'"])
                pairs.append((_literal(value.strip()), fact.strip()))
            out["needs"] = tuple(pairs)
        elif part:
            out["help"].append(part)
    out["help"] = "; ".join(out["help"])
    return out


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def declared_parameters(notebook: str | Path) -> dict[str, Param]:
    """The parameters a notebook declares in its `parameters` cell, in order."""
    path = Path(notebook)
    source = parameters_cell(read_notebook(path), path)
    where = path.name
    comments = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string
    params: dict[str, Param] = {}
    problems = []
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            problems.append(f"line {node.lineno}: only `name = literal  # comment` assignments are allowed")
            continue
        name = node.targets[0].id
        try:
            default = ast.literal_eval(node.value)
        except ValueError:
            problems.append(f"parameter '{name}': default must be a literal, got `{ast.unparse(node.value)}`")
            continue
        comment = comments.get(node.end_lineno or node.lineno, "")
        if not comment:
            problems.append(f"parameter '{name}': needs a comment saying what it means")
        spec = _parse_comment(name, comment, where)
        auto = default == "auto" and spec.get("type") not in (None, "str")
        type_name = spec.get("type") or _type_name(default)
        if type_name not in TYPES:
            problems.append(f"parameter '{name}': cannot tell its type from {default!r}; add '; type: int|float|str|bool|list'")
            continue
        item_type = None
        if type_name == "list":
            items = {_type_name(v) for v in default} if isinstance(default, list) else set()
            item_type = items.pop() if len(items) == 1 else None
        params[name] = Param(
            name=name, type=type_name, default=default, help=spec["help"],
            choices=tuple(spec["choices"]) if "choices" in spec else None,
            low=spec.get("low"), high=spec.get("high"), nullable=default is None, item_type=item_type, auto=auto,
            needs=spec.get("needs", ()),
        )
    if problems:
        raise ParameterError(f"{where} (parameters cell)", problems)
    return params


def parse_cli_value(param: Param | None, raw: str) -> Any:
    """A command-line value in the parameter's type: strings stay as typed, the rest parse as YAML."""
    if raw in ("None", "null", "~"):
        return None
    if param is not None and param.type in ("str", "date"):
        return raw
    try:
        value = load_yaml(raw, f"value {shown(raw)}")
    except WorkbenchError:
        return raw
    if param is not None and param.type in ("float", "int") and isinstance(value, str):
        try:  # YAML 1.1 reads 1e-1 and 1e3 as strings; a number was meant
            number = float(raw)
        except ValueError:
            return value
        return int(number) if param.type == "int" and number.is_integer() else number
    return value


def _check_scalar(p: Param, value: Any, type_name: str) -> tuple[Any, str | None]:
    if type_name == "float" and type(value) is int:
        value = float(value)
    if type_name == "date":
        import datetime as dt

        try:
            dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            return value, f"expected a date like 2013-10-01, got {shown(value)}"
        return value, None
    if _type_name(value) != type_name:
        return value, f"expected {type_name}, got {type(value).__name__} {shown(value)}"
    if type_name == "float" and not math.isfinite(value):
        return value, f"expected a finite number, got {shown(value)}"
    if p.choices is not None and value not in p.choices:
        return value, f"{shown(value)} is not allowed (one of: {', '.join(map(str, p.choices))})"
    if p.low is not None and value < p.low or p.high is not None and value > p.high:
        return value, f"{shown(value)} is out of range {p.range_text()}"
    if type_name == "int" and (p.name == "seed" or p.name.endswith("_seed")) and not 0 <= value <= MAX_SEED:
        return value, f"{shown(value)} is not a seed numpy and LightGBM accept (0..{MAX_SEED})"
    if type_name in ("int", "float") and p.name.startswith("cost") and abs(value) > MAX_COST:
        return value, f"{shown(value)} is beyond {MAX_COST:g}: costs per 1,000 decisions would overflow"
    return value, None


def validate(notebook: str, params: dict[str, Param], request: dict[str, Any]) -> dict[str, Any]:
    """Check a request against the declared parameters; return the full, typed parameter set."""
    problems = []
    values = {name: p.default for name, p in params.items()}
    for name, value in request.items():
        p = params.get(name)
        if p is None:
            close = difflib.get_close_matches(name, list(params), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"unknown parameter {shown(name)}{hint}; declared: {', '.join(params)}")
            continue
        if p.auto and value == "auto":
            values[name] = value
            continue
        if value is None:
            if not p.nullable:
                problems.append(f"parameter '{name}': None is not allowed ({p.allowed()})")
            values[name] = None
            continue
        if p.type == "list":
            if not isinstance(value, (list, tuple)):
                problems.append(f"parameter '{name}': expected a list, got {type(value).__name__} {shown(value)}")
                continue
            checked = []
            for item in value:
                item, err = _check_scalar(p, item, p.item_type or _type_name(item) or "str")
                if err:
                    problems.append(f"parameter '{name}': item {err}")
                checked.append(item)
            values[name] = checked
            continue
        value, err = _check_scalar(p, value, p.type)
        if err:
            problems.append(f"parameter '{name}': {err}")
        values[name] = value
    if problems:
        raise ParameterError(notebook, problems)
    return values


def unmet_needs(params: dict[str, Param], values: dict[str, Any], has_fact: Any) -> list[str]:
    """Problems with values that need a fact of the case (`needs:` clauses); has_fact(fact) -> bool."""
    problems = []
    for name, p in params.items():
        for value, fact in p.needs:
            if values.get(name) == value and not has_fact(fact):
                what = REQUIREMENTS.get(fact, f"`{fact}`")
                problems.append(f"parameter '{name}': {shown(value)} needs the case to declare {what}, which it does not "
                                "(add it to case.yaml, or set the parameter)")
    return problems
