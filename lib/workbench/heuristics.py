"""Sets of labelling functions: hand-written heuristics for the bundled cases, and rules mined from a dev set.

`expert` sets encode what a domain expert would write down in an afternoon (keywords of
disappointment for reviews, risk thresholds for loans, evening and regional-carrier rules for
flights). `mined` builds rules for any case from a small labelled dev set: keywords for a text
case, one-sided thresholds and category rules for a tabular one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .labelling import LabellingFunction, category, keyword, rule, threshold

if TYPE_CHECKING:
    import pandas as pd

    from .cases import Case

__all__ = ["LF_SETS", "expert", "has_expert", "lf_set", "mined"]

LF_SETS = ("expert", "mined")


def _reviews(case: Case) -> list[LabellingFunction]:
    """Positive class: a review below 5 stars ('other'); negative: a 5-star review."""
    t = case.text_column or "review"
    return [
        keyword("disappointed", t, r"\bdisappoint", 1),
        keyword("strong_dislike", t, r"\b(?:worst|terrible|awful|horrible|disgusting|gross|yuck)\b", 1),
        keyword("waste_or_return", t, r"\b(?:waste|refund|return(?:ed|ing)?|threw (?:it |them )?(?:away|out))\b", 1),
        keyword("lukewarm", t, r"\b(?:ok|okay|decent|not bad|just fine|average|so-so|mediocre)\b", 1),
        keyword("taste_fault", t, r"\b(?:stale|bland|tasteless|weak|too (?:sweet|salty|bitter|strong))\b", 1),
        keyword("negated_praise", t, r"\b(?:not|didn't|don't|wouldn't|won't|doesn't)\s+(?:\w+\s+){0,2}"
                                     r"(?:good|great|like|recommend|worth|buy)", 1),
        keyword("reservation", t, r"\b(?:however|although|though|unfortunately)\b", 1),
        keyword("few_stars", t, r"\b[1-4](?: out of 5)? stars?\b", 1),
        keyword("love", t, r"\blov(?:e|ed|es|ing)\b", 0),
        keyword("superlative", t, r"\b(?:best|excellent|amazing|awesome|perfect|fantastic|wonderful|outstanding)\b", 0),
        keyword("recommends", t, r"\b(?:highly recommend|recommend (?:it|this|them) to)\b", 0),
        keyword("delicious", t, r"\b(?:delicious|yummy|tasty)\b", 0),
        keyword("favourite", t, r"\bfavou?rite\b", 0),
        keyword("exclamation", t, r"!", 0, "the review has an exclamation mark"),
    ]


def _lending(case: Case) -> list[LabellingFunction]:
    """Positive class: a bad loan.

    The rate and sub-grade rules nearly always fire together (Lending Club sets the rate from the
    sub-grade): they break the label model's independence assumption, which the notebook shows.
    """
    grade = lambda df: df["sub_grade"].astype(str).str[0]  # noqa: E731 - A .. G
    return [
        threshold("high_rate", "int_rate", ">=", 20, 1, "interest rate of 20% or more"),
        rule("grade_e_to_g", lambda df: grade(df).isin(list("EFG")), 1, "sub-grade E1 to G5", ["sub_grade"]),
        category("five_year_term", "term", ["term_60"], 1, "a 60-month term"),
        threshold("many_inquiries", "inq_last_6mths", ">=", 3, 1, "3+ credit inquiries in 6 months"),
        threshold("maxed_out", "revol_util", ">=", 90, 1, "revolving credit 90%+ used"),
        threshold("shopping_for_credit", "inq_last_12m", ">=", 6, 1, "6+ credit inquiries in 12 months"),
        threshold("low_rate", "int_rate", "<", 8, 0, "interest rate below 8%"),
        rule("grade_a", lambda df: grade(df) == "A", 0, "sub-grade A1 to A5", ["sub_grade"]),
        threshold("no_recent_inquiries", "inq_last_12m", "<", 1, 0, "no credit inquiry in 12 months"),
        threshold("low_utilisation", "all_util", "<", 40, 0, "under 40% of all credit lines used"),
    ]


def _flights(case: Case) -> list[LabellingFunction]:
    """Positive class: arrives more than 15 minutes late."""
    return [
        threshold("evening", "sched_dep_hour", ">=", 17, 1, "departs 17:00 or later (delays pile up)"),
        category("summer_storms", "month", [6, 7], 1, "June or July (thunderstorms)"),
        category("regional_carrier", "carrier", ["EV", "9E", "MQ", "YV", "F9", "FL"], 1, "a regional or low-cost carrier"),
        threshold("early_morning", "sched_dep_hour", "<", 9, 0, "departs before 09:00"),
        category("network_carrier", "carrier", ["DL", "AA", "US", "HA", "AS"], 0, "a large network carrier"),
        category("saturday", "day_of_week", ["Sat"], 0, "a Saturday (light schedule)"),
        threshold("long_haul", "distance", ">=", 2000, 0, "2,000 miles or more (slack in the schedule)"),
    ]


EXPERT: dict[str, Callable[[Case], list[LabellingFunction]]] = {
    "reviews": _reviews, "lending": _lending, "flights": _flights,
}


def has_expert(case: Case) -> bool:
    """Whether a hand-written LF set exists for this case (the bundled cases)."""
    return case.id in EXPERT


def expert(case: Case) -> list[LabellingFunction]:
    """The hand-written LF set for a bundled case."""
    if not has_expert(case):
        raise KeyError(f"no expert labelling functions for case '{case.id}' (known: {', '.join(EXPERT)}); "
                       "use the 'mined' set")
    return EXPERT[case.id](case)


def _score(hit: np.ndarray, y: np.ndarray, vote: int, prior: float, min_votes: int) -> float:
    """How many standard errors a rule's dev accuracy lies above the base rate of `vote` (-inf: too few votes)."""
    n = int(hit.sum())
    if n < min_votes:
        return -np.inf
    base = prior if vote == 1 else 1 - prior
    if base in (0.0, 1.0):
        return -np.inf
    return (float((y[hit] == vote).mean()) - base) / float(np.sqrt(base * (1 - base) / n))


