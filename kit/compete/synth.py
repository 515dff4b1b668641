"""Procedural labelled clips: distinct synthetic "calls" over quiet noise, for demos and tests.

Every class has its own shape in time and frequency (up/down chirps, trills, harmonic stacks, pulse trains,
band-limited noise bursts, warbles, whistles, buzzes, ...). Each clip varies pitch (+-15 %), timing, number
of calls and level, seeded, so a model must learn the shape rather than one exact spectrum. Up and down
chirps share the same average spectrum on purpose: a per-clip mean log-mel cannot tell them apart.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kit.compete.competition import write_ogg
from kit.utils import atomic_write_csv


def _t(duration_s: float, sr: int) -> np.ndarray:
    return np.arange(int(duration_s * sr)) / sr


def _envelope(n: int, attack_frac: float = 0.1) -> np.ndarray:
    ramp = max(1, int(n * attack_frac))
    env = np.ones(n)
    env[:ramp] = np.linspace(0, 1, ramp)
    env[-ramp:] = np.linspace(1, 0, ramp)
    return env


def _sweep(f0: float, f1: float, duration_s: float, sr: int) -> np.ndarray:
    t = _t(duration_s, sr)
    freq = f0 * (f1 / f0) ** (t / duration_s)       # exponential sweep
    return np.sin(2 * np.pi * np.cumsum(freq) / sr) * _envelope(len(t))


def _band_noise(lo_hz: float, hi_hz: float, duration_s: float, sr: int, rng) -> np.ndarray:
    n = int(duration_s * sr)
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sr)
    spec[(freqs < lo_hz) | (freqs > hi_hz)] = 0
    x = np.fft.irfft(spec, n)
    return x / (np.abs(x).max() + 1e-12) * _envelope(n, 0.05)


def chirp_up(p, sr, rng):
    return _sweep(1500 * p, 6000 * p, rng.uniform(0.2, 0.4), sr)


def chirp_down(p, sr, rng):
    return _sweep(6000 * p, 1500 * p, rng.uniform(0.2, 0.4), sr)


def trill(p, sr, rng):
    t = _t(rng.uniform(0.6, 1.2), sr)
    am = 0.5 * (1 + np.sign(np.sin(2 * np.pi * rng.uniform(14, 20) * t)))
    return np.sin(2 * np.pi * 3500 * p * t) * am * _envelope(len(t))


def harmonic_stack(p, sr, rng):
    t = _t(rng.uniform(0.4, 0.8), sr)
    f0 = 450 * p * (1 + 0.02 * np.sin(2 * np.pi * 6 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    return sum(np.sin(k * phase) / k for k in range(1, 7)) * _envelope(len(t))


def pulse_train(p, sr, rng):
    t = _t(rng.uniform(0.6, 1.2), sr)
    x = np.zeros(len(t))
    period = int(sr / (9 * p))
    click = np.sin(2 * np.pi * 2500 * p * _t(0.006, sr)) * np.hanning(int(0.006 * sr))
    for start in range(0, len(t) - len(click), period):
        x[start:start + len(click)] += click
    return x


def noise_burst_low(p, sr, rng):
    return _band_noise(400 * p, 1200 * p, rng.uniform(0.3, 0.7), sr, rng)


def noise_burst_high(p, sr, rng):
    return _band_noise(6000 * p, 9000 * p, rng.uniform(0.3, 0.7), sr, rng)


def warble(p, sr, rng):
    t = _t(rng.uniform(0.6, 1.0), sr)
    freq = 2500 * p + 600 * p * np.sin(2 * np.pi * 7 * t)
    return np.sin(2 * np.pi * np.cumsum(freq) / sr) * _envelope(len(t))


def whistle(p, sr, rng):
    t = _t(rng.uniform(0.8, 1.5), sr)
    freq = 1800 * p * (1 + 0.03 * t)
    return np.sin(2 * np.pi * np.cumsum(freq) / sr) * _envelope(len(t), 0.2)


def buzz(p, sr, rng):
    t = _t(rng.uniform(0.5, 1.0), sr)
    saw = 2 * ((150 * p * t) % 1.0) - 1
    return np.convolve(saw, np.ones(4) / 4, mode="same") * _envelope(len(t))


def double_note(p, sr, rng):
    a = _sweep(2200 * p, 2000 * p, 0.12, sr)
    b = _sweep(3200 * p, 3000 * p, 0.12, sr)
    return np.concatenate([a, np.zeros(int(0.08 * sr)), b])


def frog_croak(p, sr, rng):
    t = _t(rng.uniform(0.2, 0.35), sr)
    carrier = sum(np.sin(2 * np.pi * k * 280 * p * t) for k in (1, 2, 3))
    return carrier * (0.5 * (1 + np.sin(2 * np.pi * 40 * t))) * _envelope(len(t))


CALLS = {f.__name__: f for f in (chirp_up, chirp_down, trill, harmonic_stack, pulse_train, noise_burst_low,
                                 noise_burst_high, warble, whistle, buzz, double_note, frog_croak)}


def synth_clip(kind: str, clip_s: float, sample_rate_hz: int, rng: np.random.Generator) -> np.ndarray:
    """One clip: 1-4 calls of `kind` at random times and levels over quiet noise, float32 in [-1, 1]."""
    if kind not in CALLS:
        raise ValueError(f"unknown call kind {kind!r}; known: {', '.join(CALLS)}")
    n = int(round(clip_s * sample_rate_hz))
    x = rng.standard_normal(n) * 10 ** (rng.uniform(-75, -62) / 20)
    pitch = rng.uniform(0.85, 1.15)
    for _ in range(int(rng.integers(1, 5))):
        call = CALLS[kind](pitch * rng.uniform(0.97, 1.03), sample_rate_hz, rng)[:n]
        start = int(rng.integers(0, n - len(call) + 1))
        x[start:start + len(call)] += call * 10 ** (rng.uniform(-14, -4) / 20)
    return np.clip(x, -1, 1).astype(np.float32)


def make_clip_set(out_dir, n_classes: int = 10, clips_per_class: int = 12, clip_s: float = 5.0,
                  sample_rate_hz: int = 32000, seed: int = 0) -> Path:
    """Write `clips_per_class` OGG clips for each of the first `n_classes` call kinds; returns clips.csv."""
    if not 1 <= n_classes <= len(CALLS):
        raise ValueError(f"n_classes={n_classes} must be in 1..{len(CALLS)}")
    if clips_per_class < 2:
        raise ValueError(f"clips_per_class={clips_per_class} must be >= 2 (one to train, one to test)")
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    rows = []
    for kind in list(CALLS)[:n_classes]:
        for i in range(clips_per_class):
            relative = f"audio/{kind}/{kind}_{i:03d}.ogg"
            write_ogg(out_dir / relative, synth_clip(kind, clip_s, sample_rate_hz, rng), sample_rate_hz)
            rows.append({"filename": relative, "label": kind})
    return atomic_write_csv(pd.DataFrame(rows), out_dir / "clips.csv")
