"""Find, list, load and check case studies (a folder with case.yaml, DATASHEET.md and a data file)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from workbench import paths
from workbench.cases import data as case_data
from workbench.cases import schema
from workbench.cases.model import (
    Case,
    Costs,
    Example,
    Expectations,
    Fairness,
    Interactions,
    Monotone,
    Perturbation,
    Serving,
    Slice,
)
from workbench.errors import CaseError, WorkbenchError
from workbench.fileio import atomic_write, read_yaml_mapping, shown

__all__ = ["DEFAULT_MAX_ROWS", "MAX_ROWS_ENV", "check_case", "find_case", "list_cases", "load_case", "max_rows_default",
           "remember_validated"]


def find_case(case: str | Path) -> Path:
    """The folder of a case given its id (searched in paths.case_dirs()) or a path to its folder."""
    text = str(case)
    if not text.strip() or len(text) > 4096 or "\0" in text:
        raise CaseError(shown(text), ["expected a case study id or the path of a case folder"])
    try:
        p = Path(case).expanduser()
        if p.is_dir() or p.name == "case.yaml" or "/" in text or "\\" in text:
            folder = p.parent if p.name == "case.yaml" else p
            if not (folder / "case.yaml").is_file():
                raise CaseError(str(folder), [f"no case.yaml in {paths.display(folder)}"])
            return folder
        for d in paths.case_dirs():
            if (d / text / "case.yaml").is_file():
                return d / text
    except OSError as e:  # e.g. a name longer than the file system allows
        raise CaseError(shown(text), [f"cannot look for this case ({e.strerror or e}); expected a case study id "
                                      "or the path of a case folder"]) from e
    known = ", ".join(sorted(c["id"] for c in list_cases())) or "none"
    raise CaseError(str(case), [f"unknown case study '{case}' (known: {known}; or give a folder path)"])


def list_cases() -> list[dict[str, Any]]:
    """Every case found in the search path: id, title, notebooks, folder (case.yaml only, no data)."""
    seen: dict[str, dict[str, Any]] = {}
    for d in paths.case_dirs():
        for spec in sorted(d.glob("*/case.yaml")) if d.is_dir() else []:
            try:
                raw = read_yaml_mapping(spec, "case.yaml")
            except WorkbenchError:
                raw = {}  # listed by folder name; `workbench cases check` says what is wrong
            cid = spec.parent.name
            seen.setdefault(cid, {
                "id": cid,
                "title": str(raw.get("title", "")),
                "notebooks": None if raw.get("notebooks") is None else list(raw["notebooks"]),
                "folder": spec.parent,
            })
    return sorted(seen.values(), key=lambda c: c["id"])


def check_case(case: str | Path) -> list[str]:
    """Every problem with a case folder (empty when it is valid)."""
    try:
        load_case(case)
    except CaseError as e:
        return e.problems
    return []


def _validation_key(folder: Path, spec: dict[str, Any]) -> str | None:
    """What a case's validity depends on: case.yaml, the data file's size and modification time, and
    the validation code. None when the data file is missing."""
    import hashlib

    data = folder / str(spec.get("data"))
    try:
        st = data.stat()
    except OSError:
        return None
    h = hashlib.sha256((folder / "case.yaml").read_bytes())
    h.update(f"{data.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        h.update(module.read_bytes())
    return h.hexdigest()


MAX_ROWS_ENV = "WORKBENCH_MAX_ROWS"
DEFAULT_MAX_ROWS = 500_000  # rows a notebook reads at most: every decision here is settled well below it


def max_rows_default() -> int:
    """Rows load_case reads at most by default: $WORKBENCH_MAX_ROWS (0: every row), else DEFAULT_MAX_ROWS."""
    import os

    raw = os.environ.get(MAX_ROWS_ENV, "")
    return int(raw) if raw.strip().isdigit() else DEFAULT_MAX_ROWS


def load_case(case: str | Path, *, verify_sha256: bool = True, cache_dir: Path | None = None,
              max_rows: int | None = -1) -> Case:
    """Load a case by id or folder, validating case.yaml and its data; raise CaseError listing every problem.

    A table with more rows than `max_rows` (default: `max_rows_default()`, 500,000 unless
    $WORKBENCH_MAX_ROWS says otherwise; None or 0 reads every row) is read as a seeded random sample of
    that many rows; the notebook is told (a printed note and the records `data_rows` and
    `data_rows_read`). The runner validates the whole table.

    With `cache_dir`, a case found valid before (same case.yaml, same data file size and modification
    time, same validation code) is not read again: the Case comes back without data, with its row
    and class counts and warnings from the cache. The runner plans runs this way; notebooks load the
    data in full.
    """
    import json

    folder = find_case(case)
    warnings: list[str] = []
    spec, problems = schema.read_spec(folder, warnings)
    if spec is None:
        raise CaseError(paths.display(folder), problems)
    store = Path(cache_dir) / "validated-cases.json" if cache_dir is not None else None
    key = _validation_key(folder, spec) if store is not None and not problems else None
    cached: dict[str, Any] = {}
    if store is not None and key is not None:
        try:
            cached = json.loads(store.read_text())
        except (OSError, ValueError):
            cached = {}
        hit = cached.get(str(folder.resolve()))
        if isinstance(hit, dict) and hit.get("key") == key:
            found = _build(spec, folder, None, list(hit["warnings"]))
            found.rows, found.class_rows = int(hit["rows"]), tuple(hit["class_rows"]) if hit["class_rows"] else None
            found.days = int(hit.get("days", 0))
            return found
    data = None
    cap = max_rows_default() if max_rows == -1 else max_rows
    sizes: dict[str, int] = {}
    if not problems or spec.get("data"):
        data, data_problems = case_data.read_data(folder, spec, verify_sha256=verify_sha256, warnings=warnings,
                                                  max_rows=cap, sizes=sizes)
        problems += data_problems
    if problems:
        raise CaseError(paths.display(folder), problems)
    found = _build(spec, folder, data, warnings)
    if data is not None:
        found.rows = sizes.get("total", len(data))
        if len(data) < found.rows:
            _say_sampled(found, len(data), cap)
        if found.task == "binary":
            y = found.labels()
            found.class_rows = (int(len(y) - y.sum()), int(y.sum()))
        if found.time_column:
            found.days = int(data[found.time_column].dt.normalize().nunique())
    if store is not None and key is not None and store.parent.parent.is_dir() and data is not None \
            and len(data) == found.rows:  # only a validation of every row is remembered
        _remember(store, cached, folder, key, found, warnings)
    return found


def _remember(store: Path, cached: dict[str, Any], folder: Path, key: str, found: Case, warnings: list[str]) -> None:
    import json

    cached[str(folder.resolve())] = {"key": key, "rows": found.rows, "warnings": warnings, "days": found.days,
                                     "class_rows": list(found.class_rows) if found.class_rows else None}
    with contextlib.suppress(OSError):  # a cache: a read-only runs folder still plans
        atomic_write(store, lambda p: p.write_text(json.dumps(cached, indent=0, sort_keys=True)))


def remember_validated(case: Case, cache_dir: Path) -> None:
    """Record in cache_dir that `case`, loaded with every row, is valid, as load_case(cache_dir=...) does
    when the cache's folder already exists; later plans of runs on it then read no data."""
    import json

    spec, problems = schema.read_spec(case.folder, [])
    key = _validation_key(case.folder, spec) if spec is not None and not problems else None
    if key is None or not case.rows:
        return
    store = Path(cache_dir) / "validated-cases.json"
    try:
        cached = json.loads(store.read_text())
    except (OSError, ValueError):
        cached = {}
    _remember(store, cached, case.folder, key, case, list(case.warnings))


