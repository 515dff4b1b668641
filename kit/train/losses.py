"""Training losses on (rows, classes) logits and soft targets in [0, 1]; inference always applies the sigmoid.

- `bce`: binary cross-entropy per class (multi-label), the default of most BirdCLEF solutions.
- `focal`: BCE scaled by (1 - p_t)^gamma: easy, confident targets count less (2025's 2nd place: focal + BCE).
- `ce`: softmax cross-entropy over the classes with the targets normalized to sum 1 (soft labels, mixup
  keep working); rows with no positive target (a background-only item) add nothing. The 2024 winner trained
  this way and scored with the sigmoid of the same logits (+0.04 over BCE).
- `bce+ce`: their sum: the softmax's competition between labels (top-1) and the per-label sigmoid's
  detection of "nothing here" (ROC-AUC over mostly empty windows).
`label_smoothing` pulls each target towards 1/2 (bce, focal) or the uniform distribution (ce). Each loss is a
per-row loss (bce and focal: the mean over the classes) reduced by the rows' weighted mean sum(w l) / sum(w)
(`rating_weight`: w = rating / 5); without weights, the plain mean.
A NaN target (a label a foreign teacher could not map, kit.foreign) is no signal: left out of the row's mean
(bce, focal) or of the softmax (ce); a row with no known target adds nothing.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def smooth_targets(target: torch.Tensor, smoothing: float, loss: str) -> torch.Tensor:
    if not smoothing:
        return target
    if loss == "ce":
        known = (~torch.isnan(target)).sum(dim=1, keepdim=True).clamp_min(1)  # NaN: no signal (kit.foreign)
        return target * (1 - smoothing) + smoothing * target.nansum(dim=1, keepdim=True) / known
    return target * (1 - smoothing) + 0.5 * smoothing


def _row_mean(values: torch.Tensor, known=None) -> torch.Tensor:
    """Mean over the classes, or over the known ones (known: bool mask, None = all)."""
    if known is None:
        return values.mean(dim=1)
    return (values * known).sum(dim=1) / known.sum(dim=1).clamp_min(1)


def bce_rows(logits: torch.Tensor, target: torch.Tensor, known=None) -> torch.Tensor:
    return _row_mean(F.binary_cross_entropy_with_logits(logits, target, reduction="none"), known)


def focal_rows(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0, known=None) -> torch.Tensor:
    """(1 - p_t)^gamma * BCE per class, averaged over the classes; p_t = p for target 1, 1 - p for target 0
    (soft targets interpolate)."""
    per_item = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * target + (1 - p) * (1 - target)
    return _row_mean((1 - p_t).clamp_min(0) ** gamma * per_item, known)


def ce_rows(logits: torch.Tensor, target: torch.Tensor, known=None) -> tuple:
    """(per-row cross-entropy of softmax(logits) against target / target.sum(), rows with target mass); classes
    not `known` are left out of the softmax."""
    if known is not None:
        logits = logits.masked_fill(~known, -1e4)
    mass = target.sum(dim=1)
    q = target / mass.clamp_min(1e-12)[:, None]
    return -(q * F.log_softmax(logits, dim=1)).sum(dim=1), mass > 0


def reduce_rows(rows: torch.Tensor, weight=None, keep=None) -> torch.Tensor:
    """sum(w l) / sum(w) over the kept rows (w = 1 without weights); 0 (with a gradient path) when none."""
    w = torch.ones_like(rows) if weight is None else weight.to(rows.dtype)
    if keep is not None:
        w = w * keep.to(rows.dtype)
    total = w.sum()
    if float(total) <= 0:
        return rows.sum() * 0.0
    return (rows * w).sum() / total


def _known(target: torch.Tensor) -> tuple:
    """(target with NaN -> 0, mask of the known targets or None when all are known)."""
    missing = torch.isnan(target)
    if not bool(missing.any()):
        return target, None
    return target.masked_fill(missing, 0.0), ~missing


def bce(logits, target, weight=None) -> torch.Tensor:
    target, known = _known(target)
    return reduce_rows(bce_rows(logits, target, known), weight, None if known is None else known.any(dim=1))


def focal(logits, target, gamma: float = 2.0, weight=None) -> torch.Tensor:
    target, known = _known(target)
    return reduce_rows(focal_rows(logits, target, gamma, known), weight, None if known is None else known.any(dim=1))


def soft_ce(logits, target, weight=None) -> torch.Tensor:
    """Cross-entropy against the normalized soft targets; rows without any target mass are left out."""
    target, known = _known(target)
    rows, keep = ce_rows(logits, target, known)
    return reduce_rows(rows, weight, keep)


def make_loss(train_config):
    """loss(logits (rows, classes), target (rows, classes), weight (rows,) or None) -> scalar, from TrainConfig
    loss / focal_gamma / label_smoothing."""
    kind, gamma, smoothing = train_config.loss, train_config.focal_gamma, train_config.label_smoothing

    def loss(logits: torch.Tensor, target: torch.Tensor, weight=None) -> torch.Tensor:
        if kind == "bce+ce":
            return (bce(logits, smooth_targets(target, smoothing, "bce"), weight)
                    + soft_ce(logits, smooth_targets(target, smoothing, "ce"), weight))
        target = smooth_targets(target, smoothing, kind)
        if kind == "focal":
            return focal(logits, target, gamma, weight)
        if kind == "ce":
            return soft_ce(logits, target, weight)
        return bce(logits, target, weight)
    return loss


__all__ = ["make_loss", "bce", "focal", "soft_ce", "smooth_targets", "reduce_rows"]
