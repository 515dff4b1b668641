"""The recording table: labelled recordings read from a BirdCLEF folder or a `filename,label` CSV, their
multi-label targets, ratings and loss weights.

A BirdCLEF folder is any year's layout, read as it is:
  * metadata: `train_metadata.csv` (2021-2024) or `train.csv` (2025) with `primary_label`, `secondary_labels`
    (a Python-list string: "['a', 'b']", `[]`, `['']`) and `filename`;
  * audio: `train_audio/` with `filename` = `<label>/<file>` (2022-2025), or 2021's `train_short_audio/` where
    `filename` is the bare file name inside `train_short_audio/<primary_label>/`;
  * the label list and its order: kit.formats.competition_labels (the wide sample_submission.csv's columns,
    else taxonomy.csv, else the metadata's primary labels and 2022's scored birds).
Every other metadata column (rating, author, url, collection, ...) is kept in the table for the rating filter,
the loss weights and grouped splits; `row` is the CSV line of each recording, for error messages.
"""
from __future__ import annotations

import ast
import io
import tokenize
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from kit.config import DataConfig
from kit.utils import read_csv_checked, resolve_inside

METADATA_NAMES = ("train_metadata.csv", "train.csv")
AUDIO_FOLDERS = ("train_audio", "train_short_audio")   # 2022-2025; 2021 (files under <primary_label>/)
TABLE_COLUMNS = ["path", "primary_label", "secondary_labels", "row"]


class DataError(ValueError):
    """The training data (folder or CSV) is missing, malformed or inconsistent; the message names the file."""


@dataclass
class RecordingTable:
    """`frame` has columns path (absolute), primary_label, secondary_labels (list of str), row (CSV line) and
    the metadata's other columns as text; `labels` is the fixed label list (checkpoint order)."""

    frame: pd.DataFrame
    labels: list
    source: str = ""
    notes: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frame)

    def subset(self, keep) -> "RecordingTable":
        """The rows where `keep` (a boolean mask) is true, same labels, source and notes."""
        return RecordingTable(self.frame[np.asarray(keep, dtype=bool)].reset_index(drop=True), self.labels,
                              self.source, list(self.notes))


# ---------------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------------
def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: label CSV not found")
    frame = read_csv_checked(path, "label CSV", DataError, dtype=str, keep_default_na=False)
    if frame.empty:
        raise DataError(f"{path}: holds no rows")
    return frame


def _adjacent_strings(text: str) -> bool:
    """True when two string literals follow each other with no comma: "['a' 'b']", which Python reads as
    ['ab'] (implicit concatenation). Text that does not tokenize is left to ast.literal_eval to report."""
    skip = {tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT}
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in skip]
    except (tokenize.TokenError, SyntaxError):
        return False
    return any(a.type == b.type == tokenize.STRING for a, b in zip(tokens, tokens[1:]))


def parse_secondary(text, csv_path, row: int) -> list:
    """'[\"a\", \"b\"]' -> ['a', 'b'] with ast.literal_eval only; '' / '[]' / \"['']\" -> []. Errors name the
    file, the row and the value (a missing comma between two labels included)."""
    text = str(text).strip()
    if text in ("", "[]", "nan"):
        return []
    if _adjacent_strings(text):
        raise DataError(f"{csv_path}: row {row}: secondary_labels {text[:80]!r} has two quoted labels with no "
                        f"comma between them (Python would read them as one label); write \"['a', 'b']\"")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise DataError(f"{csv_path}: row {row}: secondary_labels {text[:80]!r} is not a Python list of "
                        f"strings ({type(exc).__name__})") from exc
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise DataError(f"{csv_path}: row {row}: secondary_labels {text[:80]!r} must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def _require(frame: pd.DataFrame, path: Path, columns) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")


