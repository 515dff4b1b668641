"""The competition's file formats, shared by training, inference and scoring: row ids
`<soundscape stem>_<window end in whole seconds>` (BirdCLEF 2023-2025) and sample_submission.csv's label
columns."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np

ROW_ID_PATTERN = re.compile(r"^.+_\d+$")


class SubmissionError(ValueError):
    """A submission is malformed; the message says which rows or columns are wrong."""


def row_ids(stem: str, end_s: Sequence[float]) -> list:
    """`<stem>_<end seconds>`; refuses window ends that are not whole seconds (ids would collide)."""
    ids = []
    for end in np.asarray(end_s, dtype=np.float64):
        if abs(end - round(end)) > 1e-6:
            raise SubmissionError(f"window end {end} s of {stem} is not a whole second: choose a window_s in "
                                  f"whole seconds so that row ids `<stem>_<seconds>` stay unique")
        ids.append(f"{stem}_{int(round(end))}")
    return ids


def read_sample_labels(sample_csv) -> tuple:
    """(label columns in order, sample DataFrame) from sample_submission.csv."""
    from kit.utils import read_csv_checked

    path = Path(sample_csv)
    sample = read_csv_checked(path, "sample_submission.csv (it gives the label columns)", SubmissionError)
    if sample.columns[0] != "row_id" or len(sample.columns) < 2:
        raise SubmissionError(f"{path}: expected columns row_id, <label>, ... got {list(sample.columns)[:5]}")
    return [str(c) for c in sample.columns[1:]], sample


__all__ = ["SubmissionError", "ROW_ID_PATTERN", "row_ids", "read_sample_labels"]
