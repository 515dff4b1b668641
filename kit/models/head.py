"""Classifier head: `Linear -> BatchNorm1d -> PReLU [-> Dropout]` per hidden width, then a Linear classifier."""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from kit.models.errors import ModelError


class RowSafeBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d that, in training mode, normalizes a batch of ONE row with its running statistics instead
    of raising (a variance needs two rows). Eval mode is plain BatchNorm1d; the state dict is the same."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                training=False, momentum=0.0, eps=self.eps)
        return super().forward(x)


def head_block(in_features: int, width: int, dropout_p: float) -> nn.Sequential:
    parts = [("linear", nn.Linear(in_features, width)), ("bn", RowSafeBatchNorm1d(width)), ("act", nn.PReLU())]
    if dropout_p > 0:
        parts.append(("drop", nn.Dropout(dropout_p)))
    return nn.Sequential(OrderedDict(parts))


class Head(nn.Module):
    """(N, in_features) -> (N, num_classes). `blocks` holds one block per hidden width; with no hidden widths
    and dropout_p > 0, one Dropout sits before the classifier."""

    def __init__(self, in_features: int, hidden, dropout_p: float, num_classes: int):
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        if hidden and min(hidden) < 1:
            raise ModelError(f"head_hidden={hidden}: widths must be >= 1")
        blocks, prev = [], in_features
        for width in hidden:
            blocks.append(head_block(prev, width, dropout_p))
            prev = width
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout_p) if dropout_p > 0 and not hidden else nn.Identity()
        self.classifier = nn.Linear(prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.blocks(x)))
