"""Background recordings for augmentation (`background_dir`): a folder of noise / no-call recordings, or the
competition's own unlabeled `train_soundscapes/`.

The folder is checked when training starts: missing, empty (no audio file) or only unreadable files raise
an error naming `background_dir`; single unreadable files are skipped with a warning and summarized in the
run's log. A draw reads `n` samples at a random offset of a random file (seeking, never the whole file); a
file shorter than `n` is looped.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from kit.audio import AUDIO_SUFFIXES, AudioError, audio_info, iter_audio_files, load_audio


class BackgroundError(ValueError):
    """background_dir cannot serve as a source of background audio; the message says why."""


class BackgroundPool:
    def __init__(self, folder, sample_rate_hz: int):
        folder = Path(folder)
        if not folder.is_dir():
            raise BackgroundError(f"background_dir={folder}: folder not found (give a folder of noise / no-call "
                                  f"recordings, e.g. the competition's train_soundscapes/)")
        paths = iter_audio_files(folder, recursive=True)
        if not paths:
            raise BackgroundError(f"background_dir={folder}: holds no audio file ({', '.join(AUDIO_SUFFIXES)})")
        self.files, self.skipped, self.sample_rate_hz = [], [], int(sample_rate_hz)
        for path in paths:
            try:
                frames, file_hz, _ = audio_info(path)
                if frames <= 0:
                    raise AudioError(path, "has 0 samples")
                self.files.append((path, int(frames * sample_rate_hz / file_hz)))
            except AudioError as exc:
                self.skipped.append(f"{exc.path}: {exc.problem}")
        if not self.files:
            raise BackgroundError(f"background_dir={folder}: none of its {len(paths)} audio files is readable, "
                                  f"e.g. {self.skipped[0]}")

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n samples of a random file at a random offset (float32)."""
        path, frames = self.files[int(rng.integers(len(self.files)))]
        start = int(rng.integers(0, max(1, frames - n + 1)))
        try:
            x = load_audio(path, self.sample_rate_hz, start_s=start / self.sample_rate_hz,
                           duration_s=min(n, frames) / self.sample_rate_hz)
        except AudioError as exc:  # a file that decoded in the header check but not here
            self.skipped.append(f"{exc.path}: {exc.problem}")
            return np.zeros(n, dtype=np.float32)
        return np.resize(x, n).astype(np.float32)


__all__ = ["BackgroundPool", "BackgroundError"]
