"""Training on pseudo-labelled windows (`kit train --pseudo pseudo.csv`): soft targets for windows of unlabeled
soundscapes (or of training clips, for distillation), mixed with the labelled recordings.

Each epoch draws round(pseudo_ratio x labelled recordings) of the pseudo-labelled windows (seeded by (seed,
epoch); all of them when there are fewer) and shuffles them with the labelled recordings, so batch mixup
mixes soundscape windows into clips as the 2025 winner did (the default pseudo_ratio=0.5: up to a third of
each epoch; 1 was the default before and cost top-1 on the esc50 proxies, docs/pseudo-labels.md). A window's
training input is the crop kit's windows use (centred on the window when crop_s > window_s), from the same
decoded-audio cache; its target is the CSV's soft labels, unchanged (the tests check they reach the loss).

Checks when the file is read (errors name the file, the row or the label): the provenance line and its
label columns (kit.softlabels); labels the training data does not have (refused: they belong to another
label list); a label order other than the training one (aligned by name: the documented fallback);
training labels the file lacks (target 0, noted); NaN (except the empty cells of the labels a foreign
teacher could not map, listed as `masked`: kept as NaN, no signal) or probabilities outside [0, 1]; duplicated windows;
recordings that no longer exist; windows past a recording's end; a window length other than the run's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.audio import WindowRowError, input_offset_bounds, window_crops, window_rows
from kit.softlabels import PseudoLabelError, read_soft_labels
from kit.train.augment import augment_item


@dataclass
class PseudoTable:
    paths: np.ndarray            # (N,) absolute recording paths
    windows: np.ndarray          # (N,) window index in its recording
    targets: np.ndarray          # (N, labels) float32 soft targets in the training label order
    notes: list = field(default_factory=list)
    source: str = ""

    def __len__(self) -> int:
        return len(self.paths)


def read_pseudo(csv, labels: list, config) -> PseudoTable:
    """The pseudo-label CSV as a PseudoTable for a run with `labels` and `config` (see the module docstring)."""
    csv = Path(csv)
    provenance, frame = read_soft_labels(csv)
    columns, notes = [str(c) for c in frame.columns[2:]], []
    unknown = [c for c in columns if c not in labels]
    if unknown:
        raise PseudoLabelError(f"{csv}: label(s) {unknown[:10]} are not in the training label list; pseudo "
                               f"labels must come from checkpoints trained on the same labels")
    if columns != [lab for lab in labels if lab in columns]:
        notes.append(f"{csv}: label columns in another order than the training labels: aligned by name")
    missing = [lab for lab in labels if lab not in columns]
    if missing:
        notes.append(f"{csv}: {len(missing)} training label(s) not in the file get target 0: {missing[:10]}")
    if float(provenance.get("window_s", config.audio.window_s)) != config.audio.window_s:
        raise PseudoLabelError(f"{csv}: made with window_s={provenance.get('window_s')}, this run has window_s="
                               f"{config.audio.window_s}: pseudo-label again with this run's window")
    values = frame[columns].to_numpy(dtype=np.float64)
    # a foreign teacher's unmatched labels (provenance "masked") are empty: NaN = no signal, masked in the loss
    masked = np.isin(columns, [str(c) for c in provenance.get("masked") or []])
    bad = (~np.isfinite(values) & ~(np.isnan(values) & masked)) | (values < 0) | (values > 1)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise PseudoLabelError(f"{csv}: row {row + 3}, label {columns[col]!r}: {values[row, col]!r} is not a "
                               f"probability in [0, 1]")
    duplicated = frame.duplicated(["filename", "end_s"])
    if duplicated.any():
        raise PseudoLabelError(f"{csv}: row {int(np.flatnonzero(duplicated)[0]) + 3}: window "
                               f"{frame['filename'][duplicated].iloc[0]} @ {frame['end_s'][duplicated].iloc[0]} s "
                               f"is listed twice")
    paths, windows = _resolve_windows(csv, provenance, frame, config.audio)
    targets = np.zeros((len(frame), len(labels)), dtype=np.float32)
    targets[:, [labels.index(c) for c in columns]] = values
    return PseudoTable(paths, windows, targets, notes, str(csv))


def _resolve_windows(csv: Path, provenance: dict, frame, audio) -> tuple:
    """(absolute paths, window indices), checking every recording exists and holds its windows."""
    root = Path(provenance.get("root") or csv.parent)
    try:  # rows numbered as in the file: line 1 the provenance, line 2 the header
        return window_rows(root, frame["filename"], frame["end_s"], audio, first_row=3)
    except WindowRowError as exc:
        where = f" (the soundscapes must stay where they were pseudo-labelled: {root})" if exc.missing else ""
        raise PseudoLabelError(f"{csv}: {exc}{where}") from exc


class WindowDataset:
    """A dataset of windows of recordings (a table with paths, windows and targets), read through the run's
    decoded-audio cache; set_epoch(e) before each epoch seeds the items' random streams."""

    def __init__(self, table, config, seed: int, cache, background=None):
        self.table, self.config, self.seed, self.cache, self.background = table, config, int(seed), cache, background
        self.epoch, self.skipped = 0, []

    def __len__(self) -> int:
        return len(self.table)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def recording(self, i: int) -> np.ndarray:
        return self.cache.recording(self.table.paths[i], self.config.audio.sample_rate_hz)


