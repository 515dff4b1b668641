"""BirdCLEF 2022's long submission: `row_id,target`, one True/False row per soundscape, scored bird and
window end (`<soundscape>_<bird>_<end s>`, e.g. `soundscape_453028782_akiapo_5`).

The birds are those of `scored_birds.json` (else test.csv's `bird` column). The rows are exactly those of the
competition's `test.csv` (`row_id,file_id,bird,end_time`) when it is there, else every window of every
soundscape times every scored bird. `target` is probability >= InferConfig.decision_threshold. Rows whose
window or bird the model could not give use `fallback_prob` (so False under the default threshold), with a
warning. Validated (ids, columns, booleans, the test.csv rows) and written atomically.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from kit.formats import LONG_ROW_ID_PATTERN, SCORED_BIRDS_NAME, SubmissionError, read_scored_birds
from kit.infer.submission import check_row_ids

TEST_NAME = "test.csv"
TEST_COLUMNS = ["row_id", "file_id", "bird", "end_time"]


def _read_test(data_dir: Path):
    """test.csv's rows (row_id, file_id, bird, end_time as text), or None when absent."""
    from kit.utils import read_csv_checked

    path = data_dir / TEST_NAME
    if not path.is_file():
        return None
    frame = read_csv_checked(path, "test.csv (the rows to predict)", SubmissionError, required=TEST_COLUMNS,
                             dtype=str, keep_default_na=False)
    bad = ~frame["end_time"].str.strip().str.fullmatch(r"\d+")
    if bad.any():
        raise SubmissionError(f"{path}: row {int(np.flatnonzero(bad)[0]) + 2}: end_time "
                              f"{frame['end_time'][bad].iloc[0]!r} is not a whole number of seconds")
    return frame[TEST_COLUMNS].apply(lambda c: c.str.strip())


def scored_birds(data_dir) -> list:
    """The birds a 2022 submission scores: scored_birds.json, else test.csv's `bird` column (first-seen order)."""
    data_dir = Path(data_dir)
    if (data_dir / SCORED_BIRDS_NAME).is_file():
        return read_scored_birds(data_dir / SCORED_BIRDS_NAME)
    test = _read_test(data_dir)
    if test is not None and len(test):
        return list(dict.fromkeys(test["bird"]))
    raise SubmissionError(f"{data_dir}: a BirdCLEF 2022 long sample_submission.csv needs {SCORED_BIRDS_NAME} (the "
                          f"birds it scores) or a non-empty {TEST_NAME} beside it; neither is there")


def long_requests(data_dir, wide, birds: Sequence[str]):
    """(row_id, file_id, bird, end_time) of every row to write: test.csv's, else each wide row x each bird."""
    import pandas as pd

    test = _read_test(Path(data_dir))
    if test is not None:
        return test
    stem_end = wide["row_id"].astype(str).str.rsplit("_", n=1, expand=True)
    stems, ends = np.repeat(stem_end[0].to_numpy(), len(birds)), np.repeat(stem_end[1].to_numpy(), len(birds))
    bird_col = np.tile(np.asarray(list(birds), dtype=object), len(wide))
    ids = [f"{s}_{b}_{e}" for s, b, e in zip(stems, bird_col, ends)]
    return pd.DataFrame({"row_id": ids, "file_id": stems, "bird": bird_col, "end_time": ends})


def to_long(wide, requests, threshold: float, fallback_prob: float):
    """`row_id,target` for `requests` from the wide frame (row_id `<stem>_<end>` + one column per bird)."""
    import pandas as pd

    probs = wide.set_index(wide["row_id"].astype(str)).drop(columns="row_id")
    keys = (requests["file_id"] + "_" + requests["end_time"].astype(str)).to_numpy()
    row_at = pd.Series(np.arange(len(probs)), index=probs.index)
    rows = row_at.reindex(keys).to_numpy()
    cols = pd.Series(np.arange(probs.shape[1]), index=probs.columns).reindex(requests["bird"]).to_numpy()
    found = ~(np.isnan(rows) | np.isnan(cols))
    values = np.full(len(requests), fallback_prob, dtype=np.float64)
    matrix = probs.to_numpy(dtype=np.float64)
    values[found] = matrix[rows[found].astype(np.int64), cols[found].astype(np.int64)]
    if not found.all():
        missing = requests[~found]
        warnings.warn(f"{len(missing)} of {len(requests)} row(s) of the long submission have no predicted window "
                      f"or bird and get fallback_prob={fallback_prob}, e.g. {missing['row_id'].iloc[0]}", stacklevel=2)
    return pd.DataFrame({"row_id": requests["row_id"].to_numpy(), "target": values >= threshold})


def long_fallback(sample, threshold: float, fallback_prob: float):
    """sample_submission's rows with target = fallback_prob >= threshold (an empty test folder)."""
    import pandas as pd

    return pd.DataFrame({"row_id": sample.frame["row_id"].astype(str),
                         "target": np.full(len(sample.frame), fallback_prob >= threshold)})


def validate_long_submission(frame, expected_ids: Optional[Sequence[str]] = None, source: str = "submission"):
    """Raise SubmissionError unless columns are row_id,target, ids unique and `<soundscape>_<bird>_<end s>`,
    targets booleans, and the ids are exactly `expected_ids` (test.csv's) when given."""
    if list(frame.columns) != ["row_id", "target"]:
        raise SubmissionError(f"{source}: a BirdCLEF 2022 submission has columns row_id,target; got "
                              f"{list(frame.columns)[:5]}")
    ids = check_row_ids(frame, LONG_ROW_ID_PATTERN, "<soundscape>_<bird>_<end seconds>", source)
    if frame["target"].dtype != bool:
        raise SubmissionError(f"{source}: target must be True/False, got dtype {frame['target'].dtype}")
    if expected_ids is not None and set(ids) != set(map(str, expected_ids)):
        missing = sorted(set(map(str, expected_ids)) - set(ids))
        raise SubmissionError(f"{source}: row ids differ from test.csv's ({len(missing)} missing, e.g. "
                              f"{missing[:1]})")


def write_long_submission(frame, out_csv, expected_ids: Optional[Sequence[str]] = None) -> Path:
    """Validate, then write atomically (True/False as the competition's sample has them)."""
    from kit.utils import atomic_write_csv

    validate_long_submission(frame, expected_ids, source=str(out_csv))
    return atomic_write_csv(frame, out_csv)


__all__ = ["scored_birds", "long_requests", "to_long", "long_fallback", "validate_long_submission",
           "write_long_submission", "TEST_NAME"]
