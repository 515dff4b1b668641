"""Training data: the recording table, multi-label targets, the seeded stratified split, and the dataset.

Two inputs are read:
  * a BirdCLEF-layout folder: `train_metadata.csv` (or `train.csv`) with `primary_label`, `secondary_labels`
    (a Python-list string such as "['a', 'b']") and `filename` relative to `train_audio/`; when
    `sample_submission.csv` is present its columns fix the label list (and its order);
  * a CSV `filename,label` (paths relative to the CSV's folder; `primary_label` and an optional
    `secondary_labels` column are accepted too).

The dataset yields, per recording, `melspecs_per_audio` consecutive crops with that recording's target. The
crops are NOT flattened into separate samples: the model classifies them and pools them into one row per
recording (kit.models), which is what the loss sees. Flattening crops of one recording broke learning in the
origin log.
"""
from __future__ import annotations

import ast
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from kit.audio import AudioCache, AudioError, audio_info
from kit.config import Config, DataConfig
from kit.train.augment import augment_item
from kit.utils import progress, read_csv_checked, resolve_inside

METADATA_NAMES = ("train_metadata.csv", "train.csv")


class DataError(ValueError):
    """The training data (folder or CSV) is missing, malformed or inconsistent; the message names the file."""


@dataclass
class RecordingTable:
    """`frame` has columns path (absolute), primary_label, secondary_labels (list of str); `labels` is the
    fixed label list (checkpoint order)."""

    frame: pd.DataFrame
    labels: list
    source: str = ""
    notes: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frame)


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


def parse_secondary(text, csv_path, row: int) -> list:
    """'[\"a\", \"b\"]' -> ['a', 'b'] with ast.literal_eval only; '' / '[]' -> []. Errors name file and row."""
    text = str(text).strip()
    if text in ("", "[]", "nan"):
        return []
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


def _table_from_frame(raw: pd.DataFrame, csv_path: Path, audio_root: Path, label_column: str) -> pd.DataFrame:
    rows = []
    for i, record in enumerate(raw.to_dict("records")):
        line = i + 2  # 1-based, after the header line
        label, name = str(record[label_column]).strip(), str(record["filename"]).strip()
        if not label or not name:
            raise DataError(f"{csv_path}: row {line}: empty {label_column!r} or 'filename'")
        try:
            path = resolve_inside(audio_root, name)
        except ValueError as exc:
            raise DataError(f"{csv_path}: row {line}: {exc}") from exc
        secondary = parse_secondary(record.get("secondary_labels", ""), csv_path, line)
        rows.append({"path": str(path), "primary_label": label,
                     "secondary_labels": [s for s in secondary if s != label]})
    frame = pd.DataFrame(rows, columns=["path", "primary_label", "secondary_labels"])
    duplicated = frame["path"].duplicated()
    if duplicated.any():
        warnings.warn(f"{csv_path}: {int(duplicated.sum())} duplicated filename row(s) dropped, e.g. "
                      f"{frame['path'][duplicated].iloc[0]}")
        frame = frame[~duplicated].reset_index(drop=True)
    return frame


def read_labels(data, labels: Optional[list] = None) -> RecordingTable:
    """RecordingTable from a BirdCLEF folder or a `filename,label` CSV. `labels` forces the label list."""
    data = Path(data)
    if data.is_dir():
        csv_path = next((data / n for n in METADATA_NAMES if (data / n).is_file()), None)
        if csv_path is None:
            raise DataError(f"{data}: no {' or '.join(METADATA_NAMES)} in this folder (BirdCLEF layout), "
                            f"or pass a filename,label CSV instead")
        raw = _read_csv(csv_path)
        _require(raw, csv_path, ["primary_label", "filename"])
        frame = _table_from_frame(raw, csv_path, data / "train_audio", "primary_label")
        sample = data / "sample_submission.csv"
        if labels is None and sample.is_file():
            from kit.formats import read_sample_labels

            labels = read_sample_labels(sample)[0]
    elif data.suffix.lower() == ".csv" or data.is_file() or not data.exists():
        raw = _read_csv(data)
        column = "label" if "label" in raw.columns else "primary_label"
        _require(raw, data, ["filename", column])
        csv_path, frame = data, _table_from_frame(raw, data, data.parent, column)
    else:  # pragma: no cover - sockets and the like
        raise DataError(f"{data}: neither a folder nor a CSV file")
    return _with_labels(frame, labels, csv_path)


