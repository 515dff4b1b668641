"""Audio I/O, padding, training crops and soundscape windows — pure functions on numpy arrays.

One idea serves training and inference alike: a recording of N samples is *extended* past its end by the
pad mode (wrap: loop it; constant: zeros; reflect: numpy's reflect; mirror: the reversed copy appended, i.e.
numpy's symmetric), and every crop or window is a slice [start, start + length) of that extension. A
training crop and an inference window with the same start are therefore the same samples by construction.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from kit.config import AudioConfig, PAD_MODES


class AudioError(ValueError):
    """An audio file is missing, unreadable, empty or holds invalid samples; the message names the file."""

    def __init__(self, path, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


# ---------------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------------
def _check_file(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise AudioError(path, "file not found")
    if path.is_dir():
        raise AudioError(path, "is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(path, "file is empty (0 bytes)")
    return path


def audio_info(path) -> tuple:
    """(frames, sample_rate_hz, channels) from the file header, with a clear error if unreadable."""
    import soundfile as sf

    path = _check_file(path)
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError / TypeError
        raise AudioError(path, f"not a readable audio file ({type(exc).__name__}: {exc})") from exc
    return int(info.frames), int(info.samplerate), int(info.channels)


def _to_mono(data: np.ndarray) -> np.ndarray:
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 2 and data.shape[1] == 1:
        return data[:, 0]  # mono: no averaging pass (the mean of one value is that value)
    return data.mean(axis=1, dtype=np.float32) if data.ndim == 2 else data


def _check_samples(path, x: np.ndarray) -> np.ndarray:
    if x.size == 0:
        raise AudioError(path, "has 0 samples")
    if not np.isfinite(x).all():
        raise AudioError(path, f"contains {int((~np.isfinite(x)).sum())} NaN or Inf samples")
    return x


def resample(x: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    if from_hz == to_hz:
        return x
    import torch
    import torchaudio.functional as AF

    return AF.resample(torch.from_numpy(np.ascontiguousarray(x)), from_hz, to_hz).numpy().astype(np.float32)


def load_audio(path, sample_rate_hz: int, start_s: float = 0.0, duration_s: Optional[float] = None) -> np.ndarray:
    """Mono float32 samples at `sample_rate_hz` (any channel count averaged, resampled when needed).

    `start_s`/`duration_s` read only that part when the file's rate already matches (seekable formats).
    Raises AudioError naming the file for missing / unreadable / empty / 0-sample / NaN-or-Inf content.
    """
    import soundfile as sf

    frames, file_hz, _ = audio_info(path)
    partial = file_hz == sample_rate_hz and (start_s > 0 or duration_s is not None)
    try:
        if partial:
            start = int(round(start_s * file_hz))
            stop = None if duration_s is None else start + int(round(duration_s * file_hz))
            data, _ = sf.read(str(path), start=start, stop=stop, dtype="float32", always_2d=True)
        else:
            data, _ = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(path, f"cannot decode audio ({type(exc).__name__}: {exc})") from exc
    x = _check_samples(path, _to_mono(data))
    x = resample(x, file_hz, sample_rate_hz)
    if not partial and (start_s > 0 or duration_s is not None):
        start = int(round(start_s * sample_rate_hz))
        stop = None if duration_s is None else start + int(round(duration_s * sample_rate_hz))
        x = _check_samples(path, x[start:stop])
    return x


# ---------------------------------------------------------------------------------------------------
# the padded extension of a recording
# ---------------------------------------------------------------------------------------------------
def extension_index(index: np.ndarray, n_samples: int, mode: str) -> np.ndarray:
    """Map indices >= 0 of the extended signal to source indices in [0, n); -1 means a zero sample."""
    if mode not in PAD_MODES:
        raise ValueError(f"pad mode {mode!r} is not one of {PAD_MODES}")
    index = np.asarray(index, dtype=np.int64)
    if n_samples <= 0:
        return np.full(index.shape, -1, dtype=np.int64)
    if mode == "constant":
        return np.where(index < n_samples, index, -1)
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
    return np.clip(n_samples - np.asarray(starts, dtype=np.int64), 0, length)


# ---------------------------------------------------------------------------------------------------
# training crops
# ---------------------------------------------------------------------------------------------------
def crop_starts(n_samples: int, cfg: AudioConfig, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Start samples of the `melspecs_per_audio` consecutive crops of one recording.

    Deterministic (rng=None, validation/inference): crops start at 0, L, 2L, ... — the same samples as the
    soundscape windows when crop_s == window_s. Training (rng given): one random offset in
    [0, n - K*L] for the whole run of K crops, so crops stay consecutive.
    """
    span = cfg.melspecs_per_audio * cfg.crop_samples
    offset = 0
    if rng is not None and n_samples > span:
        offset = int(rng.integers(0, n_samples - span + 1))
    return offset + cfg.crop_samples * np.arange(cfg.melspecs_per_audio, dtype=np.int64)