def _say_sampled(case: Case, read: int, cap: int | None) -> None:
    """Tell the notebook (and its records) that it reads a sample of the case's rows."""
    from workbench import records

    note = (f"case '{case.id}' has {case.rows:,} rows; this reads a random sample of {read:,} of them (seed 0). "
            f"Set {MAX_ROWS_ENV}=0 to read every row.")
    case.warnings.append(note)
    print(note)
    records.record("data_rows", case.rows)
    records.record("data_rows_read", read)


def _build(spec: dict[str, Any], folder: Path, data: Any, warnings: list[str]) -> Case:
    """The Case a validated spec describes."""
    interactions = _interactions(spec)
    return Case(
        id=spec["id"],
        title=spec["title"],
        question=" ".join(str(spec["question"]).split()),
        folder=folder.resolve(),
        data_file=spec["data"],
        sha256=spec.get("sha256"),
        task=spec["task"],
        target=spec["target"] if interactions is None else interactions.reward,
        positive_class=spec["positive_class"] if interactions is None else 1,
        time_column=spec.get("time_column"),
        features=dict(spec.get("features") or {}),
        identifiers=list(spec.get("identifiers") or []),
        sensitive=list(spec.get("sensitive") or []),
        text_column=spec.get("text_column"),
        leaky=list(spec.get("leaky") or []),
        costs=_costs(spec["costs"]) if interactions is None else None,
        label_delay_days=spec.get("label_delay_days"),
        prediction_lead_days=spec.get("prediction_lead_days"),
        slices=[Slice(s["column"], tuple(s["bins"]) if s.get("bins") else None) for s in spec.get("slices") or []],
        notebooks=None if spec.get("notebooks") is None else [str(n) for n in spec["notebooks"]],
        data=data,
        warnings=warnings,
        interactions=interactions,
        fairness=_fairness(spec),
        serving=_serving(spec.get("serving")),
        expectations=_expectations(spec.get("expectations")),
    )


