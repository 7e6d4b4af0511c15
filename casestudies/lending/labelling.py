"""Hand-written labelling functions for `lending`: risk rules a credit analyst would write down in an afternoon.

Loaded by the workbench's case hook (see casestudies/README.md): 01_labelling's `expert` set calls
`labelling_functions(case)`. A case without this file still runs 01_labelling on mined rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.labelling.lfs import LabellingFunction, category, rule, threshold

if TYPE_CHECKING:
    from workbench.cases import Case


def labelling_functions(case: Case) -> list[LabellingFunction]:
    """Positive class: a bad loan.

    The rate and sub-grade rules nearly always fire together (Lending Club sets the rate from the
    sub-grade): they break the label model's independence assumption, which the notebook shows.
    """
    grade = lambda df: df["sub_grade"].astype(str).str[0]
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
