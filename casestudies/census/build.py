"""Regenerate census.parquet from the US census employment data shipped in the nannyml wheel; record its sha256.

    python casestudies/census/build.py           # rebuild, rewrite the sha256 line of case.yaml
    python casestudies/census/build.py --check   # rebuild to a temp file and compare; change nothing

Needs only python3: without the pinned sources it runs itself in a throwaway virtualenv
(see ../_build.py). The data files are read straight out of the `nannyml` wheel, which is
downloaded (`pip download --no-deps`, hash-checked) but never installed: a full nannyml install
pulls in about 2 GB of dependencies that the three parquet files inside it do not need.
DATASHEET.md describes every step below.
"""

import sys
import tempfile
import zipfile
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _build  # noqa: E402

NANNYML = "nannyml==0.13.1"
NANNYML_WHEEL_SHA256 = "cf5f4a33489834ae6773cb1baa33a0f98c0a3ee6ed9b43049478b25ce22fe869"
DATA_DIR = "nannyml/datasets/data/"
FILES = ["employment_MA_reference.pq", "employment_MA_analysis.pq", "employment_MA_analysis_target.pq"]

CATEGORICAL = ["SCHL", "MAR", "RELP", "DIS", "ESP", "CIT", "MIG", "MIL", "ANC", "NATIVITY",
               "DEAR", "DEYE", "DREM", "SEX", "RAC1P"]
COLUMNS = ["person_id", "survey_year", "AGEP", *CATEGORICAL, "employed"]
ROWS_PER_YEAR = {2015: 68_785, 2016: 69_126, 2017: 69_635, 2018: 70_131}


def build():
    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="census-wheel-") as tmp:
        wheel = _build.download_wheel(NANNYML, NANNYML_WHEEL_SHA256, Path(tmp))
        with zipfile.ZipFile(wheel) as archive:
            for name in FILES:
                archive.extract(DATA_DIR + name, tmp)
        reference, analysis, analysis_target = (pd.read_parquet(Path(tmp) / DATA_DIR / name) for name in FILES)

    assert reference.shape == (68_785, 21) and analysis.shape == (208_892, 20), (reference.shape, analysis.shape)
    assert analysis_target.shape == (208_892, 2)
    assert (analysis["id"].to_numpy() == analysis_target["id"].to_numpy()).all(), "targets align with rows by id"
    analysis = analysis.assign(employed=analysis_target["employed"].to_numpy())

    # nannyml's own model outputs are not data: the workbench fits its own models.
    raw = pd.concat([reference, analysis], ignore_index=True).drop(columns=["prediction", "predicted_probability"])
    assert (raw["id"] == range(len(raw))).all(), "ids run 0 .. n-1 in file order"
    assert raw["year"].value_counts().sort_index().to_dict() == ROWS_PER_YEAR
    assert raw["year"].is_monotonic_increasing
    assert not raw.isna().any().any()
    assert set(raw["employed"].unique()) == {0, 1}

    frame = pd.DataFrame({
        "person_id": raw["id"].astype("int32"),
        # the ACS survey year, as a datetime (1 January of the year): interviews run all year long
        "survey_year": pd.to_datetime(raw["year"].astype(str) + "-01-01"),
        "AGEP": raw["AGEP"].astype("int8"),  # whole years 0 .. 95
    })
    assert (frame["AGEP"] == raw["AGEP"]).all()
    for column in CATEGORICAL:
        values = raw[column].astype(str)
        codes = sorted(values.unique(), key=int)  # ACS codes as strings, in numeric order ("0" = N/A)
        frame[column] = pd.Categorical(values, categories=codes)
    frame["employed"] = raw["employed"].astype("int8")
    assert list(frame.columns) == COLUMNS
    return frame


if __name__ == "__main__":
    _build.main(__file__, build, "census.parquet")
