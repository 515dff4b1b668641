"""Exportable mel spectrograms: the same (N, samples) -> (N, n_mels, frames) as frontend.mel_power, without
`torch.stft(return_complex=True)`, which the legacy ONNX exporter (dynamo=False, opset 17) cannot export.

- `fft` (default): the DFT as one Cooley-Tukey split (n = n1 * n2) of plain MatMul/Mul ops. The input is real,
  so the first stage keeps only k1 <= n1/2 (the rest are complex conjugates); the power of the half grid it
  yields covers every bin, and the mel filterbank is re-ordered to that grid (duplicate bins zeroed) so no
  Transpose/Slice back to bin order is needed. Frames are cut by slicing a (blocks, hop) view, not a Gather.
  About 30x fewer multiply-adds than the direct DFT at n_fft 2048;
- `onnx`: `torch.stft(return_complex=False)`, ONNX's STFT operator (slow in ONNX Runtime 1.32 on the CPU);
- `dft`: a conv1d with a DFT basis (~1.3 GFLOP per 5 s window): the fallback if `fft` fails to export.
Each matches frontend.mel_power to float32 rounding (tests/test_export.py). `mel_step_of(module, kind)` sets one
as the `mel_step` of every FeatureExtractor inside a module while the exporter traces it.
"""
from __future__ import annotations

import contextlib
import math

import torch
from torch import nn

from kit.features.frontend import FeatureExtractor, centre_pad_mode, power_to_mel


