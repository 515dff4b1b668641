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

from kit.audio import AudioCache, AudioError, audio_info, window_input_start
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
    raises (stop). Long recordings (kit.train.longrec): an item is a row of `items` (recording, window); with
    item_every_s a recording gives several items per epoch, with valid_windows a validation recording gives
    several inference windows; crop_placement / independent_crops place the crops, quiet_crop_db scales the
    target of a crop without band energy.
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
        from kit.train.longrec import plan_items

        self.items = plan_items(self.paths, config, train)
        self.profiles: dict = {}

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __getitem__(self, i: int):
        for attempt in range(min(len(self), 8)):
            k = (int(i) + attempt) % len(self)
            j, window = (int(v) for v in self.items[k])
            rng = np.random.default_rng([self.seed, self.epoch, k]) if self.train else None
            try:
                crops, valid, quiet = self._crops(j, window, rng)
                target = self.targets[j] * np.float32(self.config.data.quiet_target_scale) if quiet else self.targets[j]
                if self.train:  # the per-item augmentation steps continue the item's own random stream
                    crops, target = augment_item(crops, target, self.config.augment, rng, self.background)
                return self._features(crops, valid), valid.astype(np.int64), target, self.weights[j]
            except AudioError as exc:
                if self.config.data.bad_files == "stop":
                    raise
                warnings.warn(f"skipping unreadable audio {exc}")
                self.skipped.append(str(self.paths[j]))
        raise AudioError(self.paths[int(self.items[i][0])], "this and the following recordings could not be decoded")

    def _crops(self, j: int, window: int, rng) -> tuple:
        """(crops, valid, quiet) of recording j: window >= 0 -> that inference window alone (the other crops empty,
        valid 0); else crops placed by crop_placement (uniform, one run: kit.audio.crop_starts as always)."""
        from kit.train import longrec

        audio, data, path = self.config.audio, self.config.data, self.paths[j]
        if window >= 0:
            crops, valid = self.cache.crops(path, audio, None, starts=[window_input_start(window, audio)])
            out = np.zeros((audio.crops_per_recording, audio.crop_samples), dtype=np.float32)
            out[0], counts = crops[0], np.zeros(audio.crops_per_recording, dtype=np.int64)
            counts[0] = valid[0]
            return out, counts, False
        starts = None
        if self.train and (data.crop_placement != "uniform" or data.independent_crops):
            n_samples = longrec.recording_samples(path, audio.sample_rate_hz)
            profile = self._profile(j) if data.crop_placement == "energy" else None
            starts = longrec.training_starts(n_samples, profile, audio, data, rng)
        crops, valid = self.cache.crops(path, audio, rng, starts)
        quiet = self.train and data.quiet_crop_db > 0 and longrec.is_quiet(crops, valid, self._profile(j),
                                                                            data.quiet_crop_db)
        return crops, valid, quiet

    def _profile(self, j: int):
        """Recording j's band-energy profile (kit.train.longrec), computed once from the decoded recording."""
        if j not in self.profiles:
            from kit.train.longrec import profile_of

            rate = self.config.audio.sample_rate_hz
            self.profiles[j] = profile_of(self.cache.recording(self.paths[j], rate), rate)
        return self.profiles[j]

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
