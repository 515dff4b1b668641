"""`python -m kit pseudo-label`: soft labels for unlabeled soundscapes (or any recordings) from one checkpoint
or an ensemble, through the submission path itself (kit.infer.predict_soundscapes: the same windows,
preprocessing from the checkpoints, TTA / smoothing from their InferConfig, the same runtimes).

    python -m kit pseudo-label --checkpoint run/best.ckpt [--checkpoint ...] --soundscapes D/train_soundscapes
        --out pseudo.csv [--power 2] [--threshold 0.05] [--top-k 3] [--min-confidence 0.5] [--shift-s 0.5]
    python -m kit pseudo-label --teacher MODEL.onnx|MODEL.tflite|birdnet --teacher-labels LABELS --data D
        --soundscapes D/train_audio --soundscapes D/train_soundscapes --out teacher.csv

With --teacher, a foreign model (kit.infer.teacher) labels the windows instead: its classes mapped to D's
labels through D/taxonomy.csv by scientific name; unmatched labels left empty (no signal, masked in the loss);
its embeddings written beside the CSV (teacher.embeddings.npz) for `kit train --teacher-embeddings`.

Written with kit.softlabels (a provenance line, then filename,end_s,<labels>). Sharpening and filtering, in
this order: p ** power (power > 1 pushes uncertain labels down, as the 2025 winner did between rounds),
probabilities below `threshold` set to 0, only the `top_k` highest of a window kept (0 = all). Windows left
all-zero stay: they say "nothing of these labels here". `min_confidence` leaves out the windows whose highest
probability (before sharpening) is below it: the teacher is unsure there. `shift_s` > 0 first averages each
window's probabilities with the ensemble's on the input moved by -shift_s and +shift_s seconds of the recording
itself (a cleaner label for a short call near a window's edge; each recording decoded whole for those views).
Windows no model computed (an unreadable file, the time budget) are left out, with the warning predict gives.
Folders are searched recursively, so `--soundscapes D/train_audio` labels the training clips too (distillation: a
student learns the ensemble's probabilities on both).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

MIN_CONFIDENCE = 0.3  # = PseudoConfig.pseudo_min_confidence; measured on the short proxy (docs/pseudo-labels.md)


def audio_files(sources) -> list:
    """Audio files of the given files / folders (folders recursively), sorted, without duplicates."""
    from kit.audio import iter_audio_files

    found = []
    for source in (Path(os.path.abspath(s)) for s in sources):  # absolute, symlinks kept as the user placed them
        if source.is_file():
            found.append(source)
        elif source.is_dir():
            found += iter_audio_files(source, recursive=True)
        else:
            raise FileNotFoundError(f"{source}: no such file or folder to pseudo-label")
    return list(dict.fromkeys(found))


def sharpen(probs: np.ndarray, power: float = 1.0, threshold: float = 0.0, top_k: int = 0) -> np.ndarray:
    """p ** power, then values < threshold -> 0, then all but the top_k of each row -> 0 (top_k=0: keep all)."""
    if power <= 0 or not 0 <= threshold < 1 or top_k < 0:
        raise ValueError(f"need power > 0, 0 <= threshold < 1, top_k >= 0; got {power}, {threshold}, {top_k}")
    out = np.power(probs.astype(np.float64), power)
    out[out < threshold] = 0.0
    if top_k and top_k < out.shape[1]:
        keep = np.zeros_like(out, dtype=bool)
        np.put_along_axis(keep, np.argsort(-out, axis=1, kind="stable")[:, :top_k], True, axis=1)
        out[~keep] = 0.0
    return out.astype(np.float32)


def shifted_views(members, predictions, shift_s: float, device) -> np.ndarray:
    """(rows, labels): the ensemble's mean probability on each computed window of `predictions` (predict_windows'
    WindowPredictions) with the model input moved by -shift_s and by +shift_s seconds of the recording's own audio (kept
    inside the recording: kit.audio.moved_input_start); rows not computed stay 0. Each recording is decoded
    whole, once per audio config of the members."""
    from kit.audio import load_audio, moved_input_start, segment, valid_samples, waveform_pad_mode
    from kit.infer.members import Runner, union_labels

    labels, groups = union_labels(members), {}
    for m in members:
        groups.setdefault(m.config.audio, []).append(m)
    frame, files = predictions.frame, predictions.files
    rows, index = np.flatnonzero(predictions.computed), predictions.file_index
    ends = frame["row_id"].str.rsplit("_", n=1).str[1].astype(float).to_numpy()
    sums, counts = np.zeros((len(frame), len(labels)), np.float32), np.zeros(len(labels), np.int64)
    for cfg, group in groups.items():
        runner = Runner(group, group[0].config.infer.infer_batch_size, device, labels)
        for m in runner.active():
            counts[runner.columns[id(m)]] += 2
        for f in np.unique(index[rows]):
            mine = rows[index[rows] == f]
            x = load_audio(files[f], cfg.sample_rate_hz)
            for sign in (-1, 1):
                offset = int(round(sign * shift_s * cfg.sample_rate_hz))
                starts = [moved_input_start(int(round(e / cfg.window_s)) - 1, offset, len(x), cfg) for e in ends[mine]]
                crops = np.stack([segment(x, s, cfg.crop_samples, waveform_pad_mode(cfg)) for s in starts])
                sums[mine] += runner(crops, valid_samples(starts, cfg.crop_samples, len(x)), "none")[0]
    return sums / np.maximum(counts, 1)


def pseudo_label(checkpoints, sources, out_csv, power: float = 1.0, threshold: float = 0.0, top_k: int = 0,
                 device="auto", runtime: str = "torch", budget_min=None, min_confidence: float = MIN_CONFIDENCE,
                 shift_s: float = 0.0, decode: str = "auto"):
    """Write the soft-label CSV of every window of `sources`; returns its DataFrame. The settings are the
    PseudoConfig labelling keys (pseudo_power, ...; PseudoConfig.labelling() gives them as these arguments)."""
    import kit
    from kit.infer.members import load_members, union_labels
    from kit.infer.predict import predict_windows
    from kit.softlabels import write_soft_labels
    from kit.utils import pick_device

    sharpen(np.zeros((1, 1)), power, threshold, top_k)  # refuse bad settings before any work
    if not 0 <= min_confidence < 1:
        raise ValueError(f"need 0 <= min_confidence < 1; got {min_confidence}")
    if not 0 <= shift_s < 5:
        raise ValueError(f"need 0 <= shift_s < 5 (seconds the extra views move the window by); got {shift_s}")
    files = audio_files(sources)
    if not files:
        raise FileNotFoundError(f"no audio file (.ogg .wav .flac .mp3) in {', '.join(map(str, sources))}")
    device = pick_device(device) if isinstance(device, str) else device
    members = load_members(checkpoints, device, runtime)
    predictions = predict_windows(members, files, device=device, runtime=runtime, decode=decode,
                                  budget_s=None if budget_min is None else 60 * budget_min)
    frame, labels, window_s = predictions.frame, union_labels(members), members[0].config.audio.window_s
    if shift_s:
        frame[labels] = (frame[labels].to_numpy() + 2 * shifted_views(members, predictions, shift_s, device)) / 3
    keep = predictions.computed & (frame[labels].max(axis=1).to_numpy() >= min_confidence)
    if predictions.computed.any() and not keep.any():
        warnings.warn(f"{out_csv}: no window's top probability reaches min_confidence={min_confidence}: the CSV "
                      f"holds no window (a run with it trains on the labelled recordings only); lower "
                      f"--min-confidence")
    index = predictions.file_index[keep]
    root = Path(os.path.commonpath([str(p.parent) for p in files]))
    out = frame.loc[keep, labels].reset_index(drop=True)
    out[labels] = sharpen(out[labels].to_numpy(), power, threshold, top_k)
    ends = frame.loc[keep, "row_id"].str.rsplit("_", n=1).str[1].astype(int).to_numpy()
    out.insert(0, "end_s", ends)
    out.insert(0, "filename", [files[i].relative_to(root).as_posix() for i in index])
    provenance = {"labels": labels, "checkpoints": [os.path.abspath(m.path) for m in members],
                  "root": str(root), "window_s": window_s, "power": power, "threshold": threshold,
                  "top_k": top_k, "min_confidence": min_confidence, "shift_s": shift_s, "runtime": runtime,
                  "kit_version": kit.__version__, "files": len(files),
                  "sources": [os.path.abspath(s) for s in sources]}
    write_soft_labels(out_csv, out, provenance)
    return out


__all__ = ["pseudo_label", "sharpen", "audio_files", "MIN_CONFIDENCE"]
