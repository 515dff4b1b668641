"""The one interface of a foreign model, and `open_foreign_model`, which picks its adapter by the file.

A ForeignModel maps waveform batches at its own rate and input length (`run`) to logits over its own class
names and an embedding per row. `windows` takes kit's scoring windows at any rate: each window is resampled to
the model's rate (kit.audio.resample) and fitted to the model's input (kit.audio.segment): one view when the
input is at least the window (zero-padded), else views at `view_offsets_s` (BirdNET's 3 s inside a 5 s window:
at 0, 1 and 2 s), pooled as the mean probability (returned as its logit) and the mean embedding.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from kit.foreign.errors import ForeignModelError

TFLITE_MAGIC = b"TFL3"      # bytes 4-8 of a TFLite flatbuffer
BIRDNET_MODEL = "BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite"
BIRDNET_LABELS = "BirdNET_GLOBAL_6K_V2.4_Labels.txt"
INSTALL_HINT = "pip install -r requirements-foreign.txt"


def view_offsets_s(window_s: float, input_s: float, step_s: float = 1.0) -> list:
    """Start offsets (s) of the model inputs inside one window: [0] when the input covers the window, else
    0, step, 2 step, ... up to window_s - input_s (which is always included)."""
    if input_s >= window_s or step_s <= 0:
        return [0.0]
    last = window_s - input_s
    offsets = list(np.arange(0.0, last, step_s))
    return [float(o) for o in offsets] + ([float(last)] if not offsets or offsets[-1] < last - 1e-9 else [])


def pooled_logits(view_logits: np.ndarray) -> np.ndarray:
    """(views, B, C) logits -> (B, C): the logit of the views' mean probability (log-space, always finite)."""
    z = np.asarray(view_logits, dtype=np.float64)
    log_p = np.logaddexp.reduce(-np.logaddexp(0, -z), axis=0)    # log sum sigmoid(z)
    log_q = np.logaddexp.reduce(-np.logaddexp(0, z), axis=0)     # log sum sigmoid(-z)
    return (log_p - log_q).astype(np.float32)


class ForeignModel:
    """Adapters set: path, kind ('onnx' | 'tflite'), class_names, sample_rate_hz, input_s, embedding_dim (0 when
    the model gives no embedding), view_step_s; and implement `run`."""

    path: str = ""
    kind: str = ""
    class_names: list = []
    sample_rate_hz: int = 32000
    input_s: float = 5.0
    embedding_dim: int = 0
    view_step_s: float = 1.0
    batch_size: int = 16

    @property
    def input_samples(self) -> int:
        return int(round(self.input_s * self.sample_rate_hz))

    def run(self, batch: np.ndarray) -> tuple:
        """(B, input_samples) float32 at sample_rate_hz -> (logits (B, classes), embedding (B, D) or None)."""
        raise NotImplementedError

    def describe(self) -> dict:
        return {"path": str(self.path), "kind": self.kind, "classes": len(self.class_names),
                "sample_rate_hz": self.sample_rate_hz, "input_s": self.input_s, "embedding_dim": self.embedding_dim,
                "view_step_s": self.view_step_s}

    def _run_batched(self, batch: np.ndarray) -> tuple:
        logits, embeds = [], []
        for start in range(0, len(batch), self.batch_size):
            z, e = self.run(np.ascontiguousarray(batch[start:start + self.batch_size], dtype=np.float32))
            logits.append(np.asarray(z, np.float32))
            embeds.append(None if e is None else np.asarray(e, np.float32))
        emb = None if any(e is None for e in embeds) else np.concatenate(embeds)
        return np.concatenate(logits), emb

    def windows(self, crops: np.ndarray, source_hz: int) -> tuple:
        """kit windows (B, samples) at source_hz -> (logits (B, classes), embedding (B, D) or None), the views
        of each window pooled (module docstring)."""
        from kit.audio import resample, segment

        crops = np.asarray(crops, dtype=np.float32)
        if crops.ndim != 2:
            raise ForeignModelError(f"{self.path}: windows must be (batch, samples), got shape {crops.shape}")
        x = resample(crops, int(source_hz), self.sample_rate_hz) if int(source_hz) != self.sample_rate_hz else crops
        window_s = crops.shape[1] / float(source_hz)
        offsets = [int(round(o * self.sample_rate_hz)) for o in view_offsets_s(window_s, self.input_s,
                                                                                 self.view_step_s)]
        views = np.stack([np.stack([segment(row, off, self.input_samples, "constant") for row in x])
                          for off in offsets])                                  # (V, B, input_samples)
        logits, emb = self._run_batched(views.reshape(-1, self.input_samples))
        logits = pooled_logits(logits.reshape(len(offsets), len(crops), -1))
        if emb is not None:
            emb = emb.reshape(len(offsets), len(crops), -1).mean(axis=0)
        return logits, emb


def sniff_kind(path) -> str:
    """'onnx' or 'tflite' from the file's content (a TFLite flatbuffer's identifier) and name."""
    path = Path(path)
    if not path.is_file():
        raise ForeignModelError(f"{path}: model file not found")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head[4:8] == TFLITE_MAGIC:
        return "tflite"
    if path.suffix.lower() == ".tflite":
        raise ForeignModelError(f"{path}: named .tflite but not a TFLite model (no 'TFL3' identifier); give the "
                                f"model file itself")
    if path.suffix.lower() == ".onnx" or head[:1] == b"\x08":  # an ONNX ModelProto starts with ir_version (field 1)
        return "onnx"
    raise ForeignModelError(f"{path}: neither an ONNX nor a TFLite model; a foreign teacher is an .onnx file (e.g. "
                            f"Perch v2's perch_v2_no_dft.onnx) or a .tflite file (e.g. BirdNET V2.4)")


__all__ = ["ForeignModel", "view_offsets_s", "pooled_logits", "sniff_kind", "INSTALL_HINT"]
