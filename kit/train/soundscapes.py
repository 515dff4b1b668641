"""Labelled train soundscapes (BirdCLEF+ 2026) in a training run: training windows beside the recordings, and
the validation set that looks like the test (`kit train --valid soundscapes`).

`data.soundscape_labels` (default true): where the data folder has `train_soundscapes_labels.csv`
(kit.train.soundscape_labels), every labelled 5 s window trains in every epoch beside the labelled recordings,
with loss weight `data.soundscape_weight` (a recording weighs 1). A window's input is the crop the inference
windows use (kit.audio.window_input_start: centred on the window when crop_s > window_s), from the same
decoded-audio cache, with the recordings' per-item augmentation; batch mixup mixes them like any item.

`data.valid_set=soundscapes`: the run validates on the labelled windows of `soundscape_valid_frac` of the
labelled soundscapes (whole files, seeded by split_seed; all of them by default) and trains on every recording
and the other labelled soundscapes; its valid metrics (macro ROC-AUC over the windows, padded cmAP) are the
honest score of the 2026 setting. Their unlabelled windows stay in `train_soundscapes/` for pseudo-labelling;
a pseudo-labelled window that the file labels is left out of the pseudo set (the true labels win), and so is
every pseudo window of a validation soundscape; both counted in train.log.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from kit.audio import window_crops
from kit.train.augment import augment_item
from kit.train.labels import DataError
from kit.train.pseudo import WindowDataset
from kit.train.soundscape_labels import LABELS_NAME, SoundscapeWindows, labels_csv, read_soundscape_labels


class SoundscapeDataset(WindowDataset):
    """Item i -> (features or crops, valid, target, loss weight) of labelled window i, like RecordingDataset's.
    train=True: the per-item augmentation from np.random.default_rng([seed, epoch, 4, i]); train=False: the
    window as inference sees it. `featurize(crops, valid)`: the labelled dataset's features step."""

    def __init__(self, windows: SoundscapeWindows, config, seed: int, cache, featurize, train: bool,
                 weight: float = 1.0, background=None):
        super().__init__(windows, config, seed, cache, background)
        self.featurize, self.train, self.weight = featurize, train, np.float32(weight)

    def __getitem__(self, i: int):
        crops, valid = window_crops(self.recording(i), int(self.table.windows[i]), self.config.audio)
        target = self.table.targets[i]
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, 4, i])
            crops, target = augment_item(crops, target, self.config.augment, rng, self.background)
        return self.featurize(crops, valid), valid, target, self.weight


class WithSoundscapes:
    """The training set (recordings, with or without pseudo windows) plus every labelled window each epoch."""

    def __init__(self, labelled, windows: SoundscapeDataset):
        self.labelled, self.windows = labelled, windows
        self.skipped = labelled.skipped

    def __len__(self) -> int:
        return len(self.labelled) + len(self.windows)

    def set_epoch(self, epoch: int) -> None:
        self.labelled.set_epoch(epoch)
        self.windows.set_epoch(epoch)

    def __getitem__(self, i: int):
        n = len(self.labelled)
        return self.labelled[i] if i < n else self.windows[i - n]


def recordings_of(dataset):
    """The RecordingDataset inside `dataset` (MixedDataset and WithSoundscapes wrap one as `labelled`): its
    `_features` step and its decoded-audio cache serve the windows too."""
    while not hasattr(dataset, "_features"):
        dataset = dataset.labelled
    return dataset


