"""A model card (Mitchell et al., 2019) written from a run's recorded values, so it is never out of date.

`model_card` reads only the run's records (what `workbench.record` kept, e.g. `workbench.recorded()`)
and the case's declared facts; every number in the card is a recorded one. Rates are shown with
three decimals and costs with one, each with its interval as `value [lo, hi]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cases import Case

__all__ = ["KEYS", "fmt", "model_card", "write_model_card"]

# what the card needs from the records (10_fairness records all of them)
KEYS = ("model", "attribute", "criterion", "disparity_limit", "threshold", "n_fit", "n_val", "n_test",
        "n_sampled", "split_kind", "test_cost", "test_roc_auc", "mitigation", "mitigation_cost",
        "disparity_before", "disparity_after", "group_metrics", "proxy_auc", "disparity_unaware",
        "small_groups", "decision")


def fmt(records: Mapping[str, Any], name: str, spec: str = ".3f") -> str:
    """A recorded value with its recorded interval, as 'value [lo, hi]' (no interval: the value alone; None: 'n/a')."""
    value = records.get(name)
    if value is None:
        return "n/a"
    text = f"{value:{spec}}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
    lo, hi = records.get(f"{name}_lo"), records.get(f"{name}_hi")
    if lo is not None and hi is not None:
        text += f" [{lo:{spec}}, {hi:{spec}}]"
    return text


def _group_rows(groups: list[dict[str, Any]]) -> list[str]:
    head = ["| group | rows | selection rate | TPR | FPR | precision | calibration gap | cost per 1,000 |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines = []
    for g in groups:
        cells = [f"{g['group']}{' (too small to rank)' if g.get('small') else ''}", f"{g['rows']:,}"]
        for metric, spec in [("selection_rate", ".3f"), ("tpr", ".3f"), ("fpr", ".3f"), ("precision", ".3f"),
                             ("calibration_gap", ".3f"), ("cost_per_1000", ".1f")]:
            cells.append(fmt(g, metric, spec))
        lines.append("| " + " | ".join(cells) + " |")
    return head + lines


def model_card(case: Case, records: Mapping[str, Any]) -> str:
    """The model card as Markdown, from a run's records (which must hold every name in KEYS)."""
    missing = [k for k in KEYS if k not in records]
    if missing:
        raise ValueError(f"model card: the run did not record {', '.join(missing)}")
    r = records
    if case.costs is None:
        raise ValueError(f"model card: case '{case.id}' has no error costs (task {case.task})")
    unit = case.costs.unit
    decision = r["decision"]
    proxies = ", ".join(f"{a}: {auc:.3f}" for a, auc in r["proxy_auc"].items()) or "none computed"
    small = ", ".join(map(str, r["small_groups"])) or "none"
    lines = [
        f"# Model card: {case.title}",
        "",
        "Generated from this run's recorded values by `workbench.fairness.modelcard`; intervals are 90% "
        "bootstrap intervals over test rows unless stated.",
        "",
        "## Model details",
        "",
        f"- {r['model']}, deciding positive ({case.target} = {case.positive_class!r}) when its score reaches "
        f"{r['threshold']:.3f} (chosen on validation rows to minimise the case's cost).",
        f"- Mitigation: {r['mitigation']}.",
        *([f"- Thresholds per group of `{r['attribute']}`: " + ", ".join(
            f"{g}: {'no one flagged' if t is None else format(t, '.3f')}" for g, t in r["group_thresholds"].items())
           + "; every other group: the single threshold."]
          if r["mitigation"] == "per-group thresholds" and r.get("group_thresholds") else []),
        "",
        "## Intended use",
        "",
        f"- {case.question}",
        f"- Fairness is judged on `{r['attribute']}` by {r['criterion'].replace('_', ' ')}, with an accepted "
        f"disparity of at most {r['disparity_limit']:.3f}.",
        "",
        "## Data",
        "",
        f"- Case study `{case.id}` ({case.data_file}); {r['n_sampled']:,} rows sampled; {r['split_kind']} split: "
        f"{r['n_fit']:,} rows to fit, {r['n_val']:,} to choose thresholds and mitigation, {r['n_test']:,} to judge.",
        f"- Sensitive attributes: {', '.join(case.sensitive)}. Groups too small to rank: {small}.",
        "",
        "## Metrics",
        "",
        f"- Cost per 1,000 decisions on test rows: {fmt(r, 'test_cost', ',.1f')} {unit}; ROC-AUC "
        f"{fmt(r, 'test_roc_auc')}.",
        f"- Cost of the mitigation against a single threshold: {fmt(r, 'mitigation_cost', ',.1f')} {unit} per "
        "1,000 decisions (paired bootstrap).",
        f"- {r['criterion'].replace('_', ' ').capitalize()} disparity on `{r['attribute']}`: "
        f"{fmt(r, 'disparity_before')} with a single threshold, {fmt(r, 'disparity_after')} as deployed; "
        f"{fmt(r, 'disparity_unaware')} for a model trained without the sensitive attributes.",
        "",
        f"### By group of `{r['attribute']}` (test rows, as deployed)",
        "",
        *_group_rows(r["group_metrics"]),
        "",
        "## Ethical considerations",
        "",
        f"- The other features predict the sensitive attributes (proxy model ROC-AUC): {proxies}. Removing an "
        "attribute from the model does not remove what the model can learn about it.",
        "",
        "## Caveats and recommendations",
        "",
        f"- Decision: {decision['choice']}",
        *[f"- Would change it: {c}" for c in decision["would_change"]],
        "- Groups marked too small are shown, not ranked: their rates are mostly noise.",
        "",
    ]
    return "\n".join(lines)


def write_model_card(case: Case, records: Mapping[str, Any], folder: str | Path) -> Path:
    """Write `model_card.md` into folder (a run's output folder) and return its path."""
    path = Path(folder) / "model_card.md"
    path.write_text(model_card(case, records), encoding="utf-8")
    return path
