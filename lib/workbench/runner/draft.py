"""`workbench init`: draft a case folder from a user's own table.

Every field is inferred with a reason written beside it as a YAML comment: the kind of each column
(numeric, categorical, text), identifier-like columns (unique per row, or high-cardinality codes;
never features), a datetime-like column proposed as the time column, the positive class, rows
without a label (dropped, or kept as an unlabelled pool), and suspected leaks (a column that alone
predicts the target nearly perfectly goes to `leaky:` with a request to confirm). Costs are explicit
placeholders the design review refuses to price until they are set, unless the user asks for equal
costs, an assumption every decision then states. The draft is written to a temporary folder and
renamed into place only when it is a valid case, so a failed init leaves nothing behind.
"""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import paths
from workbench.errors import WorkbenchError
from workbench.fileio import sha256_file, shown

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LEAK_AUC", "Draft", "draft_case", "infer_columns", "read_table"]

LEAK_AUC = 0.95  # a single column this predictive is more likely known after the fact than a real signal
SCAN_ROWS = 50_000  # the leak scan and the kind inference look at a sample of this many rows at most


@dataclass
class Draft:
    """What init inferred, each with its reason."""

    kinds: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> (kind, why)
    identifiers: dict[str, str] = field(default_factory=dict)
    time: tuple[str, str] | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # columns left out, and why
    leaky: dict[str, str] = field(default_factory=dict)
    positive: Any = None
    positive_why: str = ""
    unlabelled: int = 0