class PseudoDataset(WindowDataset):
    """Item i -> (crops (K, L), valid (K,), soft target, loss weight 1) of pseudo-labelled window i, like
    RecordingDataset's items: one real crop, then K - 1 empty ones (valid 0, left out of the pooling) when
    crops_per_recording > 1."""

    def __getitem__(self, i: int):
        x = self.recording(i)
        crops, valid = window_crops(x, int(self.table.windows[i]), self.config.audio, self._jitter(i, len(x)))
        rng = np.random.default_rng([self.seed, self.epoch, 1, i])
        crops, target = augment_item(crops, self.table.targets[i], self.config.augment, rng, self.background)
        return crops, valid, target, np.float32(1.0)

    def _jitter(self, i: int, n_samples: int) -> int:
        """pseudo_jitter_s: a seeded shift in samples (its own generator: 0 leaves every other draw as it was),
        kept inside the recording where the recording is long enough."""
        audio = self.config.audio
        most = int(round(self.config.pseudo.pseudo_jitter_s * audio.sample_rate_hz))
        if most == 0:
            return 0
        low, high = input_offset_bounds(int(self.table.windows[i]), n_samples, audio)
        return int(np.random.default_rng([self.seed, self.epoch, 3, i]).integers(max(-most, low), min(most, high) + 1))


class MixedDataset:
    """The labelled recordings plus, each epoch, a seeded draw of `per_epoch` pseudo-labelled windows."""

    def __init__(self, labelled, pseudo: PseudoDataset, ratio: float, seed: int):
        self.labelled, self.pseudo, self.seed = labelled, pseudo, int(seed)
        self.per_epoch = min(len(pseudo), int(round(ratio * len(labelled))))
        self.chosen = np.arange(self.per_epoch)
        self.skipped = labelled.skipped

    def __len__(self) -> int:
        return len(self.labelled) + self.per_epoch

    def set_epoch(self, epoch: int) -> None:
        self.labelled.set_epoch(epoch)
        self.pseudo.set_epoch(epoch)
        rng = np.random.default_rng([self.seed, epoch, 2])
        self.chosen = np.sort(rng.choice(len(self.pseudo), self.per_epoch, replace=False))

    def __getitem__(self, i: int):
        n = len(self.labelled)
        if i < n:
            return self.labelled[i]
        crops, valid, target, weight = self.pseudo[int(self.chosen[i - n])]
        return self.labelled._features(crops, valid), valid, target, weight


__all__ = ["PseudoTable", "read_pseudo", "PseudoDataset", "MixedDataset", "PseudoLabelError"]
