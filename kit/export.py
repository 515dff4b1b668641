"""Export a checkpoint to ONNX: raw waveform (batch, samples) in, probabilities (batch, classes) out.

The mel front-end is inside the graph. The legacy exporter (dynamo=False, opset 17) cannot export
`torch.stft(return_complex=True)`, so while tracing, the STFT is computed as a conv1d with a DFT basis (same
periodic Hann window, centre padding with the same pad mode): `dft_power_spectrogram`, whose parity with
torch.stft is tested. OpenVINO is used when that package is installed (it is optional).

    python -m kit export --checkpoint best.ckpt --out model.onnx [--openvino] [--check AUDIO]
"""
from __future__ import annotations

import argparse
import contextlib
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

OPSET = 17


def dft_power_spectrogram(x: torch.Tensor, n_fft: int, hop_length: int, window: torch.Tensor,
                          pad_mode: str) -> torch.Tensor:
    """Same as kit.features.power_spectrogram, (N, samples) -> (N, n_fft//2+1, frames), without torch.stft."""
    if x.shape[-1] < n_fft // 2 + 1 and pad_mode == "reflect":
        pad_mode = "constant"
    n = torch.arange(n_fft, dtype=torch.float64)
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
    angle = 2 * math.pi * k * n / n_fft
    w = window.detach().to(torch.float64).cpu()
    basis = torch.cat([torch.cos(angle) * w, -torch.sin(angle) * w]).float().to(x.device)[:, None, :]
    padded = nn.functional.pad(x[:, None, :], (n_fft // 2, n_fft // 2), mode=pad_mode)
    spec = nn.functional.conv1d(padded, basis, stride=hop_length)   # (N, 2 * bins, frames)
    real, imag = spec.split(n_fft // 2 + 1, dim=1)
    return real.square() + imag.square()


@contextlib.contextmanager
def stft_as_conv():
    """Route kit's front-end through the DFT conv1d while tracing for export."""
    import kit.features as features

    original = features.power_spectrogram
    features.power_spectrogram = dft_power_spectrogram
    try:
        yield
    finally:
        features.power_spectrogram = original


class WaveformModel(nn.Module):
    """(batch, samples) waveform -> (batch, classes) probabilities, one crop per row."""

    def __init__(self, model: nn.Module, frontend: nn.Module = None):
        super().__init__()
        self.model, self.frontend = model, frontend

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = wave[:, None, :]
        if self.frontend is not None:
            x = self.frontend(x)
        return torch.sigmoid(self.model(x))


def waveform_model(checkpoint) -> tuple:
    """(WaveformModel on CPU in eval mode, Checkpoint)."""
    from kit.checkpoint import load_model
    from kit.features import FeatureExtractor

    model, ckpt = load_model(checkpoint, "cpu")
    if ckpt.config.audio.mirror_placement == "spectrogram":
        raise ValueError(f"{checkpoint}: mirror_placement='spectrogram' needs per-window valid lengths, which "
                         f"the waveform-only ONNX graph does not take; use the eager path (python -m kit predict)")
    frontend = None if ckpt.config.model.features_in_model else FeatureExtractor(ckpt.config.audio,
                                                                                 ckpt.config.features)
    return WaveformModel(model, frontend).eval(), ckpt


def export_onnx(checkpoint, out_path, batch_size: int = 2) -> Path:
    """Write the ONNX graph (dynamic batch) and return its path; the file is written then renamed."""
    from kit.utils import atomic_write_bytes

    wrapper, ckpt = waveform_model(checkpoint)
    example = torch.zeros(batch_size, ckpt.config.audio.crop_samples)
    out_path = Path(out_path)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    export_kwargs = dict(input_names=["waveform"], output_names=["probabilities"], opset_version=OPSET,
                         dynamic_axes={"waveform": {0: "batch"}, "probabilities": {0: "batch"}})
    try:
        with stft_as_conv(), torch.no_grad():
            try:
                torch.onnx.export(wrapper, (example,), str(tmp), dynamo=False, **export_kwargs)
            except TypeError:  # torch < 2.5 has no dynamo argument (legacy exporter is the default)
                torch.onnx.export(wrapper, (example,), str(tmp), **export_kwargs)
        atomic_write_bytes(out_path, tmp.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)
    return out_path


def onnx_session(onnx_path, threads: int = 0):
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def onnx_probs(session, waves: np.ndarray) -> np.ndarray:
    return session.run(None, {"waveform": np.ascontiguousarray(waves, dtype=np.float32)})[0]


def export_openvino(onnx_path, out_xml) -> Path:
    """Convert the ONNX file to OpenVINO IR; a clear error when openvino is not installed."""
    try:
        import openvino as ov
    except ImportError as exc:
        raise RuntimeError("OpenVINO export skipped: the `openvino` package is not installed "
                           "(pip install openvino to enable it; ONNX export does not need it)") from exc
    model = ov.convert_model(str(onnx_path))
    ov.save_model(model, str(out_xml))
    return Path(out_xml)


def parity(checkpoint, onnx_path, audio_path, n_windows: int = 2) -> float:
    """Max |eager - ONNX| probability on the first windows of a real recording."""
    from kit.audio import iter_windows

    wrapper, ckpt = waveform_model(checkpoint)
    batch = next(iter(iter_windows(audio_path, ckpt.config.audio, n_windows)))
    with torch.inference_mode():
        eager = wrapper(torch.from_numpy(batch.crops)).numpy()
    return float(np.abs(eager - onnx_probs(onnx_session(onnx_path), batch.crops)).max())


def cli(argv) -> int:
    parser = argparse.ArgumentParser(prog="python -m kit export", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out", required=True, help="ONNX file to write, e.g. model.onnx")
    parser.add_argument("--openvino", action="store_true", help="also write OpenVINO IR (<out>.xml) if installed")
    parser.add_argument("--check", metavar="AUDIO", help="report max |eager - ONNX| on this recording's windows")
    args = parser.parse_args(argv)
    path = export_onnx(args.checkpoint, args.out)
    print(f"wrote {path} (waveform (batch, samples) -> probabilities)")
    if args.check:
        print(f"parity on {args.check}: max |eager - onnx| = {parity(args.checkpoint, path, args.check):.2e}")
    if args.openvino:
        try:
            print(f"wrote {export_openvino(path, Path(args.out).with_suffix('.xml'))}")
        except RuntimeError as exc:
            print(exc)
    return 0