def _with_labels(frame: pd.DataFrame, labels: Optional[list], csv_path: Path) -> RecordingTable:
    notes = []
    if labels is None:
        labels = sorted(frame["primary_label"].unique())
    labels = [str(x) for x in labels]
    unknown = sorted(set(frame["primary_label"]) - set(labels))
    if unknown:
        raise DataError(f"{csv_path}: primary label(s) {unknown[:10]} are not in the label list "
                        f"(sample_submission.csv columns or the checkpoint's labels)")
    known = set(labels)
    dropped = sorted({s for sec in frame["secondary_labels"] for s in sec} - known)
    if dropped:
        notes.append(f"secondary label(s) outside the label list ignored: {dropped[:10]}")
        frame = frame.assign(secondary_labels=[[s for s in sec if s in known] for sec in frame["secondary_labels"]])
    return RecordingTable(frame=frame.reset_index(drop=True), labels=labels, source=str(csv_path), notes=notes)


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
# split
# ---------------------------------------------------------------------------------------------------
def _subset(primary: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Per label, ceil(fraction * n) recordings (every label keeps at least one)."""
    keep = []
    for label in sorted(set(primary)):
        idx = np.flatnonzero(primary == label)
        keep.extend(rng.permutation(idx)[: max(1, math.ceil(fraction * len(idx)))].tolist())
    return np.sort(np.asarray(keep, dtype=np.int64))


def _stratified(index: np.ndarray, primary: np.ndarray, fraction: float, seed: int) -> tuple:
    """(kept, held) of `index`, stratified by label with scikit-learn; labels with one recording stay in kept."""
    from sklearn.model_selection import StratifiedShuffleSplit

    counts = pd.Series(primary[index]).value_counts()
    splittable = index[np.isin(primary[index], counts.index[counts >= 2])]
    singles = np.setdiff1d(index, splittable)
    n_classes = int((counts >= 2).sum())
    if n_classes == 0 or fraction <= 0:
        return np.sort(index), np.zeros(0, dtype=np.int64)
    held_n = min(max(n_classes, round(fraction * len(splittable))), len(splittable) - n_classes)
    if held_n < 1:
        return np.sort(index), np.zeros(0, dtype=np.int64)
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=int(held_n), random_state=seed)
    kept, held = next(splitter.split(np.zeros(len(splittable)), primary[splittable]))
    return np.sort(np.concatenate([splittable[kept], singles])), np.sort(splittable[held])


def split_table(table: RecordingTable, cfg: DataConfig) -> tuple:
    """(train_index, valid_index, notes): seeded by cfg.split_seed, stratified by primary label.

    data_percentage < 1 first keeps that share of each label. validate_on_train (or valid_frac=0) validates on
    a stratified `validate_train_pct` slice of the training recordings (no held-out split).
    """
    primary = table.frame["primary_label"].to_numpy()
    rng = np.random.default_rng(cfg.split_seed)
    index = _subset(primary, cfg.data_percentage, rng) if cfg.data_percentage < 1 else np.arange(len(table))
    notes = []
    counts = pd.Series(primary[index]).value_counts()
    singles = sorted(counts.index[counts == 1])
    if singles:
        notes.append(f"{len(singles)} label(s) with a single recording kept in training only: {singles[:10]}")
    if cfg.validate_on_train or cfg.valid_frac == 0:
        train_index = index
        _, valid_index = _stratified(index, primary, cfg.validate_train_pct, cfg.split_seed)
        notes.append(f"validating on {len(valid_index)} training recordings (validate_on_train)")
    else:
        train_index, valid_index = _stratified(index, primary, cfg.valid_frac, cfg.split_seed)
    return train_index, valid_index, notes


# ---------------------------------------------------------------------------------------------------
# bad files
# ---------------------------------------------------------------------------------------------------
def check_files(table: RecordingTable, mode: str) -> tuple:
    """Read every file's header. mode 'stop': raise AudioError naming the first bad file; 'skip': drop bad
    rows with a warning listing them. Returns (table, [(path, problem)])."""
    bad = []
    for path in progress(table.frame["path"], desc="check audio", total=len(table)):
        try:
            frames, _, _ = audio_info(path)
            if frames <= 0:
                raise AudioError(path, "has 0 samples")
        except AudioError as exc:
            if mode == "stop":
                raise AudioError(exc.path, f"{exc.problem} (data.bad_files=stop; set bad_files=skip to "
                                           f"train without it)") from exc
            bad.append((exc.path, exc.problem))
    if not bad:
        return table, []
    warnings.warn(f"skipping {len(bad)} bad audio file(s): " + "; ".join(f"{p}: {why}" for p, why in bad[:20]))
    keep = ~table.frame["path"].isin([p for p, _ in bad])
    frame = table.frame[keep].reset_index(drop=True)
    return RecordingTable(frame, table.labels, table.source, list(table.notes)), bad


# ---------------------------------------------------------------------------------------------------
# dataset
# ---------------------------------------------------------------------------------------------------
class RecordingDataset:
    """Item i -> (crops float32 (K, L) or features (K, C, H, T), valid int64 (K,), target float32 (classes,)).

    train=True: crops at a random offset from np.random.default_rng([seed, epoch, index]) — the same for any
    num_workers; call set_epoch(e) before each epoch. train=False: deterministic crops from the start.
    A file that fails to decode is skipped (bad_files=skip: warning, the next recording takes its place) or
    raises (stop).
    """

    def __init__(self, table: RecordingTable, index, config: Config, train: bool, seed: int = 0, background=None):
        self.paths = table.frame["path"].to_numpy()[np.asarray(index, dtype=np.int64)]
        self.targets = targets(table, config.data.secondary_label_weight)[np.asarray(index, dtype=np.int64)]
        self.config, self.train, self.seed, self.epoch = config, train, int(seed), 0
        self.background = background  # kit.train.background.BackgroundPool for augmentation (training only)
        self.cache = AudioCache(config.data.cache_audio_mb)
        self.skipped: list = []
        self._extractor = None

    def __len__(self) -> int:
        return len(self.paths)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __getitem__(self, i: int):
        for attempt in range(min(len(self), 8)):
            j = (int(i) + attempt) % len(self)
            rng = np.random.default_rng([self.seed, self.epoch, j]) if self.train else None
            try:
                crops, valid = self.cache.crops(self.paths[j], self.config.audio, rng)
                target = self.targets[j]
                if self.train:  # the per-item augmentation steps continue the item's own random stream
                    crops, target = augment_item(crops, target, self.config.augment, rng, self.background)
                return self._features(crops, valid), valid.astype(np.int64), target
            except AudioError as exc:
                if self.config.data.bad_files == "stop":
                    raise
                warnings.warn(f"skipping unreadable audio {exc}")
                self.skipped.append(str(self.paths[j]))
        raise AudioError(self.paths[i], "this and the following recordings could not be decoded")

    def _features(self, crops: np.ndarray, valid: np.ndarray):
        if self.config.model.features_in_model:
            return crops.astype(np.float32, copy=False)
        import torch

        from kit.features import FeatureExtractor

        if self._extractor is None:
            self._extractor = FeatureExtractor(self.config.audio, self.config.features)
        with torch.no_grad():
            out = self._extractor(torch.from_numpy(crops), torch.from_numpy(valid))
        return out.numpy().astype(np.float32, copy=False)


__all__ = ["DataError", "RecordingTable", "read_labels", "parse_secondary", "targets", "split_table",
           "check_files", "RecordingDataset"]
