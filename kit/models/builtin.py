"""The two self-made backbones: a compact CNN and an RNN over spectrogram frames.

Both map spectrograms (N, C, H, T) to a pooled feature vector (N, num_features) and take any number of frames.
"""
from __future__ import annotations

import torch
from torch import nn

from kit.models.errors import ModelError


class CompactCNN(nn.Module):
    """conv3x3 -> BatchNorm -> ReLU -> maxpool(2) per width in `channels`; then each time step's
    (channels x remaining frequency bins) values, averaged and max-pooled over time and concatenated:
    num_features = 2 * channels[-1] * ceil(height / 2**len(channels)).

    Frequency is kept (not averaged away): convolutions are shift-invariant along frequency, so pooling over it
    would make a small CNN blind to pitch. Pooling uses ceil_mode, so small inputs still work.
    """

    def __init__(self, in_chans: int, channels, height: int):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if not channels or min(channels) < 1:
            raise ModelError(f"cnn_channels={channels}: give one or more positive widths, e.g. 16,32,64,128")
        layers, prev = [], in_chans
        for width in channels:
            layers += [nn.Conv2d(prev, width, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(width),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True)]
            prev = width
        self.features = nn.Sequential(*layers)
        self.height = int(height)
        bins = self.height
        for _ in channels:
            bins = -(-bins // 2)
        self.num_features = 2 * prev * bins

    def frames(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, T) -> (N, channels * remaining bins, T') per time step (the SED head's input)."""
        if x.shape[2] != self.height:
            raise ValueError(f"cnn backbone was built for spectrograms {self.height} bins high, got {x.shape[2]}")
        return self.features(x).flatten(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.frames(x)  # (N, C * H', T')
        return torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=1)


class SpectrogramRNN(nn.Module):
    """Each frame (C*H values) -> Linear -> LayerNorm -> ReLU, a 2-layer bidirectional GRU or LSTM over the
    frames, then the mean and max over time of its outputs: num_features = 4 * hidden."""

    def __init__(self, in_chans: int, height: int, hidden: int, rnn_type: str = "gru"):
        super().__init__()
        if int(hidden) < 1:
            raise ModelError(f"rnn_hidden={hidden} must be >= 1")
        if rnn_type not in ("gru", "lstm"):
            raise ModelError(f"rnn_type={rnn_type!r} is not 'gru' or 'lstm'")
        self.frame_features = in_chans * height
        self.proj = nn.Sequential(nn.Linear(self.frame_features, hidden), nn.LayerNorm(hidden), nn.ReLU())
        rnn_cls = nn.GRU if rnn_type == "gru" else nn.LSTM
        self.rnn = rnn_cls(hidden, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.num_features = 4 * hidden

    def frames(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, T) -> (N, 2 * hidden, T): the recurrent outputs per frame (the SED head's input)."""
        n, c, h, t = x.shape
        if c * h != self.frame_features:
            raise ValueError(f"rnn backbone was built for {self.frame_features} values per frame (channels x "
                             f"height), got {c} x {h}")
        out, _ = self.rnn(self.proj(x.permute(0, 3, 1, 2).reshape(n, t, c * h)))
        return out.transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.frames(x)
        return torch.cat([out.mean(dim=-1), out.amax(dim=-1)], dim=1)
