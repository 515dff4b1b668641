"""int8 members at inference: an int8 network file checked against its checkpoint (`load_int8`), the (front-end,
network) pair of an ONNX Runtime member, int8 quantized on load when no file is beside the checkpoint
(`onnx_member`), and the quantization of a checkpoint with its accuracy report (`quantize_checkpoint`, what
`kit export --precision int8` runs). The graphs and the quantization itself are kit.export's (quantize_network).

The windows of the calibration audio alternate: even ones calibrate, odd ones are held out. The report gives the
top-1 agreement of int8 with float32 on both (and, with a mini-competition folder, the padded cmAP of each on
its test soundscapes) and warns below 0.99. `kit predict --precision int8` uses `<checkpoint>.int8.onnx` when
it exists (its labels and the checkpoint's sha256 are checked), else quantizes on load.
"""
from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

import numpy as np

from kit.export import (AGREEMENT_WARN, CALIB_WINDOWS, Int8Error, audio_sources, file_sha256, int8_metadata,
                        int8_path_for, quantize_network, window_features)


def load_int8(path, checkpoint, ckpt):
    """OnnxNetwork of an int8 file written for this checkpoint; Int8Error naming the file otherwise."""
    from kit.infer.runtimes import OnnxNetwork, onnx_session

    path = Path(path)
    try:
        session = onnx_session(path)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise Int8Error(f"{path}: not a readable ONNX model ({first}); write it again with kit export --checkpoint "
                        f"{checkpoint} --precision int8") from None
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get("kit_precision") != "int8" or meta.get("kit_input") != "features":
        raise Int8Error(f"{path}: not an int8 network written by kit export --precision int8 (no kit metadata); "
                        f"write it again")
    labels = json.loads(meta.get("kit_labels", "[]"))
    if labels != list(ckpt.labels):
        raise Int8Error(f"{path}: its {len(labels)} labels are not {checkpoint}'s {len(ckpt.labels)}; it was "
                        f"quantized from another model: write it again with kit export --precision int8")
    if meta.get("kit_checkpoint_sha256") != file_sha256(checkpoint):
        raise Int8Error(f"{path}: quantized from another checkpoint than {checkpoint} (sha256 differs: another fold "
                        f"or a retrained model?); write it again with kit export --precision int8")
    return OnnxNetwork(path, session=session)


