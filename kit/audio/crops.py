"""The padded extension of a recording, and training crops as slices of it — pure functions on numpy arrays.

A recording of N samples is *extended* past its end by the pad mode (wrap: loop it; constant: zeros;
reflect: numpy's reflect; mirror: the reversed copy appended, i.e. numpy's symmetric), and every crop or
window is a slice [start, start + length) of that extension. A training crop and an inference window with
the same start are therefore the same samples by construction.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from kit.audio.io import audio_info, load_audio
from kit.config import PAD_MODES, AudioConfig


def extension_index(index: np.ndarray, n_samples: int, mode: str) -> np.ndarray:
    """Map indices of the extended signal to source indices in [0, n); -1 means a zero sample. Negative
    indices (a short recording placed after some padding) extend the recording to the left the same way."""
    if mode not in PAD_MODES:
        raise ValueError(f"pad mode {mode!r} is not one of {PAD_MODES}")
    index = np.asarray(index, dtype=np.int64)
    if n_samples <= 0:
        return np.full(index.shape, -1, dtype=np.int64)
    if mode == "constant":
        return np.where((index >= 0) & (index < n_samples), index, -1)
    if mode == "wrap" or n_samples == 1:
        return index % n_samples
    if mode == "reflect":  # ... x[n-2], x[n-3] ... (edge not repeated), period 2n-2
        period = 2 * n_samples - 2
        m = index % period
        return np.where(m < n_samples, m, period - m)
    period = 2 * n_samples  # mirror: the reversed copy appended, x[n-1], x[n-2] ... (numpy "symmetric")
    m = index % period
    return np.where(m < n_samples, m, period - 1 - m)


def _gather(x: np.ndarray, src: np.ndarray) -> np.ndarray:
    if x.size == 0:
        return np.zeros(src.shape, dtype=np.float32)
    out = x[np.clip(src, 0, None)]
    out[src < 0] = 0.0
    return out.astype(np.float32, copy=False)


def pad_to_length(x: np.ndarray, length: int, mode: str) -> np.ndarray:
    """First `length` samples of the extension of `x` (truncates when x is longer)."""
    return segment(x, 0, length, mode)


def segment(x: np.ndarray, start: int, length: int, mode: str) -> np.ndarray:
    """Samples [start, start + length) of the extension of the whole recording `x`."""
    return _gather(np.asarray(x, dtype=np.float32), extension_index(np.arange(start, start + length), len(x), mode))


def waveform_pad_mode(cfg: AudioConfig) -> str:
    """Mirroring placed on the spectrogram pads the waveform with zeros; the features mirror frames."""
    return "constant" if cfg.mirror_placement == "spectrogram" else cfg.pad_mode


def valid_samples(starts, length: int, n_samples: int) -> np.ndarray:
    """How many real (not padded) samples each crop starting at `starts` holds."""
    starts = np.asarray(starts, dtype=np.int64)
    return np.clip(np.minimum(starts + length, n_samples) - np.maximum(starts, 0), 0, length)


# ---------------------------------------------------------------------------------------------------
# training crops
# ---------------------------------------------------------------------------------------------------
def crop_starts(n_samples: int, cfg: AudioConfig, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Start samples of the `crops_per_recording` consecutive crops of one recording.

    Deterministic (rng=None, validation/inference): crops start at 0, L, 2L, ... — the same samples as the
    soundscape windows when crop_s == window_s. Training (rng given): one random offset in
    [0, n - K*L] for the whole run of K crops, so crops stay consecutive. A recording shorter than the K*L
    samples is placed at a random offset inside them (`short_placement=random`: the crops start at a
    negative offset in [-(K*L - n), 0], padding before and after it by the pad mode — silence for
    `constant`), so a short call is never always at the start; spectrogram mirroring keeps it at 0.
    """
    span = cfg.crops_per_recording * cfg.crop_samples
    offset = 0
    if rng is not None and n_samples > span:
        offset = int(rng.integers(0, n_samples - span + 1))
    elif rng is not None and cfg.short_placement == "random" and cfg.mirror_placement != "spectrogram":
        offset = -int(rng.integers(0, span - n_samples + 1))
    return offset + cfg.crop_samples * np.arange(cfg.crops_per_recording, dtype=np.int64)


def split_crops(x: np.ndarray, cfg: AudioConfig, rng: Optional[np.random.Generator] = None,
                starts: Optional[np.ndarray] = None) -> tuple:
    """(crops float32 (K, L), valid_samples int64 (K,)) from one whole recording; `starts` (K,) places the crops
    where given (kit.train.longrec), else crop_starts(len(x), cfg, rng)."""
    starts = crop_starts(len(x), cfg, rng) if starts is None else np.asarray(starts, dtype=np.int64)
    mode = waveform_pad_mode(cfg)
    crops = np.stack([segment(x, int(s), cfg.crop_samples, mode) for s in starts])
    return crops, valid_samples(starts, cfg.crop_samples, len(x))


def load_crops(path, cfg: AudioConfig, rng: Optional[np.random.Generator] = None,
               starts: Optional[np.ndarray] = None) -> tuple:
    """Crops of a file, reading only the part the crops need when the file is long enough (seekable); `starts` as
    in split_crops (each crop read on its own when it lies inside the file)."""
    frames, file_hz, _ = audio_info(path)
    if starts is not None:
        return _load_crops_at(path, cfg, np.asarray(starts, dtype=np.int64), frames, file_hz)
    span = cfg.crops_per_recording * cfg.crop_samples
    if file_hz == cfg.sample_rate_hz and frames > span:
        starts = crop_starts(frames, cfg, rng)
        part = load_audio(path, cfg.sample_rate_hz, start_s=starts[0] / file_hz, duration_s=span / file_hz)
        if len(part) == span:  # the header told the truth: no padding needed inside the file
            crops = part.reshape(cfg.crops_per_recording, cfg.crop_samples).copy()
            return crops, np.full(cfg.crops_per_recording, cfg.crop_samples, dtype=np.int64)
    return split_crops(load_audio(path, cfg.sample_rate_hz), cfg, rng)


def _load_crops_at(path, cfg: AudioConfig, starts: np.ndarray, frames: int, file_hz: int) -> tuple:
    L = cfg.crop_samples
    if file_hz == cfg.sample_rate_hz and starts.min() >= 0 and starts.max() + L <= frames:
        parts = [load_audio(path, file_hz, start_s=s / file_hz, duration_s=L / file_hz) for s in starts]
        if all(len(part) == L for part in parts):  # the header told the truth
            return np.stack(parts), np.full(len(starts), L, dtype=np.int64)
    return split_crops(load_audio(path, cfg.sample_rate_hz), cfg, starts=starts)


__all__ = ["extension_index", "segment", "pad_to_length", "waveform_pad_mode", "valid_samples", "crop_starts",
           "split_crops", "load_crops"]
