"""Training data: bad-file checks and the crops dataset. The recording table (reading any BirdCLEF year's
layout or a `filename,label` CSV, targets, ratings) lives in kit.train.labels, the seeded stratified or
grouped split in kit.train.splits; their names are re-exported here.

The dataset yields, per recording, `crops_per_recording` consecutive crops with that recording's target and
loss weight. The crops are NOT flattened into separate samples: the model classifies them and pools them
into one row per recording (kit.models), which is what the loss sees. Flattening crops of one recording broke
learning in the origin log.
"""
from __future__ import annotations

import warnings

import numpy as np

from kit.audio import AudioCache, AudioError, audio_info
from kit.config import Config
from kit.train.augment import augment_item
from kit.train.labels import DataError, RecordingTable, parse_secondary, read_labels, recording_weights, targets
from kit.train.splits import split_table
from kit.utils import progress


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
    return table.subset(~table.frame["path"].isin([p for p, _ in bad])), bad


# ---------------------------------------------------------------------------------------------------
# dataset
# ---------------------------------------------------------------------------------------------------
class RecordingDataset:
    """Item i -> (crops float32 (K, L) or features (K, C, H, T), valid int64 (K,), target float32 (classes,),
    loss weight float32 (1 unless data.rating_weight)).

    train=True: crops at a random offset from np.random.default_rng([seed, epoch, index]) — the same for any
    num_workers; call set_epoch(e) before each epoch. train=False: deterministic crops from the start.
    A file that fails to decode is skipped (bad_files=skip: warning, the next recording takes its place) or
    raises (stop).
    """

    def __init__(self, table: RecordingTable, index, config: Config, train: bool, seed: int = 0, background=None):
        self.paths = table.frame["path"].to_numpy()[np.asarray(index, dtype=np.int64)]
        self.targets = targets(table, config.data.secondary_label_weight)[np.asarray(index, dtype=np.int64)]
        self.weights = recording_weights(table, config.data)[np.asarray(index, dtype=np.int64)]
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
                return self._features(crops, valid), valid.astype(np.int64), target, self.weights[j]
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
