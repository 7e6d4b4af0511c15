"""Load, validate and list case studies (a folder with case.yaml, DATASHEET.md and a data file)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import paths
from .errors import CaseError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "Case",
    "Costs",
    "Slice",
    "check_case",
    "find_case",
    "list_cases",
    "load_case",
    "sha256_file",
]

KINDS = ("numeric", "categorical", "text")


@dataclass(frozen=True)
class Costs:
    """What one wrong decision costs, in `unit`."""

    unit: str
    false_positive: float
    false_negative: float
    note: str = ""


@dataclass(frozen=True)
class Slice:
    """A slice of interest: one group per value of `column`, or per bin when `bins` is given."""

    column: str
    bins: tuple[float, ...] | None = None


@dataclass
class Case:
    """A validated case study; `data` is its data file, loaded and checked."""

    id: str
    title: str
    question: str
    folder: Path
    data_file: str
    sha256: str | None
    task: str
    target: str
    positive_class: Any
    time_column: str | None
    features: dict[str, str]
    identifiers: list[str]
    sensitive: list[str]
    text_column: str | None
    leaky: list[str]
    costs: Costs
    label_delay_days: float | None
    slices: list[Slice]
    notebooks: list[str]
    data: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def data_path(self) -> Path:
        return self.folder / self.data_file

    def supports(self, notebook: str) -> bool:
        """Whether this case declares support for a notebook (by stem, e.g. '00_framing')."""
        return notebook in self.notebooks

    def feature_columns(self, kinds: tuple[str, ...] = KINDS, include_leaky: bool = False) -> list[str]:
        """Feature columns of the given kinds, without the leaky ones unless asked."""
        return [
            c for c, k in self.features.items() if k in kinds and (include_leaky or c not in self.leaky)
        ]

    def frame(self) -> pd.DataFrame:
        """The case's data (loaded by load_case)."""
        if self.data is None:
            raise CaseError(str(self.folder), ["data was not loaded: use workbench.load_case(...)"])
        return self.data

    def labels(self, data: pd.DataFrame | None = None) -> np.ndarray:
        """The target as 0/1, where 1 is the positive class."""
        df = self.frame() if data is None else data
        return (df[self.target] == self.positive_class).to_numpy(dtype="int8")

    def positive_rate(self) -> float:
        return float(self.labels().mean())

    def slice_groups(self, s: Slice, data: pd.DataFrame | None = None) -> pd.Series:
        """Each row's group in a slice: the column's value, or its bin [lo, hi) when bins are given."""
        import pandas as pd

        df = self.frame() if data is None else data
        if s.bins is None:
            return df[s.column].astype("string").fillna("(missing)")
        groups = pd.cut(df[s.column], bins=list(s.bins), right=False)
        return groups.astype("string").fillna("(outside bins)")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
    from . import casecheck

    folder = find_case(case)
    spec, problems = casecheck.read_spec(folder)
    if spec is None:
        raise CaseError(paths.display(folder), problems)
    data = None
    if not problems or spec.get("data"):
        data, data_problems = casecheck.read_data(folder, spec, verify_sha256=verify_sha256)
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
        ),
        label_delay_days=spec.get("label_delay_days"),
        slices=[Slice(s["column"], tuple(s["bins"]) if s.get("bins") else None) for s in spec.get("slices") or []],
        notebooks=[str(n) for n in spec["notebooks"]],
        data=data,
    )