def split_crops(x: np.ndarray, cfg: AudioConfig, rng: Optional[np.random.Generator] = None) -> tuple:
    """(crops float32 (K, L), valid_samples int64 (K,)) from one whole recording."""
    starts = crop_starts(len(x), cfg, rng)
    mode = waveform_pad_mode(cfg)
    crops = np.stack([segment(x, int(s), cfg.crop_samples, mode) for s in starts])
    return crops, valid_samples(starts, cfg.crop_samples, len(x))


def load_crops(path, cfg: AudioConfig, rng: Optional[np.random.Generator] = None) -> tuple:
    """Crops of a file, reading only the part the crops need when the file is long enough (seekable)."""
    frames, file_hz, _ = audio_info(path)
    span = cfg.melspecs_per_audio * cfg.crop_samples
    if file_hz == cfg.sample_rate_hz and frames > span:
        starts = crop_starts(frames, cfg, rng)
        part = load_audio(path, cfg.sample_rate_hz, start_s=starts[0] / file_hz, duration_s=span / file_hz)
        if len(part) == span:  # the header told the truth: no padding needed inside the file
            crops = part.reshape(cfg.melspecs_per_audio, cfg.crop_samples).copy()
            return crops, np.full(cfg.melspecs_per_audio, cfg.crop_samples, dtype=np.int64)
    return split_crops(load_audio(path, cfg.sample_rate_hz), cfg, rng)


# ---------------------------------------------------------------------------------------------------
# soundscape windows (inference)
# ---------------------------------------------------------------------------------------------------
def window_count(n_samples: int, cfg: AudioConfig) -> int:
    return math.ceil(n_samples / cfg.window_samples) if n_samples > 0 else 0


