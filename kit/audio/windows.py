"""Soundscape windows for inference: the same slices of the padded extension as the training crops, streamed
block by block from long files (a batch of windows in memory, never the whole soundscape)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from kit.audio.crops import extension_index, segment, valid_samples, waveform_pad_mode
from kit.audio.io import AudioError, _check_samples, _to_mono, audio_info, load_audio
from kit.config import AudioConfig


def window_count(n_samples: int, cfg: AudioConfig) -> int:
    return math.ceil(n_samples / cfg.window_samples) if n_samples > 0 else 0


def window_input_start(i: int, cfg: AudioConfig) -> int:
    """Start sample of the model input for scoring window i: centred on the window, never before 0."""
    centre = i * cfg.window_samples + cfg.window_samples // 2
    return max(0, centre - cfg.crop_samples // 2) if cfg.crop_samples != cfg.window_samples else i * cfg.window_samples


def input_offset_bounds(i: int, n_samples: int, cfg: AudioConfig) -> tuple:
    """(lowest, highest) offset in samples that window i's model input may move by and stay inside a recording of
    n_samples: not before its start, not past its last whole crop (an input already past it does not move later)."""
    start = window_input_start(i, cfg)
    return -start, max(0, n_samples - cfg.crop_samples - start)


def moved_input_start(i: int, offset: int, n_samples: int, cfg: AudioConfig) -> int:
    """window_input_start(i) moved by `offset` samples, clipped to input_offset_bounds."""
    low, high = input_offset_bounds(i, n_samples, cfg)
    return window_input_start(i, cfg) + int(np.clip(offset, low, high))


def window_crops(x: np.ndarray, window: int, cfg: AudioConfig, shift_samples: int = 0) -> tuple:
    """(crops (K, L), valid (K,)) of scoring window `window` of recording x: the inference window's input (moved
    by `shift_samples`) as the first crop, then K - 1 empty ones (valid 0, left out of the pooling) when
    crops_per_recording > 1 — a labelled or pseudo-labelled window as a training item."""
    start = window_input_start(window, cfg) + int(shift_samples)
    crops = np.zeros((cfg.crops_per_recording, cfg.crop_samples), dtype=np.float32)
    crops[0] = segment(x, start, cfg.crop_samples, waveform_pad_mode(cfg))
    valid = np.zeros(cfg.crops_per_recording, dtype=np.int64)
    valid[0] = valid_samples([start], cfg.crop_samples, len(x))[0]
    return crops, valid


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


class WindowRowError(ValueError):
    """Row `row` of a table of (recording, window end) rows names no window: `problem` says why."""

    def __init__(self, row: int, problem: str, missing: bool = False):
        super().__init__(f"row {row}: {problem}")
        self.row, self.problem, self.missing = row, problem, missing


def window_rows(root, filenames, ends_s, cfg: AudioConfig, first_row: int = 0) -> tuple:
    """(paths (N,) str, window indices (N,) int64) of rows (recording name under `root`, window end in s), as
    pseudo-label CSVs and teacher-embedding files store their windows; each recording's header is read once.
    Raises WindowRowError (numbered from `first_row`) for a recording that cannot be read (missing=True) or an
    end that is not one of its windows' ends."""
    root = Path(root)
    paths, windows, counts = [], [], {}
    for row, (name, end_s) in enumerate(zip(filenames, ends_s), start=first_row):
        path = root / str(name)
        if path not in counts:
            try:
                frames, file_hz, _ = audio_info(path)
            except AudioError as exc:
                raise WindowRowError(row, f"recording {exc.path}: {exc.problem}", missing=True) from exc
            counts[path] = window_count(int(round(frames * cfg.sample_rate_hz / file_hz)), cfg)
        index = float(end_s) / cfg.window_s - 1
        if abs(index - round(index)) > 1e-6 or not 0 <= round(index) < counts[path]:
            raise WindowRowError(row, f"window ending at {end_s} s is not one of the {counts[path]} windows of "
                                      f"{path}")
        paths.append(str(path))
        windows.append(int(round(index)))
    return np.asarray(paths), np.asarray(windows, dtype=np.int64)


__all__ = ["window_count", "window_input_start", "WindowBatch", "windows_from_array", "iter_windows",
           "stream_history", "WindowRowError", "window_rows", "window_crops"]