def _table_from_frame(raw: pd.DataFrame, csv_path: Path, audio_root: Path, label_column: str,
                      label_folders: bool = False) -> pd.DataFrame:
    """label_folders: a bare file name lives in `audio_root/<primary label>/` (BirdCLEF 2021)."""
    rows = []
    for i, record in enumerate(raw.to_dict("records")):
        line = i + 2  # 1-based, after the header line
        label, name = str(record[label_column]).strip(), str(record["filename"]).strip()
        if not label or not name:
            raise DataError(f"{csv_path}: row {line}: empty {label_column!r} or 'filename'")
        if label_folders and "/" not in name and "\\" not in name:
            name = f"{label}/{name}"
        try:
            path = resolve_inside(audio_root, name)
        except ValueError as exc:
            raise DataError(f"{csv_path}: row {line}: {exc}") from exc
        secondary = parse_secondary(record.get("secondary_labels", ""), csv_path, line)
        rows.append({"path": str(path), "primary_label": label,
                     "secondary_labels": [s for s in secondary if s != label], "row": line})
    frame = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    others = [c for c in raw.columns if c not in TABLE_COLUMNS + [label_column, "filename"]]
    frame = pd.concat([frame, raw[others].reset_index(drop=True)], axis=1)
    duplicated = frame["path"].duplicated()
    if duplicated.any():
        warnings.warn(f"{csv_path}: {int(duplicated.sum())} duplicated filename row(s) dropped, e.g. "
                      f"{frame['path'][duplicated].iloc[0]}")
        frame = frame[~duplicated].reset_index(drop=True)
    return frame


def _read_folder(data: Path, labels: Optional[list]) -> RecordingTable:
    from kit.formats import LabelSource, competition_labels

    csv_path = next((data / n for n in METADATA_NAMES if (data / n).is_file()), None)
    if csv_path is None:
        raise DataError(f"{data}: no {' or '.join(METADATA_NAMES)} in this folder (BirdCLEF layout), "
                        f"or pass a filename,label CSV instead")
    raw = _read_csv(csv_path)
    _require(raw, csv_path, ["primary_label", "filename"])
    audio = next((data / n for n in AUDIO_FOLDERS if (data / n).is_dir()), data / AUDIO_FOLDERS[0])
    frame = _table_from_frame(raw, csv_path, audio, "primary_label", label_folders=audio.name == "train_short_audio")
    found = LabelSource(labels, "the checkpoint's labels") if labels is not None else competition_labels(data)
    for warning in found.warnings:
        warnings.warn(warning)
    return _with_labels(frame, found.labels, csv_path, found.source, found.extra, found.notes)


def read_labels(data, labels: Optional[list] = None) -> RecordingTable:
    """RecordingTable from a BirdCLEF folder (any year, see the module docstring) or a `filename,label` CSV.
    `labels` forces the label list."""
    data = Path(data)
    if data.is_dir():
        return _read_folder(data, labels)
    if data.suffix.lower() == ".csv" or data.is_file() or not data.exists():
        raw = _read_csv(data)
        column = "label" if "label" in raw.columns else "primary_label"
        _require(raw, data, ["filename", column])
        frame = _table_from_frame(raw, data, data.parent, column)
        return _with_labels(frame, labels, data, "the checkpoint's labels")
    raise DataError(f"{data}: neither a folder nor a CSV file")  # pragma: no cover - sockets and the like


def _with_labels(frame: pd.DataFrame, labels: Optional[list], csv_path: Path, source: str, extra=(),
                 notes=()) -> RecordingTable:
    notes = list(notes)
    if labels is None:
        labels = sorted(set(frame["primary_label"]) | set(extra))
    labels = [str(x) for x in labels]
    unknown = sorted(set(frame["primary_label"]) - set(labels))
    if unknown:
        raise DataError(f"{csv_path}: primary label(s) {unknown[:10]} are not in the label list of {source}")
    known = set(labels)
    dropped = sorted({s for sec in frame["secondary_labels"] for s in sec} - known)
    if dropped:
        notes.append(f"secondary label(s) outside the label list ignored: {dropped[:10]}")
        frame = frame.assign(secondary_labels=[[s for s in sec if s in known] for sec in frame["secondary_labels"]])
    return RecordingTable(frame=frame.reset_index(drop=True), labels=labels, source=str(csv_path), notes=notes)