def mined(case: Case, dev: pd.DataFrame, y_dev: np.ndarray, pool: pd.DataFrame, *, k: int = 10,
          min_coverage: float = 0.03) -> list[LabellingFunction]:
    """Up to k rules chosen on the dev set, best first, at most half of them for each class.

    Except on text columns, a column gives at most one rule per class. A rule's score is how many standard errors its dev accuracy lies above the base rate of the
    class it votes for (a one-sided binomial z-score); rules below 2 are dropped.

    Text columns give keyword rules (whole words); numeric columns one-sided thresholds at the
    pool's 10th, 25th, 75th and 90th percentiles; categorical columns one rule per frequent level.
    Each rule votes for the class it is more accurate for. Dev-set accuracies of mined rules are
    optimistic: they were chosen on the same rows.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    y = np.asarray(y_dev)
    prior = float(y.mean())
    min_votes = max(3, int(np.ceil(min_coverage * len(dev))))
    cands: list[tuple[float, str, int, Callable[[], LabellingFunction]]] = []

    def add(col: str, hit: np.ndarray, make: Callable[[int], LabellingFunction]) -> None:
        for vote in (0, 1):
            s = _score(hit, y, vote, prior, min_votes)
            if np.isfinite(s) and s > 2:
                cands.append((s, col, vote, lambda v=vote: make(v)))

    for col in case.feature_columns(("text",)):
        vec = CountVectorizer(binary=True, min_df=min_votes, token_pattern=r"(?u)\b[a-zA-Z]{3,}\b",
                              stop_words="english")
        X = vec.fit_transform(dev[col].fillna("")).tocsc()
        for j, word in enumerate(vec.get_feature_names_out()):
            hit = X[:, j].toarray().ravel() > 0
            add(col, hit, lambda v, w=str(word), c=col: keyword(f"word_{w}", c, rf"\b{w}\b", v))
    for col in case.feature_columns(("numeric",)):
        x_dev = dev[col].astype(float).to_numpy()
        for q in (0.1, 0.25, 0.75, 0.9):
            cut = float(np.nanquantile(pool[col].astype(float), q))
            op, side = (">=", "high") if q > 0.5 else ("<=", "low")
            hit = (x_dev >= cut) if op == ">=" else (x_dev <= cut)
            name = f"{col}_{side}_{round(q * 100)}"
            add(col, hit, lambda v, n=name, c=col, o=op, t=cut: threshold(n, c, o, t, v))
    for col in case.feature_columns(("categorical",)):
        levels = dev[col].astype("string").fillna("(missing)")
        for level in levels.value_counts().index[:30]:
            hit = (levels == level).to_numpy(dtype=bool)
            add(col, hit, lambda v, c=col, lv=str(level): category(f"{c}_{lv}".replace(" ", "_"), c, [lv], v))
    chosen: list[LabellingFunction] = []
    taken: set[tuple[str, int]] = set()
    per_class = {0: 0, 1: 0}
    for _, col, vote, make in sorted(cands, key=lambda t: -t[0]):
        if len(chosen) >= k:
            break
        text = case.features.get(col) == "text"
        if per_class[vote] >= -(-k // 2) or (not text and (col, vote) in taken):
            continue
        lf = make()
        if any(c.name == lf.name for c in chosen):
            continue
        chosen.append(lf)
        taken.add((col, vote))
        per_class[vote] += 1
    return chosen


def lf_set(case: Case, name: str, dev: pd.DataFrame, y_dev: np.ndarray,
           pool: pd.DataFrame) -> tuple[list[LabellingFunction], str]:
    """The named LF set for a case and a sentence saying what it is; `mined` stands in for a missing expert set."""
    if name not in LF_SETS:
        raise ValueError(f"labelling function set must be one of {', '.join(LF_SETS)}, got {name!r}")
    if name == "expert" and has_expert(case):
        lfs = expert(case)
        kind = ("keyword and regex rules on the text" if case.text_column
                else "threshold and category rules on the features")
        return lfs, f"{len(lfs)} hand-written {kind}"
    lfs = mined(case, dev, y_dev, pool)
    note = f"{len(lfs)} rules mined from the {len(dev)} dev rows"
    if name == "expert":
        note += f" (there is no hand-written set for '{case.id}')"
    if not lfs:
        raise ValueError(f"no rule mined from the {len(dev)} dev rows beats the class prior; enlarge dev_size")
    return lfs, note
