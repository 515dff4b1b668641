"""Reading audio files: mono float32 at the configured rate, partial reads, clear errors naming the file."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np


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


AUDIO_SUFFIXES = (".ogg", ".wav", ".flac", ".mp3")


def iter_audio_files(folder, suffixes=AUDIO_SUFFIXES, recursive: bool = False) -> list:
    """Sorted audio files of a folder (sub-folders too when `recursive`; hidden files skipped); a missing folder
    gives an empty list."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    paths = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in paths if p.suffix.lower() in suffixes and p.is_file() and not p.name.startswith("."))


__all__ = ["AUDIO_SUFFIXES", "AudioError", "audio_info", "load_audio", "resample", "iter_audio_files"]
