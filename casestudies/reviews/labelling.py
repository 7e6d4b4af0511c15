"""Hand-written labelling functions for `reviews`: keywords a customer-care lead would write down in an afternoon.

Loaded by the workbench's case hook (see casestudies/README.md): 01_labelling's `expert` set calls
`labelling_functions(case)`. A case without this file still runs 01_labelling on mined rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.labelling.lfs import LabellingFunction, keyword

if TYPE_CHECKING:
    from workbench.cases import Case


def labelling_functions(case: Case) -> list[LabellingFunction]:
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