def window_input_start(i: int, cfg: AudioConfig) -> int:
    """Start sample of the model input for scoring window i: centred on the window, never before 0."""
    centre = i * cfg.window_samples + cfg.window_samples // 2
    return max(0, centre - cfg.crop_samples // 2) if cfg.crop_samples != cfg.window_samples else i * cfg.window_samples


@dataclass
class WindowBatch:
    """Consecutive scoring windows of one soundscape."""

    end_s: np.ndarray        # (B,) window end in seconds: the row_id suffix
    crops: np.ndarray        # (B, crop_samples) float32 model inputs
    valid: np.ndarray        # (B,) real samples in each input


def windows_from_array(x: np.ndarray, cfg: AudioConfig, batch_windows: int = 64) -> Iterator[WindowBatch]:
    """Windows of a recording already in memory."""
    n = len(x)
    mode = waveform_pad_mode(cfg)
    total = window_count(n, cfg)
    for first in range(0, total, batch_windows):
        idx = np.arange(first, min(total, first + batch_windows))
        starts = np.array([window_input_start(int(i), cfg) for i in idx], dtype=np.int64)
        crops = np.stack([segment(x, int(s), cfg.crop_samples, mode) for s in starts])
        yield WindowBatch((idx + 1) * cfg.window_s, crops, valid_samples(starts, cfg.crop_samples, n))


def iter_windows(path, cfg: AudioConfig, batch_windows: int = 64) -> Iterator[WindowBatch]:
    """Stream the windows of a long soundscape, holding about one batch of samples in memory.

    Files at another sample rate are loaded whole and resampled (documented fallback).
    """
    import soundfile as sf

    frames, file_hz, _ = audio_info(path)
    if file_hz != cfg.sample_rate_hz or frames == 0:
        yield from windows_from_array(load_audio(path, cfg.sample_rate_hz), cfg, batch_windows)
        return
    try:
        handle = sf.SoundFile(str(path))
    except Exception as exc:
        raise AudioError(path, f"not a readable audio file ({type(exc).__name__}: {exc})") from exc
    with handle:
        yield from _stream_windows(path, handle, frames, cfg, batch_windows)


def stream_history(cfg: AudioConfig) -> int:
    """Samples a streaming reader keeps from the file's start (for wrap) and before the next window (for
    reflect/mirror) to extend the tail window. A window starts before n + window/2 (crops centred on the
    window), so its extension reaches back at most crop + window/2 + 2 samples from the end, or as far into
    the head."""
    return cfg.crop_samples + cfg.window_samples // 2 + 3


def _stream_windows(path, handle, frames: int, cfg: AudioConfig, batch_windows: int) -> Iterator[WindowBatch]:
    L, mode = cfg.crop_samples, waveform_pad_mode(cfg)
    keep = stream_history(cfg)        # history kept for reflect/mirror of the tail
    head = np.zeros(0, np.float32)    # first `keep` samples, for wrap of the tail
    buf, buf_start, n_read, eof, n = np.zeros(0, np.float32), 0, 0, False, frames
    i = 0
    while i < window_count(n, cfg):
        idx = np.arange(i, min(window_count(n, cfg), i + batch_windows))
        starts = np.array([window_input_start(int(k), cfg) for k in idx], dtype=np.int64)
        need_end = int(starts[-1]) + L
        while not eof and n_read < need_end:
            try:
                block = _to_mono(handle.read(max(need_end - n_read, 1 << 16), dtype="float32", always_2d=True))
            except Exception as exc:
                raise AudioError(path, f"cannot decode audio at {n_read / cfg.sample_rate_hz:.1f} s "
                                       f"({type(exc).__name__}: {exc})") from exc
            _check_samples(path, block) if block.size else None
            if len(head) < keep:
                head = np.concatenate([head, block[: keep - len(head)]])
            buf, n_read = np.concatenate([buf, block]), n_read + len(block)
            eof = len(block) == 0 or n_read >= frames
        if eof and n_read != n:       # the header promised more (or fewer) frames than the file holds
            n = n_read
            if n == 0:
                raise AudioError(path, "has 0 samples")
            continue                  # recount windows with the true length
        crops = np.empty((len(starts), L), dtype=np.float32)  # row by row: index arrays of one window only
        for row, start in enumerate(starts.tolist()):
            crops[row] = _window_from_buffer(path, buf, buf_start, head, start, L, n, mode)
        yield WindowBatch((idx + 1) * cfg.window_s, crops, valid_samples(starts, L, n))
        i = int(idx[-1]) + 1
        if i < window_count(n, cfg):  # drop samples no later window needs
            drop = max(0, min(window_input_start(i, cfg), n) - keep - buf_start)
            buf, buf_start = buf[drop:], buf_start + drop


def _window_from_buffer(path, buf, buf_start: int, head, start: int, length: int, n: int, mode: str) -> np.ndarray:
    """Samples [start, start + length) of the extension, from the streaming buffer or the kept head."""
    local = start - buf_start
    if start + length <= n and local >= 0 and local + length <= len(buf):
        return buf[local: local + length]  # the common case: real samples already in the buffer
    src = extension_index(start + np.arange(length), n, mode)
    local = src - buf_start
    from_buf = (src >= buf_start) & (local < len(buf))
    out = np.where(from_buf, buf[np.clip(local, 0, len(buf) - 1)], head[np.clip(src, 0, len(head) - 1)])
    out[src < 0] = 0.0
    if not (from_buf | (src < 0) | (src < len(head))).all():
        raise AssertionError(f"{path}: window samples fell outside the streaming buffer")  # pragma: no cover
    return out


def soundscape_duration_s(path, sample_rate_hz: int) -> float:
    frames, file_hz, _ = audio_info(path)
    return frames / file_hz


def iter_audio_files(folder, suffixes=(".ogg", ".wav", ".flac", ".mp3")) -> list:
    """Sorted audio files of a folder (non-recursive); a missing folder gives an empty list."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes and p.is_file()
                  and not p.name.startswith("."))


__all__ = ["AudioError", "load_audio", "audio_info", "pad_to_length", "segment", "split_crops", "load_crops",
           "crop_starts", "iter_windows", "windows_from_array", "WindowBatch", "extension_index"]