@dataclass
class SoundscapePlan:
    """The labelled soundscape windows of a run: `train` windows and `valid` windows (None: not used)."""

    train: Optional[SoundscapeWindows] = None
    valid: Optional[SoundscapeWindows] = None

    def exclude_from_pseudo(self, table, log):
        """The PseudoTable without the windows the file labels and without the validation soundscapes."""
        key = lambda p: os.path.normpath(os.path.abspath(str(p)))  # noqa: E731
        labelled = set()
        for part in (self.train, self.valid):
            if part is not None:
                labelled.update(zip(map(key, part.paths), part.windows.tolist()))
        held = {key(p) for p in self.valid.files()} if self.valid is not None else set()
        paths = [key(p) for p in table.paths]
        on_valid = np.array([p in held for p in paths], dtype=bool)
        on_labelled = np.array([(p, int(w)) in labelled for p, w in zip(paths, table.windows)], dtype=bool) & ~on_valid
        if not (on_valid | on_labelled).any():
            return table
        keep = ~(on_valid | on_labelled)
        log(f"pseudo labels: left out {int(on_labelled.sum())} window(s) that {LABELS_NAME} labels and "
            f"{int(on_valid.sum())} window(s) of the validation soundscapes; {int(keep.sum())} kept")
        return type(table)(table.paths[keep], table.windows[keep], table.targets[keep], list(table.notes), table.source)

    def attach(self, train_set, valid_set, config, background=None) -> tuple:
        """(training set with the train windows, validation set: the valid windows when there are some)."""
        recordings = recordings_of(train_set)
        featurize, cache = recordings._features, recordings.cache
        if self.train is not None and len(self.train):
            windows = SoundscapeDataset(self.train, config, config.train.seed, cache, featurize, True,
                                        config.data.soundscape_weight, background)
            train_set = WithSoundscapes(train_set, windows)
        if self.valid is not None:
            valid_set = SoundscapeDataset(self.valid, config, config.train.seed, cache, featurize, False)
        return train_set, valid_set


def _split_files(windows: SoundscapeWindows, frac: float, seed: int) -> tuple:
    """(train windows, valid windows): `frac` of the soundscapes (whole files, at least one) validate."""
    files = windows.files()
    n_valid = int(np.clip(round(frac * len(files)), 1, len(files)))
    held = {files[j] for j in np.random.default_rng([seed, 26]).permutation(len(files))[:n_valid]}
    on_valid = np.array([p in held for p in windows.paths.tolist()], dtype=bool)
    return windows.subset(~on_valid), windows.subset(on_valid)


def plan_soundscapes(config, data, table, log, fold=None) -> SoundscapePlan:
    """Which labelled soundscape windows of the folder `data` train and validate for a run on the recording
    `table` (module docstring), said in train.log."""
    from kit.train.labels import unrecorded_labels

    d, labels = config.data, table.labels
    csv = labels_csv(data)
    if d.valid_set == "soundscapes" and fold is not None:
        raise DataError("valid_set=soundscapes with --folds: the folds validate on their recordings; train the "
                        "folds with valid_set=split")
    if csv is None:
        if d.valid_set == "soundscapes":
            raise DataError(f"{data}: valid_set=soundscapes (--valid soundscapes) needs {LABELS_NAME} in the "
                            f"competition folder (BirdCLEF+ 2026); there is none: use --valid split")
        return SoundscapePlan()
    if not d.soundscape_labels and d.valid_set != "soundscapes":
        log(f"note: {csv} not used (soundscape_labels=false)")
        return SoundscapePlan()
    windows = read_soundscape_labels(csv, labels, config.audio)
    log(f"soundscape labels: {windows.describe()}")
    if not len(windows):
        if d.valid_set == "soundscapes":
            raise DataError(f"{csv}: holds no labelled window to validate on: use --valid split")
        return SoundscapePlan()
    positive = windows.targets.any(axis=0)
    only_there = [lab for lab in unrecorded_labels(table) if positive[labels.index(lab)]]
    log(f"soundscape labels: {int(positive.sum())} of {len(labels)} label(s) have positives in them, "
        f"{len(only_there)} of them no training recording: {only_there[:20]}")
    if d.valid_set != "soundscapes":
        log(f"soundscape labels: {len(windows)} windows train beside the recordings (weight {d.soundscape_weight:g})")
        return SoundscapePlan(train=windows)
    train_part, valid_part = _split_files(windows, d.soundscape_valid_frac, d.split_seed)
    if not d.soundscape_labels:
        train_part = None
    log(f"soundscape labels: validating on {len(valid_part)} windows of {len(valid_part.files())} soundscapes; "
        f"{len(train_part) if train_part is not None else 0} windows of the others train; every recording trains")
    return SoundscapePlan(train=train_part, valid=valid_part)


__all__ = ["SoundscapeDataset", "WithSoundscapes", "SoundscapePlan", "plan_soundscapes",
           "recordings_of"]
