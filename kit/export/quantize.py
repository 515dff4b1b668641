"""int8 members: ONNX Runtime static quantization of a member's network graph (features in, probabilities out;
QDQ format, per-channel int8 weights, uint8 activations, calibrated on real windows). The front-end stays
float32 (a log-mel's dynamic range does not survive 8 bits) and is shared by the members of its group.

    python -m kit export --checkpoint best.ckpt --out best.int8.onnx --precision int8 --calibrate AUDIO_OR_DIR \
        [--calib-windows 128] [--calibrate-method percentile|minmax] [--competition DIR]

Activation ranges come from the 99.999th percentile of each tensor's calibration values (`percentile`, the
default) or from their min and max (`minmax`: 6x faster to quantize, but one outlier widens a whole tensor's
step; on efficientnet_b0 trained 10 / 40 epochs it agreed with fp32 on 0.548 / 0.823 of held-out windows
against 0.75 / 0.927 for percentile).

This module writes the int8 graph; running it (the accuracy report of `kit export --precision int8`, int8 members
of `kit predict --precision int8`) is kit.infer.int8's.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import logging
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np

INT8_SUFFIX = ".int8.onnx"
AGREEMENT_WARN = 0.99
CALIB_WINDOWS = 64
CALIBRATE_METHODS = ("percentile", "minmax")
CALIB_PERCENTILE = 99.999


class Int8Error(ValueError):
    """A bad int8 model file or calibration set; the message names the file and the problem."""


def int8_path_for(checkpoint) -> Path:
    """Where `kit export --precision int8` puts a checkpoint's int8 network by convention: best.ckpt ->
    best.int8.onnx (kit predict --precision int8 looks there)."""
    return Path(checkpoint).with_suffix(INT8_SUFFIX)


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def int8_metadata(checkpoint, ckpt) -> dict:
    """What load_int8 checks: labels, the checkpoint's sha256, the preprocessing."""
    config = {"audio": asdict(ckpt.config.audio), "features": asdict(ckpt.config.features)}
    return {"kit_precision": "int8", "kit_input": "features", "kit_labels": json.dumps(list(ckpt.labels)),
            "kit_checkpoint_sha256": file_sha256(checkpoint), "kit_preprocessing": json.dumps(config, default=str)}


def audio_sources(sources) -> list:
    """Audio files of files and folders (folders searched recursively), sorted per folder."""
    from kit.audio import iter_audio_files

    files = []
    for source in [sources] if isinstance(sources, (str, Path)) else list(sources or []):
        source = Path(source)
        files += iter_audio_files(source, recursive=True) if source.is_dir() else [source]
    return files


