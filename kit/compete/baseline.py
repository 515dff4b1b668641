"""Baseline: logistic regression on the per-clip mean and std of the log-mel, scored on the same windows.

Training uses every train_audio clip of a competition folder (whole clip -> one 2*n_mels vector); inference
computes the same vector for each 5 s window of each test soundscape (the windows kit.audio.iter_windows gives
the neural models) and writes a validated submission.csv. The reference in shared/data/README.md is this model.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from kit.audio import iter_audio_files, iter_windows, load_audio
from kit.config import AudioConfig, FeatureConfig
from kit.features import FeatureExtractor
from kit.formats import read_sample_labels, row_ids
from kit.infer import write_submission
from kit.utils import progress, resolve_inside


def _stats(extractor: FeatureExtractor, waves) -> np.ndarray:
    """(N, 2*n_mels) mean and std over time of the log-mel of each waveform (a list or an (N, L) array)."""
    import torch

    rows = []
    with torch.no_grad():
        for wave in waves:
            mel = extractor(torch.as_tensor(np.asarray(wave, dtype=np.float32))[None])[0, 0]  # (n_mels, T)
            rows.append(torch.cat([mel.mean(dim=-1), mel.std(dim=-1)]).numpy())
    return np.stack(rows)


def fit_baseline(comp_dir, audio: AudioConfig = AudioConfig(), c_inverse_reg: float = 1.0, seed: int = 0):
    """(fitted sklearn pipeline, extractor) from comp_dir/train_metadata.csv and train_audio."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    comp_dir = Path(comp_dir)
    meta_path = next((comp_dir / n for n in ("train_metadata.csv", "train.csv") if (comp_dir / n).is_file()),
                     comp_dir / "train_metadata.csv")  # BirdCLEF 2021-2024 | 2025
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path} not found: is {comp_dir} a competition folder?")
    meta = pd.read_csv(meta_path)
    extractor = FeatureExtractor(audio, FeatureConfig(norm_mel="none")).eval()
    waves = [load_audio(resolve_inside(comp_dir / "train_audio", f), audio.sample_rate_hz)
             for f in progress(meta["filename"], desc="baseline features")]
    features = _stats(extractor, waves)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c_inverse_reg, max_iter=3000, random_state=seed))
    model.fit(features, meta["primary_label"].astype(str))
    return model, extractor


def predict_baseline(model, extractor: FeatureExtractor, comp_dir, out_csv, audio: AudioConfig = AudioConfig()):
    """Write submission.csv for comp_dir/test_soundscapes; returns (DataFrame, windows scored, seconds)."""
    comp_dir = Path(comp_dir)
    labels, sample = read_sample_labels(comp_dir / "sample_submission.csv")
    classes = list(model.classes_)
    frames, windows, start = [], 0, time.perf_counter()
    for path in progress(iter_audio_files(comp_dir / "test_soundscapes"), desc="baseline soundscapes"):
        for batch in iter_windows(path, audio):
            probs = model.predict_proba(_stats(extractor, batch.crops))
            frame = pd.DataFrame(0.0, index=range(len(probs)), columns=labels)
            for j, label in enumerate(classes):
                if label in frame.columns:
                    frame[label] = probs[:, j]
            frame.insert(0, "row_id", row_ids(path.stem, batch.end_s))
            frames.append(frame)
            windows += len(probs)
    seconds = time.perf_counter() - start
    submission = pd.concat(frames, ignore_index=True) if frames else sample.iloc[:0]
    write_submission(submission, out_csv, labels)
    return submission, windows, seconds


def run_baseline(comp_dir, out_csv, audio: AudioConfig = AudioConfig(), seed: int = 0) -> dict:
    """Fit, predict, and score when comp_dir/solution.csv exists; returns a result row for the report."""
    from kit.compete.score import score_files

    start = time.perf_counter()
    model, extractor = fit_baseline(comp_dir, audio, seed=seed)
    train_s = time.perf_counter() - start
    _, windows, infer_s = predict_baseline(model, extractor, comp_dir, out_csv, audio)
    row = {"model": "baseline (logreg on mel mean+std)", "train_min": train_s / 60,
           "windows_per_s": windows / max(infer_s, 1e-9), "submission": str(out_csv)}
    solution = Path(comp_dir) / "solution.csv"
    if solution.is_file():
        row.update(score_files(out_csv, solution))
    return row
