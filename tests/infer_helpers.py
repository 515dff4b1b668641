"""Helpers for the inference / export / bundle / notebook tests: a tiny random-weight checkpoint and a small
BirdCLEF-layout competition folder built from ../shared/data (symlinks + soundscapes stitched from clips)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

TINY_SETS = ["cnn_channels=4,8", "n_mels=32", "n_mfcc=32", "head_hidden=8", "infer_batch_size=4"]


def field_folder(folder, shared_data, names) -> Path:
    """`folder` holding symlinks to ../shared/data/field/<name> for each name (real field recordings)."""
    folder = Path(folder)
    for name in names:
        (folder / name).symlink_to(Path(shared_data) / "field" / name)
    return folder


def tiny_checkpoint(path, labels=("a", "b", "c"), seed: int = 0, sets=()) -> Path:
    import torch

    from kit.checkpoint import Checkpoint, save_checkpoint
    from kit.config import Config
    from kit.models import create_model

    config = Config().override(TINY_SETS + list(sets))
    torch.manual_seed(seed)
    model = create_model(config, num_classes=len(labels), pretrained=False)
    return save_checkpoint(path, Checkpoint(config=config, labels=list(labels), state_dict=model.state_dict()))


def make_competition_dir(clips, out, n_labels: int = 3, clips_per_label: int = 2, n_soundscapes: int = 2,
                         clips_per_soundscape: int = 4, sample_extra_label: str = "") -> tuple:
    """(folder, labels): train_metadata.csv, train_audio/<label>/ symlinks, test_soundscapes/*.ogg, sample."""
    import pandas as pd
    import soundfile as sf

    from kit.audio import load_audio

    out = Path(out)
    labels = sorted({lab for _, lab in clips})[:n_labels]
    rows = []
    for lab in labels:
        (out / "train_audio" / lab).mkdir(parents=True, exist_ok=True)
        for path, _ in [c for c in clips if c[1] == lab][:clips_per_label]:
            (out / "train_audio" / lab / path.name).symlink_to(path)
            rows.append({"primary_label": lab, "secondary_labels": "[]", "filename": f"{lab}/{path.name}"})
    pd.DataFrame(rows).to_csv(out / "train_metadata.csv", index=False)
    (out / "test_soundscapes").mkdir()
    pool = [c[0] for c in clips if c[1] in labels]
    for k in range(n_soundscapes):
        parts = [load_audio(p, 32000) for p in pool[k::n_soundscapes][:clips_per_soundscape]]
        wave = np.concatenate(parts)[: -7000 * (k + 1)]  # a partial last window
        sf.write(str(out / "test_soundscapes" / f"soundscape_{k}.ogg"), wave, 32000, format="OGG", subtype="VORBIS")
    columns = ["row_id"] + labels + ([sample_extra_label] if sample_extra_label else [])
    sample = pd.DataFrame([["soundscape_x_5"] + [0.0] * (len(columns) - 1)], columns=columns)
    sample.to_csv(out / "sample_submission.csv", index=False)
    return out, labels


def validation_probs(checkpoint, audio_path) -> np.ndarray:
    """Probabilities of each 5 s window by the training/validation path: split_crops -> crop_logits."""
    import dataclasses

    import torch

    from kit.audio import load_audio, split_crops, window_count
    from kit.checkpoint import load_model

    model, ckpt = load_model(checkpoint, "cpu")
    x = load_audio(audio_path, ckpt.config.audio.sample_rate_hz)
    k = window_count(len(x), ckpt.config.audio)
    crops, valid = split_crops(x, dataclasses.replace(ckpt.config.audio, crops_per_recording=k))
    with torch.inference_mode():
        logits = model.crop_logits(torch.from_numpy(crops)[None], torch.from_numpy(valid)[None])[0]
    return torch.sigmoid(logits).numpy()
