"""What a validated case study is: its declared columns, costs and slices, and its loaded data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import CaseError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["FAIRNESS_CRITERIA", "KINDS", "Case", "Costs", "Example", "Expectations", "Fairness", "Interactions",
           "Monotone", "Perturbation", "Serving", "Slice"]

KINDS = ("numeric", "categorical", "text")  # the kinds of feature column a case may declare
FAIRNESS_CRITERIA = ("demographic_parity", "equal_opportunity", "equalized_odds")  # what `fairness.criterion` may name


@dataclass(frozen=True)
class Costs:
    """What one wrong decision costs, in `unit`; optionally what a training run and a human review cost."""

    unit: str
    false_positive: float
    false_negative: float
    note: str = ""
    retrain: float | None = None  # one training run (compute, validation, rollout), in `unit`
    review: float | None = None  # a human reviewing one case instead of the model deciding, in `unit`
    assumption: str | None = None  # "placeholder": not set yet; "equal": both errors assumed to cost the same


@dataclass(frozen=True)
class Slice:
    """A slice of interest: one group per value of `column`, or per bin when `bins` is given."""

    column: str
    bins: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Interactions:
    """Logged interactions (task `interactions`): which columns hold the action, its reward and propensity.

    Each row is one action a logging policy took (e.g. an item shown in a slot), the reward it got
    (0/1, e.g. a click) and the probability the policy gave that action when it took it.
    """

    action: str
    reward: str
    propensity: str
    policy: str
    position: str | None = None  # the slot the action was shown in, when there are several
    segment: str | None = None  # column splitting the logs into separate experiments, each with its own actions
    uniform_policy: str | None = None  # the `policy` value that chose every action with equal probability
    context: tuple[str, ...] = ()  # columns describing the user or situation
    traffic_per_day: float | None = None  # interactions a day in the real system (the data may be a sample)


@dataclass(frozen=True)
class Fairness:
    """How fairness is judged for a case: the criterion its question calls for, the target value whose
    prediction benefits the person (equal opportunity), the largest accepted disparity, and why."""

    criterion: str
    favourable: Any = None
    limit: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Serving:
    """What deployment must live with: traffic, the entities a batch job scores, the latency budget,
    how long a precomputed prediction stays valid, and the price of compute (in the costs' unit)."""

    requests_per_day: float  # prediction requests a day
    entities: int  # entities a batch job scores each run (e.g. flights on sale, customers)
    share_requested: float  # share of those entities requested at least once within valid_hours
    latency_budget_ms: float  # the p99 an online prediction must meet, in milliseconds
    valid_hours: float  # how long a precomputed prediction stays valid (the batch period)
    cpu_hour_price: float  # one CPU core for one hour, in the case's cost unit
    note: str = ""


@dataclass(frozen=True)
class Monotone:
    """A declared direction: P(positive class) must not fall (+1) or not rise (-1) as `column` rises.

    A behavioural test raises the feature by `step` (added) or `factor` (multiplied); with neither,
    by its interquartile range on training rows.
    """

    column: str
    direction: int
    step: float | None = None
    factor: float | None = None


@dataclass(frozen=True)
class Perturbation:
    """A declared perturbation of one feature: `kind` (round, swap, typos, append, punctuation) and its
    parameters; `direction` is 0 for an invariance, +1 / -1 for how P(positive class) must move."""

    kind: str
    column: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    direction: int = 0


@dataclass(frozen=True)
class Example:
    """A minimum-functionality example: some feature values and the class the decision must give."""

    name: str
    values: dict[str, Any]
    expected: Any


@dataclass(frozen=True)
class Expectations:
    """What a model must do beyond its metric (case.yaml `expectations:`), for behavioural tests."""

    monotone: tuple[Monotone, ...] = ()
    invariances: tuple[Perturbation, ...] = ()
    directional: tuple[Perturbation, ...] = ()
    examples: tuple[Example, ...] = ()
    text_lengths: dict[str, str] = field(default_factory=dict)  # numeric feature -> the text feature it measures


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
    costs: Costs | None  # None for task interactions (no false positives or negatives to price)
    label_delay_days: float | None
    prediction_lead_days: float | None
    slices: list[Slice]
    notebooks: list[str] | None  # an explicit list, or None: the notebooks whose requirements the case meets
    data: pd.DataFrame | None = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list)  # what loading found that a notebook can survive
    rows: int = 0  # rows in the data file
    class_rows: tuple[int, int] | None = None  # rows of (negative, positive) class, for a binary task
    days: int = 0  # distinct calendar days in the time column (0 without one)
    interactions: Interactions | None = None  # task interactions only: the logged-interaction columns
    fairness: Fairness | None = None
    serving: Serving | None = None  # optional serving facts (08_deployment)
    expectations: Expectations | None = None  # optional `expectations:` block (behavioural tests)

    @property
    def data_path(self) -> Path:
        return self.folder / self.data_file

    def supports(self, notebook: str) -> bool:
        """Whether this case declares support for a notebook (by stem, e.g. '00_framing')."""
        return self.notebooks is None or notebook in self.notebooks

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
        """The target as 0/1, where 1 is the positive class (for task interactions: the reward)."""
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


