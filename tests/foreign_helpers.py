"""A small ONNX model with Perch v2's exact signature (input (B, 160000) float32; outputs `label` (B, 14795) logits
and `embedding` (B, 1536)), its class-name CSV (real scientific names at a few indices, fillers elsewhere) and a
BirdCLEF-layout competition whose taxonomy.csv holds an exact match, two genus cases (one whose genus holds a
class already mapped to another label: it must be left out) and an unmatched label."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import infer_helpers as H  # noqa: E402

CLASSES, EMBED, SAMPLES, FRAMES = 14795, 1536, 160000, 100
REAL = {0: "Turdus merula", 1: "Turdus viscivorus", 2: "Parus major", 3: "Turdus pilaris"}
# competition label i -> scientific name: exact, genus (Parus: class 2), genus (Turdus without merula: 1, 3), none
SCIENTIFIC = ["Turdus merula", "Parus minor", "Turdus philomelos", "Corvus corax"]


def class_names() -> list:
    return [REAL.get(i, f"Fillerus sp{i:05d}") for i in range(CLASSES)]


def perch_like(folder, seed: int = 0, samples: int = SAMPLES, classes: int = CLASSES) -> tuple:
    """(model.onnx, labels.csv): log frame energies (100 frames) -> linear logits and embedding."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weights = {"shape": np.array([-1, FRAMES, samples // FRAMES], np.int64),
               "eps": np.array([1e-6], np.float32),
               "w_label": (0.3 * rng.standard_normal((FRAMES, classes))).astype(np.float32),
               "b_label": (0.1 * rng.standard_normal(classes)).astype(np.float32),
               "w_embed": (0.1 * rng.standard_normal((FRAMES, EMBED))).astype(np.float32)}
    nodes = [helper.make_node("Reshape", ["inputs", "shape"], ["frames"]),
             helper.make_node("Mul", ["frames", "frames"], ["power"]),
             helper.make_node("ReduceMean", ["power"], ["energy"], axes=[2], keepdims=0),
             helper.make_node("Add", ["energy", "eps"], ["energy_eps"]),
             helper.make_node("Log", ["energy_eps"], ["log_energy"]),
             helper.make_node("MatMul", ["log_energy", "w_label"], ["raw_label"]),
             helper.make_node("Add", ["raw_label", "b_label"], ["label"]),
             helper.make_node("MatMul", ["log_energy", "w_embed"], ["embedding"])]
    graph = helper.make_graph(
        nodes, "perch_like", [helper.make_tensor_value_info("inputs", TensorProto.FLOAT, ["batch", samples])],
        [helper.make_tensor_value_info("label", TensorProto.FLOAT, ["batch", classes]),
         helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", EMBED])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))
    names = class_names() if classes == CLASSES else class_names()[:classes]
    import pandas as pd

    pd.DataFrame({"index": range(len(names)), "scientific_name": names}).to_csv(folder / "labels.csv", index=False)
    return folder / "model.onnx", folder / "labels.csv"


def run_onnx(model_path, crops: np.ndarray) -> tuple:
    """(logits, embedding) of the model on (B, 160000) crops, straight from ONNX Runtime."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return tuple(session.run(["label", "embedding"], {"inputs": crops.astype(np.float32)}))


def competition(clips, out) -> tuple:
    """(folder, labels): kit's test competition (4 labels, 2 clips each, 1 soundscape) + taxonomy.csv."""
    import pandas as pd

    folder, labels = H.make_competition_dir(clips, out, n_labels=4, clips_per_label=2, n_soundscapes=1,
                                            clips_per_soundscape=3)
    pd.DataFrame({"primary_label": labels, "scientific_name": SCIENTIFIC, "common_name": labels,
                  "class_name": "Aves"}).to_csv(Path(folder) / "taxonomy.csv", index=False)
    return Path(folder), labels


def windows_of(files, seconds: float = 5.0, rate_hz: int = 32000) -> tuple:
    """([(file, end_s)], crops (N, 160000)) of kit's windows of `files` (constant padding), in file order."""
    from kit.audio import iter_windows
    from kit.config import AudioConfig

    keys, crops = [], []
    for path in files:
        for batch in iter_windows(path, AudioConfig(sample_rate_hz=rate_hz, crop_s=seconds, window_s=seconds)):
            keys += [(Path(path), int(e)) for e in batch.end_s]
            crops.append(batch.crops)
    return keys, np.concatenate(crops)
