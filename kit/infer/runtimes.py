"""Exported graphs as drop-in members of kit.infer: ONNX Runtime sessions (`OnnxModel`: the whole waveform-in graph
of `predict --runtime onnx`; `OnnxFrontend` + `OnnxNetwork`: the two graphs of a member whose front-end is
shared), OpenVINO (`OpenVinoModel`, an optional package), and the eager-vs-ONNX parity check of `kit export
--check`. kit.export writes the graphs; this module only runs them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def onnx_session(onnx_path, threads: int = 0, spin: bool = True):
    """ONNX Runtime CPU session. spin=False stops its threads spin-waiting after a run (when other work, such
    as decoding, needs the cores in between)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


ROWS_PER_RUN = 4  # ONNX Runtime on the CPU runs an efficientnet_b0 ~1.4x faster per window on 4 rows at a time
#                  than on 32 (the activations stay in cache); docs/inference-speed.md.


def in_runs(run, waves: np.ndarray, rows_per_run: int = ROWS_PER_RUN) -> np.ndarray:
    """run((rows, samples) float32) -> (rows, classes), called on `rows_per_run` rows at a time."""
    waves = np.ascontiguousarray(waves, dtype=np.float32)
    if len(waves) <= rows_per_run:
        return run(waves)
    return np.concatenate([run(waves[i:i + rows_per_run]) for i in range(0, len(waves), rows_per_run)])


def onnx_probs(session, waves: np.ndarray, rows_per_run: int = ROWS_PER_RUN) -> np.ndarray:
    """(batch, samples) waveforms -> (batch, classes) probabilities, run `rows_per_run` rows at a time."""
    return in_runs(lambda w: session.run(None, {"waveform": w})[0], waves, rows_per_run)


class OnnxModel:
    """Stands in for a member's torch model in kit.infer (`predict --runtime onnx`): the checkpoint exported
    to ONNX in a temporary folder (deleted once loaded) and run by ONNX Runtime on the CPU."""

    outputs_probabilities = True

    def __init__(self, checkpoint, spin: bool = False):
        import tempfile

        from kit.export import export_onnx

        with tempfile.TemporaryDirectory(prefix="kit-onnx-") as tmp:
            self._load(export_onnx(checkpoint, Path(tmp) / "model.onnx"), spin)

    def _load(self, onnx_path: Path, spin: bool) -> None:
        self.session = session = onnx_session(onnx_path, spin=spin)
        self.run = lambda w: session.run(None, {"waveform": w})[0]

    def __call__(self, x: torch.Tensor, valid_samples=None) -> torch.Tensor:
        """x (batch, 1, samples) -> (batch, classes) probabilities (valid_samples: unused, one crop per row)."""
        return torch.from_numpy(in_runs(self.run, x.reshape(x.shape[0], -1).cpu().numpy()))


class OnnxFrontend:
    """The front-end graph of kit.export.export_parts as a callable for kit.infer's shared front-end: x (batch, 1,
    samples) -> features (batch, 1, C, H, T), one window per run (its STFT stays in cache, as in the Loop graph)."""

    def __init__(self, onnx_path, spin: bool = False):
        self.session = onnx_session(onnx_path, spin=spin)

    def __call__(self, x: torch.Tensor, valid_samples=None) -> torch.Tensor:
        waves = np.ascontiguousarray(x.reshape(x.shape[0], -1).cpu().numpy(), dtype=np.float32)
        feats = np.concatenate([self.session.run(None, {"waveform": waves[i:i + 1]})[0] for i in range(len(waves))])
        return torch.from_numpy(feats)[:, None]


class OnnxNetwork:
    """The network graph of kit.export.export_parts (fp32, or int8: kit.infer.int8): features (batch, 1, C, H,
    T) -> probabilities (batch, classes), `rows_per_run` rows per ONNX Runtime run."""

    outputs_probabilities = True
    takes_features = True

    def __init__(self, onnx_path, spin: bool = False, session=None):
        self.path = str(onnx_path)
        self.session = session or onnx_session(onnx_path, spin=spin)
        name = self.session.get_inputs()[0].name
        self.run = lambda f: self.session.run(None, {name: f})[0]

    def __call__(self, feats: torch.Tensor, valid_samples=None) -> torch.Tensor:
        flat = feats.reshape(feats.shape[0], *feats.shape[-3:]).cpu().numpy()
        return torch.from_numpy(in_runs(self.run, flat))


class OpenVinoModel(OnnxModel):
    """`predict --runtime openvino`: the exported graph compiled by OpenVINO for the CPU (an optional package).
    In float32: OpenVINO's default on CPUs with bfloat16 units is bfloat16 (here 1.4x faster, probabilities
    7e-5 off), which would break "the submission reproduces the validation path"."""

    def _load(self, onnx_path: Path, spin: bool) -> None:
        from kit.export import openvino_module

        ov = openvino_module()
        compiled = ov.Core().compile_model(ov.convert_model(str(onnx_path)), "CPU",
                                           {"INFERENCE_PRECISION_HINT": "f32"})
        self.run = lambda w: compiled([w])[0]




def parity(checkpoint, onnx_path, audio_path, n_windows: int = 2) -> float:
    """Max |eager - ONNX| probability on the first windows of a real recording."""
    from kit.audio import iter_windows
    from kit.export import waveform_model

    wrapper, ckpt = waveform_model(checkpoint)
    batch = next(iter(iter_windows(audio_path, ckpt.config.audio, n_windows)))
    with torch.inference_mode():
        eager = wrapper(torch.from_numpy(batch.crops)).numpy()
    return float(np.abs(eager - onnx_probs(onnx_session(onnx_path), batch.crops)).max())


__all__ = ["onnx_session", "ROWS_PER_RUN", "in_runs", "onnx_probs", "OnnxModel", "OnnxFrontend", "OnnxNetwork",
           "OpenVinoModel", "parity"]