def top1_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Share of rows whose highest-probability label is the same in a and b."""
    return float((np.asarray(a).argmax(axis=1) == np.asarray(b).argmax(axis=1)).mean()) if len(a) else float("nan")


def onnx_member(checkpoint, precision: str = "fp32", calibration=(), frontends=None) -> tuple:
    """(OnnxFrontend, OnnxNetwork, Checkpoint) for kit.infer: the member's graphs in ONNX Runtime. `frontends`
    (a dict, or None) holds one front-end per audio + feature config, shared by the members that have it."""
    from kit.checkpoint import load_checkpoint
    from kit.export import export_parts
    from kit.infer.runtimes import OnnxFrontend, OnnxNetwork

    loaded = load_checkpoint(checkpoint)
    config = loaded.config.for_inference()
    key = (config.audio, config.features)
    existing = int8_path_for(checkpoint)
    int8 = load_int8(existing, checkpoint, loaded) if precision == "int8" and existing.is_file() else None
    frontends = {} if frontends is None else frontends
    with tempfile.TemporaryDirectory(prefix="kit-onnx-") as tmp_name:
        tmp = Path(tmp_name)
        parts = export_parts(checkpoint, tmp, frontend=key not in frontends)
        ckpt = parts["checkpoint"]
        if key not in frontends:
            frontends[key] = OnnxFrontend(parts["frontend"])
        frontend = frontends[key]
        if precision == "fp32":
            return frontend, OnnxNetwork(parts["network"]), ckpt
        if int8 is not None:  # checked before any export: a bad file fails fast, naming itself
            return frontend, int8, ckpt
        files = audio_sources(calibration)
        feats = window_features(ckpt.config, files, CALIB_WINDOWS)
        where = f"{checkpoint} (no {existing.name} beside it; calibration audio: {len(files)} file(s))"
        quantized = quantize_network(parts["network"], feats, tmp / "int8.onnx", int8_metadata(checkpoint, ckpt), where)
        warnings.warn(f"{checkpoint}: int8 network quantized on load, calibrated on {len(feats)} window(s) of "
                      f"{len(files)} file(s) (kit export --precision int8 writes {existing.name} ahead of time)")
        return frontend, OnnxNetwork(quantized), ckpt


def quantize_checkpoint(checkpoint, out_path, calibration, calib_windows: int = 128, competition=None,
                        calibrate_method: str = "percentile") -> dict:
    """Write the int8 network of a checkpoint (kit.export.quantize_network) and return its accuracy report, run in
    ONNX Runtime: top-1 agreement with float32 on the calibration and held-out windows; padded cmAP of both on a
    mini-competition when one is given. `kit export --precision int8` is this."""
    from kit.export import export_parts
    from kit.infer.runtimes import OnnxNetwork

    files = audio_sources(calibration)
    with tempfile.TemporaryDirectory(prefix="kit-export-") as tmp_name:
        parts = export_parts(checkpoint, Path(tmp_name), frontend=False)
        ckpt = parts["checkpoint"]
        feats = window_features(ckpt.config, files, 2 * calib_windows)
        calib, hold = feats[0::2], feats[1::2]
        where = f"{out_path} (calibration audio: {', '.join(map(str, calibration or [])) or 'none'})"
        quantize_network(parts["network"], calib, out_path, int8_metadata(checkpoint, ckpt), where,
                         calibrate_method=calibrate_method)
        fp32, int8 = _batched(OnnxNetwork(parts["network"])), _batched(OnnxNetwork(out_path))
        report = {"out": str(out_path), "calibrate_method": calibrate_method, "calibration_windows": len(calib),
                  "holdout_windows": len(hold),
                  "top1_agreement_calibration": top1_agreement(fp32(calib), int8(calib)),
                  "top1_agreement_holdout": top1_agreement(fp32(hold), int8(hold)) if len(hold) else None,
                  "max_abs_diff": float(np.abs(fp32(feats) - int8(feats)).max())}
        if competition is not None:
            report.update(competition_delta(ckpt, fp32, int8, competition))
    hold_agreement = report["top1_agreement_holdout"]
    agreement = report["top1_agreement_calibration"] if hold_agreement is None else hold_agreement
    report["top1_agreement"] = agreement
    if agreement < AGREEMENT_WARN:
        warnings.warn(f"{out_path}: int8 top-1 agreement with float32 is {agreement:.3f} < {AGREEMENT_WARN}: "
                      f"calibrate on more (or more typical) windows, or keep this member in float32")
    return report


def _batched(network):
    from kit.infer.runtimes import in_runs

    return lambda feats: in_runs(network.run, feats)


def competition_delta(ckpt, fp32_run, int8_run, folder) -> dict:
    """Padded cmAP of float32 and int8 on a mini-competition's test soundscapes against its solution.csv."""
    import pandas as pd

    from kit.audio import iter_windows
    from kit.formats import row_ids
    from kit.metrics import padded_cmap

    folder = Path(folder)
    solution = pd.read_csv(folder / "solution.csv")
    labels = [c for c in solution.columns if c != "row_id" and c in set(ckpt.labels)]
    if not labels:
        raise Int8Error(f"{folder / 'solution.csv'}: none of its labels is one of the model's; no score delta")
    files = audio_sources(folder / "test_soundscapes")
    feats = window_features(ckpt.config, files, 10 ** 9)
    ids = [rid for path in files for batch in iter_windows(path, ckpt.config.audio, 64)
           for rid in row_ids(path.stem, batch.end_s)]
    cols = [list(ckpt.labels).index(lab) for lab in labels]
    truth = solution.set_index("row_id").loc[ids, labels].to_numpy()
    scores = {name: padded_cmap(truth, run(feats)[:, cols]) for name, run in (("fp32", fp32_run), ("int8", int8_run))}
    return {"cmap_fp32": scores["fp32"], "cmap_int8": scores["int8"], "cmap_delta": scores["int8"] - scores["fp32"],
            "competition_windows": len(ids)}


__all__ = ["load_int8", "top1_agreement", "onnx_member", "quantize_checkpoint", "competition_delta"]
