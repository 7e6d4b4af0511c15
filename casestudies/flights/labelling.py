"""Hand-written labelling functions for `flights`: rules an operations analyst would write down in an afternoon.

Loaded by the workbench's case hook (see casestudies/README.md): 01_labelling's `expert` set calls
`labelling_functions(case)`. A case without this file still runs 01_labelling on mined rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.labelling.lfs import LabellingFunction, category, threshold

if TYPE_CHECKING:
    from workbench.cases import Case


def labelling_functions(case: Case) -> list[LabellingFunction]:
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
