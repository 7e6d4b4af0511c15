"""Find, list, load and check case studies (a folder with case.yaml, DATASHEET.md and a data file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench import paths
from workbench.cases import data as case_data
from workbench.cases import schema
from workbench.cases.model import Case, Costs, Example, Expectations, Monotone, Perturbation, Slice
from workbench.errors import CaseError

__all__ = ["check_case", "find_case", "list_cases", "load_case"]


def find_case(case: str | Path) -> Path:
    """The folder of a case given its id (searched in paths.case_dirs()) or a path to its folder."""
    p = Path(case).expanduser()
    if p.is_dir() or p.name == "case.yaml" or "/" in str(case) or "\\" in str(case):
        folder = p.parent if p.name == "case.yaml" else p
        if not (folder / "case.yaml").is_file():
            raise CaseError(str(folder), [f"no case.yaml in {paths.display(folder)}"])
        return folder
    for d in paths.case_dirs():
        if (d / str(case) / "case.yaml").is_file():
            return d / str(case)
    known = ", ".join(sorted(c["id"] for c in list_cases())) or "none"
    raise CaseError(str(case), [f"unknown case study '{case}' (known: {known}; or give a folder path)"])


def list_cases() -> list[dict[str, Any]]:
    """Every case found in the search path: id, title, notebooks, folder (case.yaml only, no data)."""
    import yaml

    seen: dict[str, dict[str, Any]] = {}
    for d in paths.case_dirs():
        for spec in sorted(d.glob("*/case.yaml")) if d.is_dir() else []:
            try:
                raw = yaml.safe_load(spec.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError):
                raw = {}
            raw = raw if isinstance(raw, dict) else {}
            cid = spec.parent.name
            seen.setdefault(cid, {
                "id": cid,
                "title": str(raw.get("title", "")),
                "notebooks": list(raw.get("notebooks") or []),
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


def load_case(case: str | Path, *, verify_sha256: bool = True) -> Case:
    """Load a case by id or folder, validating case.yaml and its data; raise CaseError listing every problem."""
    folder = find_case(case)
    spec, problems = schema.read_spec(folder)
    if spec is None:
        raise CaseError(paths.display(folder), problems)
    data = None
    if not problems or spec.get("data"):
        data, data_problems = case_data.read_data(folder, spec, verify_sha256=verify_sha256)
        problems += data_problems
    if problems:
        raise CaseError(paths.display(folder), problems)
    costs = spec["costs"]
    return Case(
        id=spec["id"],
        title=spec["title"],
        question=" ".join(str(spec["question"]).split()),
        folder=folder.resolve(),
        data_file=spec["data"],
        sha256=spec.get("sha256"),
        task=spec["task"],
        target=spec["target"],
        positive_class=spec["positive_class"],
        time_column=spec.get("time_column"),
        features=dict(spec["features"]),
        identifiers=list(spec.get("identifiers") or []),
        sensitive=list(spec.get("sensitive") or []),
        text_column=spec.get("text_column"),
        leaky=list(spec.get("leaky") or []),
        costs=Costs(
            unit=str(costs["unit"]),
            false_positive=float(costs["false_positive"]),
            false_negative=float(costs["false_negative"]),
            note=" ".join(str(costs.get("note", "")).split()),
            retrain=None if costs.get("retrain") is None else float(costs["retrain"]),
            review=None if costs.get("review") is None else float(costs["review"]),
        ),
        label_delay_days=spec.get("label_delay_days"),
        prediction_lead_days=spec.get("prediction_lead_days"),
        slices=[Slice(s["column"], tuple(s["bins"]) if s.get("bins") else None) for s in spec.get("slices") or []],
        notebooks=[str(n) for n in spec["notebooks"]],
        data=data,
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