def read_table(path: Path) -> pd.DataFrame:
    """A user's CSV or Parquet table, with a clear error when it cannot be read or is empty."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such file (expected a .csv or .parquet table)")
    if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise WorkbenchError(f"{path}: expected a .csv or .parquet table, got '{path.suffix}'")
    try:
        df = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    except Exception as e:
        raise WorkbenchError(f"{path}: cannot be read ({type(e).__name__}: {' '.join(str(e).split())[:300]})") from e
    if df.empty or len(df.columns) == 0:
        raise WorkbenchError(f"{path}: the table is empty (no rows or no columns)")
    repeated = sorted({str(c) for c in df.columns if list(map(str, df.columns)).count(str(c)) > 1})
    if repeated or any(re.search(r"\.\d+$", str(c)) and str(c).rsplit(".", 1)[0] in map(str, df.columns)
                       for c in df.columns):
        raise WorkbenchError(f"{path}: column names appear more than once ({repeated or 'pandas renamed them'}); "
                             "give each column its own name")
    return df


def _parses_as_time(s: pd.Series) -> float:
    import warnings

    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(s):
        return 1.0
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return 0.0
    values = s.dropna().astype(str)
    if values.empty or not values.str.contains(r"\d{4}|\d{1,2}[/:.-]\d{1,2}", regex=True).mean() > 0.9:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(values.head(2000), errors="coerce")
    return float(parsed.notna().mean())


def infer_columns(df: pd.DataFrame, target: str, *, time: str | None = None, text: str | None = None) -> Draft:
    """The kind of every column but the target, with reasons; identifiers and a time column proposed."""
    import pandas as pd

    t = pd.api.types
    draft = Draft()
    sample = df.sample(n=min(len(df), SCAN_ROWS), random_state=0) if len(df) > SCAN_ROWS else df
    n = len(sample)
    for col in df.columns:
        if col == target:
            continue
        s = sample[col]
        name = str(col)
        distinct = int(s.nunique(dropna=True))
        if col == time:
            draft.time = (name, "given with --time")
            continue
        if col == text:
            draft.kinds[name] = ("text", "given with --text")
            continue
        if distinct == 0:
            draft.skipped[name] = "every value is missing"
            continue
        if distinct == 1:
            draft.skipped[name] = f"constant ({shown(s.dropna().iloc[0])}): it cannot inform a model"
            continue
        if _parses_as_time(s) >= 0.95:
            if time is None and draft.time is None:
                draft.time = (name, "the first datetime-like column: check that it is when each row happened")
            else:
                draft.skipped[name] = "datetime-like; not used as a feature (derive features from it if you need them)"
            continue
        if t.is_bool_dtype(s):
            draft.kinds[name] = ("categorical", "true/false")
        elif t.is_numeric_dtype(s):
            if t.is_integer_dtype(s) and distinct == n and n >= 20:
                draft.identifiers[name] = "whole numbers, unique per row"
            else:
                draft.kinds[name] = ("numeric", f"numbers ({distinct:,} distinct values)")
        else:
            strings = s.dropna().astype(str)
            words = float(strings.str.count(" ").mean()) if len(strings) else 0.0
            if words >= 4 and distinct > 0.3 * n:
                draft.kinds[name] = ("text", f"free text (about {words + 1:.0f} words a value)")
            elif distinct == n and n >= 20:
                draft.identifiers[name] = "unique per row"
            elif distinct > 0.5 * n and distinct > 50:
                draft.identifiers[name] = f"a high-cardinality code ({distinct:,} distinct values in {n:,} rows)"
            else:
                draft.kinds[name] = ("categorical", f"{distinct:,} distinct values")
    if text is not None and text not in df.columns:
        raise WorkbenchError(f"--text {text!r} is not a column (columns: {', '.join(map(str, df.columns))[:500]})")
    return draft


def _target(df: pd.DataFrame, target: str, positive: Any, draft: Draft) -> tuple[pd.Series, pd.Series]:
    if target not in df.columns:
        raise WorkbenchError(f"--target {target!r} is not a column (columns: {', '.join(map(str, df.columns))[:500]})")
    y = df[target]
    labelled = y.notna()
    values = sorted(y[labelled].unique().tolist(), key=str)
    if len(values) < 2:
        raise WorkbenchError(f"target '{target}' has {len(values)} value(s) ({shown(values)}); a binary task needs "
                             "exactly 2 (the workbench decides between two outcomes)")
    if len(values) > 2:
        raise WorkbenchError(f"target '{target}' has {len(values)} values ({shown(values[:10])}); expected exactly 2: "
                             "map it to two classes first (e.g. a threshold or one class against the rest)")
    if positive is not None:
        matches = [v for v in values if str(v) == str(positive)]
        if not matches:
            raise WorkbenchError(f"--positive {positive!r} is not a value of target '{target}' (values: {values})")
        draft.positive, draft.positive_why = matches[0], "given with --positive"
    else:
        counts = y[labelled].value_counts()
        draft.positive = counts.idxmin()
        draft.positive_why = (f"the rarer class ({counts.min():,} of {int(labelled.sum()):,} labelled rows): "
                              "usually the costly one to find; swap with --positive if not")
    draft.unlabelled = int((~labelled).sum())
    return y, labelled


def _scan_leaks(df: pd.DataFrame, target: str, positive: Any, draft: Draft) -> None:
    """Flag columns that alone predict the target nearly perfectly on held-out rows."""
    import numpy as np

    from workbench.features.leakage import one_feature_auc

    kinds = {c: k for c, (k, _) in draft.kinds.items() if k in ("numeric", "categorical")}
    if not kinds:
        return
    sample = df.sample(n=min(len(df), SCAN_ROWS), random_state=0) if len(df) > SCAN_ROWS else df
    y = (sample[target] == positive).to_numpy()
    rng = np.random.default_rng(0)
    test = rng.random(len(sample)) < 0.3
    if y[test].min() == y[test].max() or y[~test].min() == y[~test].max():
        return
    scores = one_feature_auc(sample[~test], sample[test], y[~test], y[test], kinds)
    for row in scores.itertuples():
        auc = max(row.auc, 1 - row.auc)
        if auc >= LEAK_AUC:
            draft.leaky[str(row.feature)] = (f"alone it predicts the target with ROC-AUC {auc:.3f} on held-out rows: "
                                             "confirm it is known when the prediction is made, or keep it here")


def _q(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip().removesuffix("...").strip()


def _write_yaml(draft: Draft, *, case_id: str, table: Path, target: str, data_name: str, sha: str, rows: int,
                equal_costs: bool, unlabelled_note: str) -> str:
    lines = [
        f"# Drafted by `workbench init` from {table.name}: every inferred field says why. Check each one,",
        "# then `workbench cases check` this folder and `workbench review` it.",
        f"id: {case_id}",
        f"title: {_q(f'{case_id}: predict {target}')}  # edit: one line saying what the case is",
        f"question: {_q(f'Which rows are {draft.positive} for {target}, and what should we do about them?')}"
        "  # edit: the business question",
        f"data: {data_name}  # {rows:,} labelled rows copied from {table.name}{unlabelled_note}",
        f"sha256: {sha}",
        "task: binary",
        f"target: {_q(target)}",
        f"positive_class: {_q(draft.positive)}  # {draft.positive_why}",
    ]
    if draft.time:
        lines.append(f"time_column: {_q(draft.time[0])}  # {draft.time[1]}")
    else:
        lines.append("time_column: null  # no datetime-like column: retraining and monitoring cannot replay time")
    text_cols = [c for c, (k, _) in draft.kinds.items() if k == "text"]
    lines.append("features:")
    for col, (kind, why) in draft.kinds.items():
        lines.append(f"  {_q(col)}: {kind}  # {why}")
    lines.append("identifiers:" + ("" if draft.identifiers else " []"))
    for col, why in draft.identifiers.items():
        lines.append(f"  - {_q(col)}  # {why}: never a feature")
    lines.append("sensitive: []  # add columns to check fairness on (e.g. sex, age group); none is inferred")
    lines.append(f"text_column: {_q(text_cols[0]) if text_cols else 'null'}")
    lines.append("leaky:" + ("" if draft.leaky else " []  # no column alone predicts the target nearly perfectly"))
    for col, why in draft.leaky.items():
        lines.append(f"  - {_q(col)}  # {why}")
    if equal_costs:
        lines += ["costs:", "  unit: errors  # assumed: both errors cost the same (workbench init --equal-costs)",
                  "  false_positive: 1", "  false_negative: 1", "  assumption: equal",
                  "  note: Both errors are assumed to cost the same; every decision of the review states it."]
    else:
        lines += ["costs:  # PLACEHOLDERS: the review refuses to price decisions until you set them",
                  "  unit: unset  # e.g. USD", "  false_positive: 1  # what acting on a wrong alarm costs",
                  "  false_negative: 1  # what missing a true case costs", "  assumption: placeholder",
                  "  note: Set both costs and the unit, then delete `assumption`."]
    lines.append("label_delay_days: null  # days from the event until its label is known, if you know it")
    for col, why in draft.skipped.items():
        lines.append(f"# not used: {col}: {why}")
    return "\n".join(lines) + "\n"


def draft_case(table: Path, target: str, *, positive: Any = None, time: str | None = None, text: str | None = None,
               out: Path | None = None, unlabelled: str = "drop", equal_costs: bool = False) -> tuple[Path, Draft]:
    """Draft a case folder from a table; return the folder and what was inferred. Raises WorkbenchError."""
    import pandas as pd

    from workbench.cases import check_case

    table = Path(table)
    df = read_table(table)
    case_id = re.sub(r"[^a-z0-9_]+", "_", (Path(out).name if out else table.stem).lower()).strip("_") or "mycase"
    folder = Path(out) if out else Path.cwd() / case_id
    if folder.exists() and any(folder.iterdir()):
        raise WorkbenchError(f"{paths.display(folder)} already exists and is not empty; choose another --out")
    if folder.name != case_id:
        raise WorkbenchError(f"--out folder name {folder.name!r} must be lower-case letters, digits and underscores "
                             f"(it becomes the case id), e.g. {case_id!r}")
    if unlabelled not in ("drop", "pool"):
        raise WorkbenchError(f"--unlabelled must be drop or pool, got {unlabelled!r}")
    if time is not None:
        if time not in df.columns:
            raise WorkbenchError(f"--time {time!r} is not a column (columns: {', '.join(map(str, df.columns))[:500]})")
        parsed = pd.to_datetime(df[time], errors="coerce")
        bad = int(parsed.isna().sum() - df[time].isna().sum())
        if bad or df[time].isna().any():
            raise WorkbenchError(f"time column '{time}': {bad + int(df[time].isna().sum()):,} of {len(df):,} values are "
                                 "missing or do not parse as dates or times (expected e.g. 2024-03-01 or 2024-03-01 14:30)")
    draft = Draft()
    _, labelled = _target(df, target, positive, draft)
    found = infer_columns(df[labelled], target, time=time, text=text)
    found.positive, found.positive_why, found.unlabelled = draft.positive, draft.positive_why, draft.unlabelled
    draft = found
    if not draft.kinds:
        raise WorkbenchError(f"{table}: no usable feature: every column besides the target is an identifier, a time, "
                             f"empty or constant ({', '.join(f'{c}: {w}' for c, w in draft.skipped.items())[:500]})")
    if draft.time:
        df[draft.time[0]] = pd.to_datetime(df[draft.time[0]], errors="coerce")
        if df.loc[labelled, draft.time[0]].isna().any():
            draft.skipped[draft.time[0]] = "proposed as the time column but some values do not parse"
            draft.time = None
    _scan_leaks(df[labelled], target, draft.positive, draft)
    tmp = folder.parent / f".init-{case_id}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        data_name = "data.parquet"
        df[labelled].to_parquet(tmp / data_name, index=False)
        note = ""
        if draft.unlabelled:
            if unlabelled == "pool":
                df[~labelled].to_parquet(tmp / "unlabelled.parquet", index=False)
                note = f"; {draft.unlabelled:,} rows without a label kept in unlabelled.parquet (a pool to label)"
            else:
                note = f"; {draft.unlabelled:,} rows without a label dropped (--unlabelled pool keeps them)"
        text = _write_yaml(draft, case_id=case_id, table=table, target=target, data_name=data_name,
                           sha=sha256_file(tmp / data_name), rows=int(labelled.sum()), equal_costs=equal_costs,
                           unlabelled_note=note)
        (tmp / "case.yaml").write_text(text, encoding="utf-8")
        (tmp / "DATASHEET.md").write_text(
            f"# Datasheet: {case_id}\n\nDrafted by `workbench init` from `{table.name}`. Fill in each section.\n\n"
            "## Provenance\n\nSource, owner, licence, the version or extraction date.\n\n"
            "## Collection\n\nHow and when rows were collected; what one row is.\n\n"
            "## Preprocessing\n\nWhat was done to the table before it came here.\n\n"
            "## Known biases\n\nWho or what is under- or over-represented.\n\n"
            "## Intended use\n\nThe decision this case supports, and uses it must not be put to.\n", encoding="utf-8")
        problems = check_case(tmp)
        problems = [p for p in problems if "must equal the folder name" not in p]
        if problems:
            raise WorkbenchError(f"{table}: the drafted case is not valid:\n" + "\n".join(f"  - {p}" for p in problems))
        folder.parent.mkdir(parents=True, exist_ok=True)
        if folder.exists():
            folder.rmdir()
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder, draft
