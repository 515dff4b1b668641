"""Training-only augmentation (config section `augment`); validation and inference never call it.

Per item, in the dataset (numpy, drawn from np.random.default_rng([seed, epoch, index]) like the crop
offset, so any num_workers and a resume give the same items): `empty` (the item becomes background or noise
only, target all zeros), circular time `shift`, `gain`, a `background` crop from a folder at a random SNR,
coloured `noise` (white to brown) at a random SNR. Per batch, in the loop (torch, on the batch's device, from a
numpy Generator seeded by (seed, epoch, step, rank)): `mixup` of waveforms (of features when the dataset makes
them) with targets combined by max or blend, time-axis `cutmix`, and SpecAugment time/frequency masks on the
features. SNRs are against the power of the item's non-silent samples.

Why not audiomentations / torch-audiomentations: their random draws come from global generators (no
per-item seeds, so a resumed or multi-worker run would differ), they read background files through their own
loaders (not kit's resampling and errors), and each of these steps is a few lines here.
"""
from __future__ import annotations

import numpy as np
import torch

from kit.config import AugmentConfig


def signal_power(x: np.ndarray) -> float:
    """Mean power of the samples that are not exact zeros (padding of a short call); 0 for silence."""
    nonzero = x[x != 0]
    return float(np.mean(np.square(nonzero, dtype=np.float64))) if nonzero.size else 0.0


