"""Training losses on (rows, classes) logits and soft targets in [0, 1]; inference always applies the sigmoid.

- `bce`: binary cross-entropy per class (multi-label), the default of most BirdCLEF solutions.
- `focal`: BCE scaled by (1 - p_t)^gamma: easy, confident targets count less (2025's 2nd place: focal + BCE).
- `ce`: softmax cross-entropy over the classes with the targets normalized to sum 1 (soft labels, mixup
  keep working); rows with no positive target (a background-only item) add nothing. The 2024 winner trained
  this way and scored with the sigmoid of the same logits (+0.04 over BCE).
`label_smoothing` pulls each target towards 1/2 (bce, focal) or the uniform distribution (ce).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def smooth_targets(target: torch.Tensor, smoothing: float, loss: str) -> torch.Tensor:
    if not smoothing:
        return target
    if loss == "ce":
        return target * (1 - smoothing) + smoothing * target.sum(dim=1, keepdim=True) / target.shape[1]
    return target * (1 - smoothing) + 0.5 * smoothing


def bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, target)


def focal(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """mean over rows and classes of (1 - p_t)^gamma * BCE, with p_t = p for target 1, 1 - p for target 0
    (soft targets interpolate)."""
    per_item = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * target + (1 - p) * (1 - target)
    return ((1 - p_t).clamp_min(0) ** gamma * per_item).mean()


def soft_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of softmax(logits) against target / target.sum(); rows without any target mass are left
    out (mean over the others; 0 when none)."""
    mass = target.sum(dim=1)
    keep = mass > 0
    if not keep.any():
        return logits.sum() * 0.0
    q = target[keep] / mass[keep, None]
    return -(q * F.log_softmax(logits[keep], dim=1)).sum(dim=1).mean()


def make_loss(train_config):
    """loss(logits (rows, classes), target (rows, classes)) -> scalar, from TrainConfig loss / focal_gamma /
    label_smoothing."""
    kind, gamma, smoothing = train_config.loss, train_config.focal_gamma, train_config.label_smoothing

    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = smooth_targets(target, smoothing, kind)
        if kind == "focal":
            return focal(logits, target, gamma)
        if kind == "ce":
            return soft_ce(logits, target)
        return bce(logits, target)
    return loss


__all__ = ["make_loss", "bce", "focal", "soft_ce", "smooth_targets"]