def window_features(config, files, max_windows: int) -> np.ndarray:
    """(N, C, H, T) float32 features of up to `max_windows` windows of the audio files, taken evenly across the
    files, by kit's front-end with the checkpoint's (inference) config."""
    import torch

    from kit.audio import iter_windows
    from kit.features import FeatureExtractor

    frontend = FeatureExtractor(config.audio, config.features).eval()
    per_file = max(1, -(-max_windows // max(1, len(files))))
    out: list = []
    for path in files:
        taken = 0
        for batch in iter_windows(path, config.audio, 16):
            crops = batch.crops[: per_file - taken]
            with torch.inference_mode():
                out.append(frontend(torch.from_numpy(crops), torch.from_numpy(batch.valid[:len(crops)])).numpy())
            taken += len(crops)
            if taken >= per_file:
                break
    feats = np.concatenate(out) if out else np.zeros((0,) + (1, 1, 1), np.float32)
    return np.ascontiguousarray(feats[:max_windows], dtype=np.float32)


def _reader(feats: np.ndarray, input_name: str):
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        """One calibration window per run."""

        def __init__(self):
            self.items = iter([{input_name: feats[i:i + 1]} for i in range(len(feats))])

        def get_next(self):
            return next(self.items, None)

    return Reader()


def quantize_network(network_onnx, calib_feats: np.ndarray, out_path, metadata: dict, source: str = "",
                     per_channel: bool = True, calibrate_method: str = "percentile") -> Path:
    """Write the int8 network (QDQ) calibrated on `calib_feats` (N, C, H, T) to out_path atomically; the method
    (CALIBRATE_METHODS) is recorded in its metadata as kit_calibrate_method."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from kit.utils import atomic_write_bytes

    if calibrate_method not in CALIBRATE_METHODS:
        raise Int8Error(f"{source or out_path}: calibrate_method={calibrate_method!r} is not one of "
                        f"{', '.join(CALIBRATE_METHODS)}; nothing was written")
    if len(calib_feats) == 0:
        raise Int8Error(f"{source or out_path}: the calibration set is empty (no window of audio to calibrate on); "
                        f"give audio files or folders with --calibrate; nothing was written")
    if calibrate_method == "percentile" and not _two_sided_percentile():
        warnings.warn(f"{source or out_path}: this onnxruntime's percentile calibration clips negative activations "
                      f"(a one-sided histogram); calibrating with minmax instead (upgrade onnxruntime for percentile)")
        calibrate_method = "minmax"
    method = {"percentile": CalibrationMethod.Percentile, "minmax": CalibrationMethod.MinMax}[calibrate_method]
    with tempfile.TemporaryDirectory(prefix="kit-int8-") as tmp_name:
        tmp = Path(tmp_name)
        prepared = _preprocess(Path(network_onnx), tmp / "prepared.onnx")
        root = logging.getLogger()
        level, _ = root.level, root.setLevel(logging.ERROR)  # per-channel notes about 1-D BatchNorm weights
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the histogram calibrater prints its progress
                quantize_static(str(prepared), str(tmp / "int8.onnx"), _reader(calib_feats, "features"),
                                quant_format=QuantFormat.QDQ, per_channel=per_channel,
                                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                                calibrate_method=method, extra_options={"CalibPercentile": CALIB_PERCENTILE})
        finally:
            root.setLevel(level)
        model = onnx.load(str(tmp / "int8.onnx"))
        for key, value in {**metadata, "kit_calibrate_method": calibrate_method}.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        atomic_write_bytes(out_path, model.SerializeToString())
    return Path(out_path)


@functools.lru_cache(maxsize=1)
def _two_sided_percentile() -> bool:
    """Whether this onnxruntime's percentile calibration keeps a tensor's negative range (older releases built the
    histogram of |x| and so put the lower threshold near 0): probed on a tiny tensor, not read from a version."""
    try:
        from onnxruntime.quantization.calibrate import HistogramCollector

        collector = HistogramCollector(method="percentile", symmetric=False, num_bins=128, num_quantized_bins=128,
                                       percentile=99.0, scenario="same")
        with contextlib.redirect_stdout(io.StringIO()):
            collector.collect({"x": np.linspace(-4.0, 1.0, 1001, dtype=np.float32)})
            low = collector.compute_collection_result()["x"][0]
        return float(low) < -3.0
    except Exception:  # an API this probe does not know: do not trust the method
        return False


def _preprocess(network: Path, out: Path) -> Path:
    """ONNX Runtime's recommended pre-processing (shape inference, graph optimization) before quantization."""
    try:
        from onnxruntime.quantization.shape_inference import quant_pre_process

        quant_pre_process(str(network), str(out), skip_symbolic_shape=True)
        return out
    except Exception as exc:  # an older onnxruntime, or a graph it cannot pre-process: quantize as exported
        warnings.warn(f"int8: quantization pre-processing skipped ({type(exc).__name__}: {exc})")
        return network


__all__ = ["Int8Error", "INT8_SUFFIX", "CALIBRATE_METHODS", "CALIB_WINDOWS", "AGREEMENT_WARN", "int8_path_for",
           "quantize_network", "window_features", "audio_sources", "int8_metadata", "file_sha256"]