def coloured_noise(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise with a 1/f^exponent power spectrum (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.maximum(np.arange(len(spectrum), dtype=np.float64), 1.0) ** (exponent / 2)
    noise = np.fft.irfft(spectrum, n)
    return (noise / (noise.std() + 1e-12)).astype(np.float32)


def add_at_snr(x: np.ndarray, other: np.ndarray, snr_db: float) -> np.ndarray:
    """x + other scaled so that power(x) / power(other) = snr_db; silent x gets `other` at unit RMS / 100."""
    p_signal, p_other = signal_power(x), float(np.mean(np.square(other, dtype=np.float64)))
    if p_other <= 0:
        return x
    target = p_signal / 10 ** (snr_db / 10) if p_signal > 0 else 1e-4
    return (x + other * np.float32(np.sqrt(target / p_other))).astype(np.float32)


def augment_item(crops: np.ndarray, target: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator,
                 background=None) -> tuple:
    """(crops (K, L) float32, target) of one training item after the per-item steps. `background(n, rng)`
    returns n samples of a random background recording (kit.train.background), or None without a folder."""
    if not any((cfg.empty_p, cfg.shift_p, cfg.gain_p, cfg.background_p, cfg.noise_p)):
        return crops, target
    crops, target = crops.copy(), target.copy()
    K, L = crops.shape

    def backdrop() -> np.ndarray:
        if background is not None and (cfg.background_p > 0 or cfg.noise_p == 0):
            return background(K * L, rng).reshape(K, L)
        level_dbfs = float(rng.uniform(-80.0, -30.0))  # from near-silence to a noisy site
        noise = coloured_noise(K * L, float(rng.uniform(0, 2)), rng).reshape(K, L)
        return noise * np.float32(10 ** (level_dbfs / 20))

    if cfg.empty_p and rng.random() < cfg.empty_p:
        return backdrop().astype(np.float32), np.zeros_like(target)
    if cfg.shift_p and rng.random() < cfg.shift_p:
        crops = np.roll(crops, int(rng.integers(0, L)), axis=1)
    if cfg.gain_p and rng.random() < cfg.gain_p:
        crops *= np.float32(10 ** (rng.uniform(-cfg.gain_db, cfg.gain_db) / 20))
    if background is not None and cfg.background_p and rng.random() < cfg.background_p:
        crops = add_at_snr(crops, background(K * L, rng).reshape(K, L), float(rng.uniform(*cfg.background_snr_db)))
    if cfg.noise_p and rng.random() < cfg.noise_p:
        noise = coloured_noise(K * L, float(rng.uniform(0, 2)), rng).reshape(K, L)
        crops = add_at_snr(crops, noise, float(rng.uniform(*cfg.noise_snr_db)))
    return crops, target


# ---------------------------------------------------------------------------------------------------
# batch steps (torch tensors; random draws from a numpy Generator of (seed, epoch, step, rank))
# ---------------------------------------------------------------------------------------------------
def batch_rng(seed: int, epoch: int, step: int, rank: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, step, rank])


def _partners(n: int, p: float, rng: np.random.Generator) -> tuple:
    """(chosen bool (n,), partner index (n,)): items picked with probability p, each with another item."""
    chosen = rng.random(n) < p
    partner = (np.arange(n) + rng.integers(1, n, size=n)) % n  # never the item itself
    return chosen, partner


def mixup(x: torch.Tensor, target: torch.Tensor, cfg: AugmentConfig, rng: np.random.Generator) -> tuple:
    """Each chosen item (probability mixup_p) gets a partner of the batch mixed in: x = w x + (1 - w) x_partner
    with w ~ Beta(alpha, alpha) folded to >= 0.5; targets max(t, t_partner) or the same blend."""
    n = x.shape[0]
    if n < 2 or not cfg.mixup_p:
        return x, target
    chosen, partner = _partners(n, cfg.mixup_p, rng)
    w = rng.beta(cfg.mixup_alpha, cfg.mixup_alpha, size=n)
    w = np.where(chosen, np.maximum(w, 1 - w), 1.0).astype(np.float32)
    wx = torch.from_numpy(w).to(x.device).view((n,) + (1,) * (x.dim() - 1))
    index = torch.from_numpy(partner).to(x.device)
    mixed = wx * x + (1 - wx) * x[index]
    other, pick = target[index.to(target.device)], torch.from_numpy(chosen).to(target.device)[:, None]
    if cfg.mixup_targets == "max":
        return mixed, torch.where(pick, torch.maximum(target, other), target)
    wt = torch.from_numpy(w).to(target.device)[:, None]
    return mixed, wt * target + (1 - wt) * other


def cutmix(x: torch.Tensor, target: torch.Tensor, cfg: AugmentConfig, rng: np.random.Generator) -> tuple:
    """Each chosen item (cutmix_p) gets a random span of its last axis (time) replaced by a partner's same
    span (length uniform in [10 %, 50 %] of it); targets max(t, t_partner)."""
    n, length = x.shape[0], x.shape[-1]
    if n < 2 or not cfg.cutmix_p:
        return x, target
    chosen, partner = _partners(n, cfg.cutmix_p, rng)
    widths = np.maximum(1, (rng.uniform(0.1, 0.5, size=n) * length).astype(int))
    starts = (rng.random(n) * (length - widths)).astype(int)
    out, new_target = x.clone(), target.clone()
    for i in np.flatnonzero(chosen):
        a, b, j = int(starts[i]), int(starts[i] + widths[i]), int(partner[i])
        out[i, ..., a:b] = x[j, ..., a:b]
        new_target[i] = torch.maximum(target[i], target[j])
    return out, new_target


def spec_augment(feats: torch.Tensor, cfg: AugmentConfig, rng: np.random.Generator) -> torch.Tensor:
    """Time and frequency masks (set to the item's mean) on features (..., H, T), each item with probability
    specaug_p: `time_masks` masks of up to `time_mask_frames` frames, `freq_masks` of up to `freq_mask_bins`."""
    if not cfg.specaug_p:
        return feats
    flat = feats.reshape(-1, *feats.shape[-2:]).clone()
    n, height, frames = flat.shape
    for i in np.flatnonzero(rng.random(n) < cfg.specaug_p):
        fill = flat[i].mean()
        for _ in range(cfg.time_masks):
            w = int(rng.integers(0, min(cfg.time_mask_frames, frames) + 1))
            a = int(rng.integers(0, frames - w + 1))
            flat[i, :, a:a + w] = fill
        for _ in range(cfg.freq_masks):
            w = int(rng.integers(0, min(cfg.freq_mask_bins, height) + 1))
            a = int(rng.integers(0, height - w + 1))
            flat[i, a:a + w, :] = fill
    return flat.reshape(feats.shape)


__all__ = ["augment_item", "add_at_snr", "coloured_noise", "signal_power", "batch_rng", "mixup", "cutmix",
           "spec_augment"]
