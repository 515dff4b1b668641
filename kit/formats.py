"""The competition's file formats, shared by training, inference and scoring.

Row ids: `<soundscape stem>_<window end in whole seconds>` (BirdCLEF 2023-2025, one row per window and a
probability column per label). `sample_submission.csv` comes in three kinds:
  * wide (2023-2025): `row_id,<label>,<label>,...`; its columns are the label list, in the scored order;
  * BirdCLEF 2021 (`row_id,birds`): one row per window holding a space-separated set of birds or `nocall`,
    scored by row-wise F1. kit writes probabilities, not label sets: it refuses to predict this format;
  * BirdCLEF 2022 (`row_id,target`): one True/False row per soundscape, scored bird and window end
    (`<soundscape>_<bird>_<end s>`); the birds are listed in `scored_birds.json`.
The label list of a competition folder comes from the wide sample_submission.csv's columns, else from
`taxonomy.csv` (BirdCLEF 2025: `primary_label`, in file order), else from the training metadata (plus the
2022 scored birds). `eBird_Taxonomy_v2021.csv` (2022-2024) is the whole eBird taxonomy, not a label list:
it is never read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

ROW_ID_PATTERN = re.compile(r"^.+_\d+$")
LONG_ROW_ID_PATTERN = re.compile(r"^.+_[^_]+_\d+$")

WIDE, BIRDCLEF2021, BIRDCLEF2022 = "wide", "birdclef2021", "birdclef2022"
FORMAT_TEXT = {
    WIDE: "a wide submission (row_id + one probability column per label)",
    BIRDCLEF2021: "BirdCLEF 2021's long format (`row_id,birds`: one row per window holding a space-separated "
                  "set of birds or `nocall`, scored by row-wise F1)",
    BIRDCLEF2022: "BirdCLEF 2022's long format (`row_id,target`: one True/False row per soundscape, scored bird "
                  "and window end, row ids `<soundscape>_<bird>_<end s>`)",
}
TAXONOMY_NAME, SCORED_BIRDS_NAME, SAMPLE_NAME = "taxonomy.csv", "scored_birds.json", "sample_submission.csv"


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


# ---------------------------------------------------------------------------------------------------
# sample_submission.csv
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleSubmission:
    """sample_submission.csv read and classified: `kind` is WIDE, BIRDCLEF2021 or BIRDCLEF2022; `labels` are
    the label columns in order (wide only, else empty)."""

    path: Path
    kind: str
    frame: object = field(repr=False)
    labels: tuple = ()

    @property
    def column(self) -> str:
        """The value column of a long format ('birds' or 'target')."""
        return str(self.frame.columns[1])

    def refusal(self, what: str) -> str:
        """The message for a long format a step cannot use: names the file, the format and the column."""
        return (f"{self.path} is {FORMAT_TEXT[self.kind]}; its column `{self.column}` is not a label column, "
                f"so {what}")


def _long_kind(frame) -> Optional[str]:
    """BIRDCLEF2021 / BIRDCLEF2022 when the columns and the values say so; None for a wide file (a single
    label that happens to be called `target` holds probabilities, not True/False)."""
    import pandas as pd

    if len(frame.columns) != 2:
        return None
    name, values = str(frame.columns[1]), frame.iloc[:, 1]
    if name == "target":
        text = set(values.astype(str).str.strip().str.lower())
        return BIRDCLEF2022 if values.dtype == bool or text <= {"true", "false"} else None
    if name == "birds":
        return BIRDCLEF2021 if len(values) == 0 or not pd.api.types.is_numeric_dtype(values) else None
    return None


def read_sample_submission(sample_csv) -> SampleSubmission:
    """sample_submission.csv of any BirdCLEF year (see the module docstring)."""
    from kit.utils import read_csv_checked

    path = Path(sample_csv)
    sample = read_csv_checked(path, "sample_submission.csv (it gives the label columns)", SubmissionError)
    if sample.columns[0] != "row_id" or len(sample.columns) < 2:
        raise SubmissionError(f"{path}: expected columns row_id, <label>, ... got {list(sample.columns)[:5]}")
    kind = _long_kind(sample)
    if kind is not None:
        return SampleSubmission(path, kind, sample)
    return SampleSubmission(path, WIDE, sample, tuple(str(c) for c in sample.columns[1:]))


def read_sample_labels(sample_csv) -> tuple:
    """(label columns in order, sample DataFrame) from a wide sample_submission.csv; a long format is refused
    with a message naming it and its column."""
    sample = read_sample_submission(sample_csv)
    if sample.kind != WIDE:
        raise SubmissionError(sample.refusal("it gives no label list"))
    return list(sample.labels), sample.frame


# ---------------------------------------------------------------------------------------------------
# taxonomy.csv, scored_birds.json and the label list of a competition folder
# ---------------------------------------------------------------------------------------------------
def _unique_labels(values, where: str) -> list:
    labels = [str(v).strip() for v in values]
    for i, label in enumerate(labels):
        if not label or label == "nan":
            raise SubmissionError(f"{where}: entry {i + 1} is empty")
        if label in labels[:i]:
            raise SubmissionError(f"{where}: label {label!r} is listed twice (entries {labels.index(label) + 1} "
                                  f"and {i + 1})")
    return labels


def read_taxonomy_labels(taxonomy_csv) -> list:
    """The `primary_label` column of taxonomy.csv (BirdCLEF 2025), in file order, as strings (`1139490`)."""
    from kit.utils import read_csv_checked

    path = Path(taxonomy_csv)
    frame = read_csv_checked(path, "taxonomy.csv", SubmissionError, required=["primary_label"], dtype=str,
                             keep_default_na=False)
    return _unique_labels(frame["primary_label"], f"{path} column primary_label")


def read_scored_birds(scored_json) -> list:
    """scored_birds.json (BirdCLEF 2022): a JSON list of bird codes."""
    import json

    path = Path(scored_json)
    try:
        birds = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SubmissionError(f"{path}: cannot read the scored birds ({type(exc).__name__}: {exc})") from exc
    if not isinstance(birds, list) or not birds or not all(isinstance(b, str) for b in birds):
        raise SubmissionError(f"{path}: expected a JSON list of bird codes such as [\"akiapo\", \"aniani\"]")
    return _unique_labels(birds, str(path))


@dataclass
class LabelSource:
    """What fixes a competition folder's label list. `labels` None: the training metadata's primary labels
    (sorted) plus `extra` (2022's scored birds). `source` names the file for messages."""

    labels: Optional[list]
    source: str
    notes: list = field(default_factory=list)
    extra: list = field(default_factory=list)
    warnings: list = field(default_factory=list)   # notes that must not go unseen


def competition_labels(folder) -> LabelSource:
    """The label list of a competition folder: the wide sample_submission.csv's columns (their order is the
    submission's), else taxonomy.csv's primary_label, else the metadata's primary labels (+ scored_birds.json
    with a 2022 long sample). A BirdCLEF 2021 sample gives no labels and is noted."""
    folder = Path(folder)
    sample = read_sample_submission(folder / SAMPLE_NAME) if (folder / SAMPLE_NAME).is_file() else None
    taxonomy = read_taxonomy_labels(folder / TAXONOMY_NAME) if (folder / TAXONOMY_NAME).is_file() else None
    notes: list = []
    warnings: list = []
    if sample is not None and sample.kind == WIDE:
        if taxonomy is not None and set(taxonomy) != set(sample.labels):
            only = sorted(set(taxonomy) ^ set(sample.labels))
            notes.append(f"{TAXONOMY_NAME} and {SAMPLE_NAME} list different labels ({only[:10]}); the "
                         f"submission's columns are used")
        return LabelSource(list(sample.labels), f"{sample.path} (its columns)", notes)
    if sample is not None and sample.kind == BIRDCLEF2021:
        warnings.append(f"{sample.path} is {FORMAT_TEXT[BIRDCLEF2021]}: `kit predict` refuses to write it (kit "
                        f"writes probabilities, not label sets); training goes on with the metadata's labels")
        notes.append(warnings[-1])
    elif sample is not None:
        notes.append(sample.refusal(f"the labels come from {TAXONOMY_NAME if taxonomy else 'the training metadata'}"))
    if taxonomy is not None:
        return LabelSource(taxonomy, f"{folder / TAXONOMY_NAME} (primary_label)", notes, warnings=warnings)
    extra = []
    if sample is not None and sample.kind == BIRDCLEF2022 and (folder / SCORED_BIRDS_NAME).is_file():
        extra = read_scored_birds(folder / SCORED_BIRDS_NAME)
        notes.append(f"the {len(extra)} birds of {SCORED_BIRDS_NAME} join the training metadata's labels")
    return LabelSource(None, "the training metadata's primary labels", notes, extra, warnings)


__all__ = ["SubmissionError", "ROW_ID_PATTERN", "LONG_ROW_ID_PATTERN", "WIDE", "BIRDCLEF2021", "BIRDCLEF2022",
           "FORMAT_TEXT", "SampleSubmission", "row_ids", "read_sample_submission", "read_sample_labels",
           "read_taxonomy_labels", "read_scored_birds", "LabelSource", "competition_labels", "TAXONOMY_NAME",
           "SCORED_BIRDS_NAME", "SAMPLE_NAME"]
