"""ONNX adapter of a foreign model: ONNX Runtime (CPU, or CUDA when onnxruntime-gpu has it), Perch v2's signature
by default: one input (B, 160000) float32 = 5 s at 32 kHz, outputs `label` (B, 14795) logits and `embedding`
(B, 1536). The input name is the model's only input; output names, rate and input length are options."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from kit.foreign.errors import ForeignModelError
from kit.foreign.model import INSTALL_HINT, ForeignModel

PERCH_LOGITS, PERCH_EMBEDDING, PERCH_RATE_HZ, PERCH_INPUT_S = "label", "embedding", 32000, 5.0


def _session(path: Path, threads: Optional[int]):
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ForeignModelError(f"{path}: an ONNX teacher needs onnxruntime: {INSTALL_HINT}") from exc
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:
        raise ForeignModelError(f"{path}: ONNX Runtime cannot load it as an ONNX model ({type(exc).__name__}: "
                                f"{str(exc)[:300]})") from exc


def _static(dim) -> Optional[int]:
    return dim if isinstance(dim, int) and dim > 0 else None


class OnnxForeignModel(ForeignModel):
    kind = "onnx"

    def __init__(self, path, class_names: list, logits_name: str = PERCH_LOGITS,
                 embedding_name: Optional[str] = PERCH_EMBEDDING, sample_rate_hz: int = PERCH_RATE_HZ,
                 input_s: float = PERCH_INPUT_S, threads: Optional[int] = None):
        self.path, self.class_names = Path(path), list(class_names)
        self.sample_rate_hz, self.input_s = int(sample_rate_hz), float(input_s)
        self.session = _session(self.path, threads)
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ForeignModelError(f"{path}: has {len(inputs)} inputs ({[i.name for i in inputs]}); a foreign "
                                    f"model takes one waveform batch (B, samples)")
        self.input_name, shape = inputs[0].name, list(inputs[0].shape)
        samples = _static(shape[-1]) if shape else None
        if len(shape) != 2 or (samples is not None and samples != self.input_samples):
            raise ForeignModelError(f"{path}: input {self.input_name!r} has shape {shape}; expected (batch, "
                                    f"{self.input_samples}) = {self.input_s:g} s at {self.sample_rate_hz} Hz (set "
                                    f"--teacher-rate-hz / --teacher-input-s for another model)")
        outputs = {o.name: o for o in self.session.get_outputs()}
        for name in [logits_name] + ([embedding_name] if embedding_name else []):
            if name not in outputs:
                raise ForeignModelError(f"{path}: no output named {name!r}; its outputs are {sorted(outputs)} "
                                        f"(set --teacher-logits / --teacher-embedding)")
        self.logits_name, self.embedding_name = logits_name, embedding_name or None
        width = _static(list(outputs[logits_name].shape)[-1])
        if width is not None and width != len(self.class_names):
            raise ForeignModelError(f"{path}: output {logits_name!r} has {width} logits but the class-name file "
                                    f"has {len(self.class_names)} names; give the labels file of this model")
        self.embedding_dim = (_static(list(outputs[embedding_name].shape)[-1]) or 0) if embedding_name else 0

    def run(self, batch: np.ndarray) -> tuple:
        names = [self.logits_name] + ([self.embedding_name] if self.embedding_name else [])
        out = self.session.run(names, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})
        logits = np.asarray(out[0], dtype=np.float32).reshape(len(batch), -1)
        if logits.shape[1] != len(self.class_names):
            raise ForeignModelError(f"{self.path}: gave {logits.shape[1]} logits for {len(self.class_names)} class "
                                    f"names; give the labels file of this model")
        emb = np.asarray(out[1], dtype=np.float32).reshape(len(batch), -1) if self.embedding_name else None
        if emb is not None:
            self.embedding_dim = emb.shape[1]
        return logits, emb


__all__ = ["OnnxForeignModel", "PERCH_LOGITS", "PERCH_EMBEDDING", "PERCH_RATE_HZ", "PERCH_INPUT_S"]
