"""Small training sets for the training tests, written into a test's tmp folder (never into the repo)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

SAMPLE_RATE_HZ = 32000
# A held-out split (valid_frac=0.2; the default is 0) and augmentation off: the plumbing tests train a few steps
# and compare losses and weights exactly; the recipe's
# augmentations are tested one by one in test_recipe.py and measured by `python -m kit bench quality`.
PLAIN = ["mixup_p=0", "noise_p=0", "shift_p=0", "empty_p=0", "specaug_p=0"]
TINY = ["cnn_channels=4,8", "head_hidden=16", "n_mels=32", "n_mfcc=32", "n_fft=512", "crop_s=1",
        "batch_size=8", "lr=3e-3", "warmup_frac=0", "valid_frac=0.2"] + PLAIN


def tone_clips(folder, labels=("low", "mid", "high"), per_label: int = 6, seconds: float = 3.0, seed: int = 0):
    """Clips of a noisy tone whose pitch says the label (an easy task); returns folder/labels.csv."""
    import soundfile as sf

    folder = Path(folder)
    (folder / "clips").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    lines = ["filename,label"]
    for li, label in enumerate(labels):
        for j in range(per_label):
            freq_hz = 400.0 * (2.5 ** li) * rng.uniform(0.95, 1.05)
            x = 0.3 * np.sin(2 * np.pi * freq_hz * t + rng.uniform(0, 6.3)) + 0.05 * rng.standard_normal(len(t))
            sf.write(str(folder / "clips" / f"{label}_{j}.ogg"), x.astype(np.float32), SAMPLE_RATE_HZ)
            lines.append(f"clips/{label}_{j}.ogg,{label}")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder / "labels.csv"


def esc50_subset(esc50_clips, folder, labels=("chirping_birds", "church_bells", "dog", "siren")) -> Path:
    """Copies of the real ESC-50 clips of `labels` in folder/audio + folder/labels.csv (filename,label)."""
    folder = Path(folder)
    lines = ["filename,label"]
    for path, label in esc50_clips:
        if label in labels:
            target = folder / "audio" / label / Path(path).name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            lines.append(f"audio/{label}/{Path(path).name},{label}")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder / "labels.csv"
