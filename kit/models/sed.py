"""SED head (sound event detection): a classifier per frame, and the clip's logits as the attention-weighted
mean of the frame logits over time (PANNs-style; the head of the 2021-2025 BirdCLEF winners).

    frames (N, D, T) -> max+avg smoothing over 3 frames -> dropout -> 1x1 conv D->hidden, BatchNorm, ReLU
      -> dropout
      -> attention a (N, classes, T) = softmax_T(tanh(1x1 conv))  and  frame logits z (N, classes, T)
      -> clip logits sum_T a * z

The backbone gives the frames: the self-made CNN its (channels x frequency bins) per time step, the RNN its
outputs, a timm CNN its last feature map averaged over frequency. Models without a time axis (transformers'
tokens, torchvision classifiers) are refused. The attention pools whatever number of frames comes in, so a
model trained on long crops predicts shorter windows too.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SedHead(nn.Module):
    def __init__(self, in_features: int, hidden: int, dropout_p: float, num_classes: int):
        super().__init__()
        self.drop = nn.Dropout(dropout_p)
        self.proj = nn.Conv1d(in_features, hidden, kernel_size=1)
        self.norm = nn.BatchNorm1d(hidden)  # the frames' scale varies by backbone; without it the head learnt slowly
        self.attention = nn.Conv1d(hidden, num_classes, kernel_size=1)
        self.classifier = nn.Conv1d(hidden, num_classes, kernel_size=1)

    def frame_outputs(self, frames: torch.Tensor) -> tuple:
        """(attention weights, frame logits), each (N, classes, T), from frames (N, D, T)."""
        x = F.max_pool1d(frames, 3, 1, 1) + F.avg_pool1d(frames, 3, 1, 1, count_include_pad=False)
        h = self.drop(F.relu(self.norm(self.proj(self.drop(x)))))
        return torch.softmax(torch.tanh(self.attention(h)), dim=-1), self.classifier(h)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, D, T) -> (N, classes) clip logits."""
        weights, logits = self.frame_outputs(frames)
        return (weights * logits).sum(dim=-1)


__all__ = ["SedHead"]