def unrecorded_labels(table: RecordingTable) -> list:
    """Labels of the label list that no recording has as its primary label (in label-list order)."""
    present = set(table.frame["primary_label"])
    return [label for label in table.labels if label not in present]


def targets(table: RecordingTable, secondary_label_weight: float) -> np.ndarray:
    """(recordings, classes) float32: primary 1.0, each secondary `secondary_label_weight`."""
    index = {label: i for i, label in enumerate(table.labels)}
    y = np.zeros((len(table), len(table.labels)), dtype=np.float32)
    for row, (primary, secondary) in enumerate(zip(table.frame["primary_label"], table.frame["secondary_labels"])):
        for label in secondary:
            y[row, index[label]] = max(y[row, index[label]], secondary_label_weight)
        y[row, index[primary]] = 1.0
    return y


# ---------------------------------------------------------------------------------------------------
# ratings: filter and loss weights
# ---------------------------------------------------------------------------------------------------
def ratings(table: RecordingTable, why: str) -> np.ndarray:
    """The metadata's `rating` per recording as float; NaN where unrated (empty or 0: BirdCLEF's iNat and CSA
    recordings carry 0). A missing column or a value outside 0-5 is a DataError naming the file and row."""
    frame = table.frame
    if "rating" not in frame.columns:
        columns = [c for c in frame.columns if c not in TABLE_COLUMNS]
        raise DataError(f"{table.source}: {why} needs a `rating` column; the metadata has {columns}")
    out = np.full(len(frame), np.nan)
    for i, (text, row) in enumerate(zip(frame["rating"].astype(str), frame["row"])):
        text = text.strip()
        if text.lower() in ("", "nan", "none"):
            continue
        try:
            value = float(text)
        except ValueError:
            value = np.nan
        if not 0 <= value <= 5:
            raise DataError(f"{table.source}: row {row}: rating {text!r} is not a number in 0-5")
        out[i] = value if value > 0 else np.nan
    return out


def filter_by_rating(table: RecordingTable, cfg: DataConfig) -> tuple:
    """(table, notes): recordings rated below `min_rating` dropped; unrated ones kept unless keep_unrated is
    false. min_rating=0 keeps the table as it is."""
    if cfg.min_rating <= 0:
        return table, []
    rating = ratings(table, f"min_rating={cfg.min_rating}")
    unrated = np.isnan(rating)
    keep = np.where(unrated, cfg.keep_unrated, rating >= cfg.min_rating)
    note = (f"min_rating={cfg.min_rating}: kept {int(keep.sum())} of {len(table)} recordings "
            f"({int(unrated.sum())} unrated, {'kept' if cfg.keep_unrated else 'dropped'} by keep_unrated)")
    if not keep.any():
        raise DataError(f"{table.source}: min_rating={cfg.min_rating} keeps no recording; lower min_rating")
    return table.subset(keep), [note]


def recording_weights(table: RecordingTable, cfg: DataConfig) -> np.ndarray:
    """Per-recording loss weight float32: rating / 5 with rating_weight (unrated recordings: 1), else 1."""
    if not cfg.rating_weight:
        return np.ones(len(table), dtype=np.float32)
    rating = ratings(table, "rating_weight=true")
    return np.where(np.isnan(rating), 1.0, rating / 5.0).astype(np.float32)


__all__ = ["DataError", "RecordingTable", "read_labels", "parse_secondary", "targets", "unrecorded_labels",
           "ratings", "filter_by_rating", "recording_weights", "METADATA_NAMES", "AUDIO_FOLDERS"]
