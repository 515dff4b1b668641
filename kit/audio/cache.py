"""Decoded recordings kept in memory across epochs (training): decoding an OGG costs more than a small CNN's
step on the CPU, and every epoch reads every recording again. Files are cached whole, up to a byte budget;
beyond it, and for recordings longer than MAX_CACHED_S (soundscapes, hour-long field recordings: decoding them
whole for one crop costs more than seeking), they are read from disk as before (seeking the crops' part only).
Crops cut from a cached recording are the same samples as crops read from the file (tests/test_recipe.py)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from kit.audio.crops import load_crops, split_crops
from kit.audio.io import audio_info, load_audio


MAX_CACHED_S = 120.0


class AudioCache:
    def __init__(self, budget_mb: float):
        self.budget_bytes, self.used_bytes = int(budget_mb * 2 ** 20), 0
        self.samples: dict = {}

    def recording(self, path, sample_rate_hz: int) -> np.ndarray:
        """The whole decoded recording, kept when it fits the budget, whatever its length: pseudo-labelled
        windows (kit.train.pseudo) draw many windows of one soundscape, so reading it once pays."""
        key = str(path)
        if key in self.samples:
            return self.samples[key]
        x = load_audio(path, sample_rate_hz)
        if self.used_bytes + x.nbytes <= self.budget_bytes:
            self.samples[key], self.used_bytes = x, self.used_bytes + x.nbytes
        return x

    def crops(self, path, cfg, rng: Optional[np.random.Generator] = None, starts=None) -> tuple:
        """load_crops(path, cfg, rng, starts), from memory when the whole recording is (or now fits) in the cache."""
        key = str(path)
        x = self.samples.get(key)
        if x is None and self.budget_bytes > self.used_bytes:
            frames, file_hz, _ = audio_info(path)
            need = 4 * int(frames * cfg.sample_rate_hz / file_hz + 1)
            if frames <= MAX_CACHED_S * file_hz and self.used_bytes + need <= self.budget_bytes:
                x = load_audio(path, cfg.sample_rate_hz)
                self.samples[key], self.used_bytes = x, self.used_bytes + x.nbytes
        if x is None:
            return load_crops(path, cfg, rng, starts)
        return split_crops(x, cfg, rng, starts)


__all__ = ["AudioCache"]
