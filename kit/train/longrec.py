"""Training on long, weakly labelled focal recordings (BirdCLEF's xeno-canto / iNat train_audio): how many items a
recording gives per epoch, where its crops go, when a crop is too quiet to hold the call, and which windows of a
validation recording are scored. Config keys: the `data` section's item_every_s, max_items_per_recording,
crop_placement, independent_crops, quiet_crop_db, quiet_target_scale, valid_windows (docs/real-birds.md).

Band energy: the power of 1-10 kHz (where most birds call; wind and traffic sit below) in 1024-sample Hann frames
every 0.25 s. A recording's *profile* is that power per frame; a crop's level is the mean over its frames; a
recording's reference level is its loudest crop-length stretch. Energy placement draws a crop offset on the
0.25 s grid with probability proportional to the level of the crop(s) it starts (plus a uniform jitter inside
the grid step). Nothing here runs at inference: validation windows are the inference windows
(kit.audio.window_input_start), and with the defaults (uniform, one item per recording, quiet_crop_db 0) the
crops and their random draws are those of kit.audio.crop_starts, unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kit.audio import audio_info, window_count

BAND_HZ = (1000.0, 10000.0)
N_FFT = 1024
HOP_S = 0.25


def band_power(x: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Mean 1-10 kHz power per 1024-sample Hann frame, one frame every 0.25 s (frames inside x; one frame, zero
    padded, when x is shorter than a frame)."""
    hop = int(round(HOP_S * sample_rate_hz))
    x = np.asarray(x, dtype=np.float32)
    if len(x) < N_FFT:
        x = np.pad(x, (0, N_FFT - len(x)))
    starts = np.arange(0, len(x) - N_FFT + 1, hop)
    frames = x[starts[:, None] + np.arange(N_FFT)] * np.hanning(N_FFT).astype(np.float32)
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / sample_rate_hz)
    band = (freqs >= BAND_HZ[0]) & (freqs <= min(BAND_HZ[1], sample_rate_hz / 2))
    spectrum = np.abs(np.fft.rfft(frames, axis=1)[:, band]) ** 2
    return spectrum.mean(axis=1).astype(np.float64)


@dataclass
class Profile:
    """A recording's band power per 0.25 s frame and its length in samples."""

    power: np.ndarray
    n_samples: int
    sample_rate_hz: int

    def hop(self) -> int:
        return int(round(HOP_S * self.sample_rate_hz))

    def levels(self, span: int) -> np.ndarray:
        """Mean band power of the crop of `span` samples starting at each grid offset g * hop that fits."""
        hop = self.hop()
        per_crop = max(1, (span - N_FFT) // hop + 1)
        last = (self.n_samples - span) // hop
        if last < 0 or len(self.power) < per_crop:
            return np.array([self.power.mean()])
        sums = np.concatenate([[0.0], np.cumsum(self.power)])
        g = np.arange(min(last, len(self.power) - per_crop) + 1)
        return (sums[g + per_crop] - sums[g]) / per_crop

    def reference(self, span: int) -> float:
        """The loudest crop-length stretch's level."""
        return float(self.levels(span).max())


def profile_of(x: np.ndarray, sample_rate_hz: int) -> Profile:
    return Profile(band_power(x, sample_rate_hz), len(x), sample_rate_hz)


def recording_samples(path, sample_rate_hz: int) -> int:
    """A recording's length in samples at sample_rate_hz, from its header."""
    frames, file_hz, _ = audio_info(path)
    return int(frames * sample_rate_hz // file_hz)


def items_per_recording(durations_s: np.ndarray, item_every_s: float, most: int) -> np.ndarray:
    """Items each recording gives per epoch: round(duration / item_every_s) within [1, most]; 1 when item_every_s
    is 0."""
    durations_s = np.asarray(durations_s, dtype=np.float64)
    if item_every_s <= 0:
        return np.ones(len(durations_s), dtype=np.int64)
    return np.clip(np.round(durations_s / item_every_s), 1, most).astype(np.int64)


def validation_windows(n_samples: int, audio, most: int) -> np.ndarray:
    """Up to `most` inference-window indices of a recording, evenly spread from its first to its last window."""
    total = window_count(n_samples, audio)
    if total <= most:
        return np.arange(total, dtype=np.int64)
    return np.unique(np.round(np.linspace(0, total - 1, most)).astype(np.int64))


def plan_items(paths, config, train: bool) -> np.ndarray:
    """(items, 2) int64 rows (recording index, window): window -1 = training/validation crops as configured, >= 0
    = that inference window (validation with valid_windows). The defaults give one (j, -1) row per recording."""
    data, audio = config.data, config.audio
    if train and data.item_every_s > 0:
        seconds = [recording_samples(p, audio.sample_rate_hz) / audio.sample_rate_hz for p in paths]
        counts = items_per_recording(np.asarray(seconds), data.item_every_s, data.max_items_per_recording)
        return np.stack([np.repeat(np.arange(len(paths)), counts), np.full(counts.sum(), -1)], axis=1)
    if not train and data.valid_windows > 0:
        rows = [(j, int(w)) for j, p in enumerate(paths)
                for w in validation_windows(recording_samples(p, audio.sample_rate_hz), audio, data.valid_windows)]
        return np.asarray(rows, dtype=np.int64).reshape(-1, 2)
    return np.stack([np.arange(len(paths)), np.full(len(paths), -1)], axis=1).astype(np.int64)


def energy_offsets(profile: Profile, span: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` crop offsets in [0, n - span], drawn in proportion to the level of the crop each starts."""
    levels = profile.levels(span)
    hop = profile.hop()
    p = levels / levels.sum() if levels.sum() > 0 else np.full(len(levels), 1.0 / len(levels))
    grid = rng.choice(len(levels), size=count, p=p)
    room = profile.n_samples - span
    jitter = rng.integers(0, hop, size=count)
    return np.clip(grid * hop + jitter, 0, room).astype(np.int64)


def training_starts(n_samples: int, profile, audio, data, rng: np.random.Generator):
    """Crop starts (K,) for one training item, or None for kit.audio.crop_starts' own draw (uniform placement of
    one run of crops, and recordings not longer than the crops: short_placement)."""
    K, L = audio.crops_per_recording, audio.crop_samples
    span = L if data.independent_crops else K * L
    if n_samples <= span or (data.crop_placement == "uniform" and not data.independent_crops):
        return None
    runs = K if data.independent_crops else 1
    if data.crop_placement == "start":
        return L * np.arange(K, dtype=np.int64)
    if data.crop_placement == "energy":
        offsets = energy_offsets(profile, span, runs, rng)
    else:
        offsets = rng.integers(0, n_samples - span + 1, size=runs).astype(np.int64)
    if data.independent_crops:
        return offsets
    return offsets[0] + L * np.arange(K, dtype=np.int64)


def is_quiet(crops: np.ndarray, valid: np.ndarray, profile: Profile, quiet_db: float) -> bool:
    """True when every real crop is more than quiet_db below the recording's loudest crop-length stretch (a
    recording no longer than a crop is never quiet: the crop holds all of it)."""
    L = crops.shape[1]
    if profile.n_samples <= L or not valid.any():
        return False
    reference = profile.reference(L)
    levels = [band_power(c, profile.sample_rate_hz).mean() for c, v in zip(crops, valid) if v > 0]
    return bool(reference > 0 and 10 * np.log10(max(max(levels), 1e-30) / reference) < -quiet_db)


__all__ = ["band_power", "Profile", "profile_of", "recording_samples", "items_per_recording", "validation_windows",
           "plan_items", "energy_offsets", "training_starts", "is_quiet"]