def _perturbation(entry: dict[str, Any], directional: bool) -> Perturbation:
    """One validated `invariances` or `directional` entry as a Perturbation, named when it has no name."""
    params = {k: v for k, v in entry.items() if k not in ("kind", "column", "name", "direction")}
    direction = {"increasing": 1, "decreasing": -1}[entry["direction"]] if directional else 0
    shown = ", ".join(f"{k} {v}" for k, v in params.items() if k != "text")
    name = entry.get("name") or f"{entry['kind']} {entry['column']}" + (f" ({shown})" if shown else "")
    return Perturbation(entry["kind"], entry["column"], str(name), params, direction)


def _expectations(block: dict[str, Any] | None) -> Expectations | None:
    """The validated `expectations:` block as an Expectations, or None when the case declares none."""
    if not block:
        return None
    monotone = []
    for col, rule in (block.get("monotone") or {}).items():
        rule = {"direction": rule} if isinstance(rule, str) else rule
        monotone.append(Monotone(col, 1 if rule["direction"] == "increasing" else -1,
                                 None if rule.get("step") is None else float(rule["step"]),
                                 None if rule.get("factor") is None else float(rule["factor"])))
    examples = [Example(str(ex.get("name") or f"example {i + 1}"),
                        {k: v for k, v in ex.items() if k not in ("expected", "name")}, ex["expected"])
                for i, ex in enumerate(block.get("examples") or [])]
    return Expectations(
        monotone=tuple(monotone),
        invariances=tuple(_perturbation(e, False) for e in block.get("invariances") or []),
        directional=tuple(_perturbation(e, True) for e in block.get("directional") or []),
        examples=tuple(examples),
        text_lengths={str(k): str(v) for k, v in (block.get("text_lengths") or {}).items()},
    )


def _serving(block: dict[str, Any] | None) -> Serving | None:
    """The serving block (already checked by the schema), or None when the case declares none."""
    if not block:
        return None
    return Serving(
        requests_per_day=float(block["requests_per_day"]),
        entities=int(block["entities"]),
        share_requested=float(block["share_requested"]),
        latency_budget_ms=float(block["latency_budget_ms"]),
        valid_hours=float(block["valid_hours"]),
        cpu_hour_price=float(block["cpu_hour_price"]),
        note=" ".join(str(block.get("note", "")).split()),
    )


def _costs(costs: dict[str, Any]) -> Costs:
    """The validated `costs` block of a binary case."""
    return Costs(
        unit=str(costs["unit"]),
        false_positive=float(costs["false_positive"]),
        false_negative=float(costs["false_negative"]),
        note=" ".join(str(costs.get("note", "")).split()),
        retrain=None if costs.get("retrain") is None else float(costs["retrain"]),
        review=None if costs.get("review") is None else float(costs["review"]),
        assumption=costs.get("assumption"),
    )


def _interactions(spec: dict[str, Any]) -> Interactions | None:
    """The validated `interactions` block of a case of task interactions (None for other tasks)."""
    if spec.get("task") != "interactions":
        return None
    block = spec["interactions"]
    traffic = block.get("traffic_per_day")
    return Interactions(
        action=block["action"], reward=block["reward"], propensity=block["propensity"], policy=block["policy"],
        position=block.get("position"), segment=block.get("segment"), uniform_policy=block.get("uniform_policy"),
        context=tuple(block.get("context") or ()), traffic_per_day=None if traffic is None else float(traffic),
    )


def _fairness(spec: dict[str, Any]) -> Fairness | None:
    """The optional `fairness` block (already checked by the schema), or None."""
    block = spec.get("fairness")
    if not block:
        return None
    return Fairness(criterion=str(block["criterion"]), favourable=block.get("favourable"),
                    limit=None if block.get("limit") is None else float(block["limit"]),
                    note=" ".join(str(block.get("note", "")).split()))