def _centre_pad(x: torch.Tensor, n_fft: int, pad_mode: str) -> torch.Tensor:
    mode = centre_pad_mode(x.shape[-1], n_fft, pad_mode)  # the rule kit.features.power_spectrogram uses
    return nn.functional.pad(x[:, None, :], (n_fft // 2, n_fft // 2), mode=mode)[:, 0]


def dft_mel(x, n_fft: int, hop_length: int, window, pad_mode: str, mel_fb) -> torch.Tensor:
    """Power from a conv1d whose kernels are the windowed DFT basis."""
    n = torch.arange(n_fft, dtype=torch.float64)
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
    angle = 2 * math.pi * k * n / n_fft
    w = window.detach().to(torch.float64).cpu()
    basis = torch.cat([torch.cos(angle) * w, -torch.sin(angle) * w]).float().to(x.device)[:, None, :]
    spec = nn.functional.conv1d(_centre_pad(x, n_fft, pad_mode)[:, None, :], basis, stride=hop_length)
    real, imag = spec.split(n_fft // 2 + 1, dim=1)
    return power_to_mel(real.square() + imag.square(), mel_fb)


def stft_op_mel(x, n_fft: int, hop_length: int, window, pad_mode: str, mel_fb) -> torch.Tensor:
    """Power from torch.stft(return_complex=False): exported as ONNX's STFT operator."""
    spec = torch.stft(_centre_pad(x, n_fft, pad_mode), n_fft=n_fft, hop_length=hop_length, window=window,
                      center=False, return_complex=False)  # (N, bins, frames, 2)
    return power_to_mel(spec.square().sum(-1), mel_fb)


def split_size(n: int) -> int:
    """The divisor of n closest to sqrt(n) from above (n1 in n = n1 * n2)."""
    return next(d for d in range(int(math.ceil(math.sqrt(n))), n + 1) if n % d == 0)


def frames_by_blocks(padded: torch.Tensor, n_fft: int, hop_length: int) -> torch.Tensor:
    """(N, L) -> (N, frames, n_fft) at hop_length, from slices of a (N, blocks, hop) view: Slice/Concat ops,
    several times cheaper in ONNX Runtime than a Gather of every frame sample."""
    frames = (padded.shape[-1] - n_fft) // hop_length + 1
    per_frame = -(-n_fft // hop_length)  # blocks touched by one frame
    blocks = frames + per_frame - 1
    short = blocks * hop_length - padded.shape[-1]
    padded = nn.functional.pad(padded, (0, short)) if short > 0 else padded[:, :blocks * hop_length]
    view = padded.reshape(padded.shape[0], blocks, hop_length)
    pieces = [view[:, j:j + frames] for j in range(per_frame)]
    pieces[-1] = pieces[-1][..., :n_fft - (per_frame - 1) * hop_length]
    return torch.cat(pieces, dim=-1)


def half_grid_filterbank(mel_fb: torch.Tensor, n_fft: int) -> torch.Tensor:
    """mel_fb's rows in the order of fft_mel's half-grid power: row k1 * n2 + k2 is bin k1 + n1 * k2 (or its
    mirror n - that, above n/2); a bin reached twice keeps its weights on its first row only."""
    n1 = split_size(n_fft)
    n2, h1 = n_fft // n1, n1 // 2 + 1
    out = torch.zeros(h1 * n2, mel_fb.shape[1], dtype=mel_fb.dtype, device=mel_fb.device)
    seen = set()
    for k1 in range(h1):
        for k2 in range(n2):
            b = k1 + n1 * k2
            b = b if b <= n_fft // 2 else n_fft - b
            if b not in seen:
                seen.add(b)
                out[k1 * n2 + k2] = mel_fb[b]
    assert len(seen) == n_fft // 2 + 1, "half grid must reach every bin"
    return out


def fft_mel(x, n_fft: int, hop_length: int, window, pad_mode: str, mel_fb) -> torch.Tensor:
    """Power from one Cooley-Tukey split, as MatMul/Mul ops (see the module docstring).

    Frame sample m = n2*m1 + m2, bin k = k1 + n1*k2: a length-n1 DFT over m1 (k1 <= n1/2 only), the twiddle
    exp(-2 pi i k1 m2 / n), then a length-n2 DFT over m2."""
    n1 = split_size(n_fft)
    n2, h1 = n_fft // n1, n1 // 2 + 1
    framed = frames_by_blocks(_centre_pad(x, n_fft, pad_mode), n_fft, hop_length) * window.detach().float()
    batch, frames = framed.shape[:2]
    framed = framed.reshape(batch, frames, n1, n2)                                 # [m1, m2]
    f64 = torch.float64
    k1 = torch.arange(h1, dtype=f64)[:, None]
    a1 = 2 * math.pi * k1 * torch.arange(n1, dtype=f64)[None] / n1
    tw = 2 * math.pi * k1 * torch.arange(n2, dtype=f64)[None] / n_fft
    a2 = 2 * math.pi * torch.arange(n2, dtype=f64)[:, None] * torch.arange(n2, dtype=f64)[None] / n2
    c1, s1, twc, tws, c2, s2 = (t.float().to(x.device) for t in (a1.cos(), -a1.sin(), tw.cos(), tw.sin(),
                                                                 a2.cos(), a2.sin()))
    a_re, a_im = torch.matmul(c1, framed), torch.matmul(s1, framed)                # (N, T, h1, n2)
    b_re, b_im = a_re * twc + a_im * tws, a_im * twc - a_re * tws                  # times exp(-i tw)
    y_re = torch.matmul(b_re, c2) + torch.matmul(b_im, s2)                         # (N, T, h1, k2)
    y_im = torch.matmul(b_im, c2) - torch.matmul(b_re, s2)
    power = (y_re.square() + y_im.square()).reshape(batch, frames, h1 * n2)
    return torch.matmul(power, half_grid_filterbank(mel_fb, n_fft)).transpose(-1, -2)


MEL_IMPLS = {"fft": fft_mel, "onnx": stft_op_mel, "dft": dft_mel}


@contextlib.contextmanager
def mel_step_of(module: nn.Module, kind: str = "fft"):
    """While inside, every FeatureExtractor in `module` computes its mel power with MEL_IMPLS[kind]."""
    if kind not in MEL_IMPLS:
        raise ValueError(f"stft={kind!r} is not one of {', '.join(MEL_IMPLS)}")
    extractors = [m for m in module.modules() if isinstance(m, FeatureExtractor)]
    saved = [m.mel_step for m in extractors]
    for m in extractors:
        m.mel_step = MEL_IMPLS[kind]
    try:
        yield module
    finally:
        for m, step in zip(extractors, saved):
            m.mel_step = step


__all__ = ["MEL_IMPLS", "mel_step_of", "fft_mel", "stft_op_mel", "dft_mel", "frames_by_blocks", "half_grid_filterbank",
           "split_size"]
