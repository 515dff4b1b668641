"""Feature benchmark: kit's torch front-end (both flavours) vs librosa on real 5 s crops, one run, interleaved.

    python -m kit bench features [--data ../shared/data] [--crops 64] [--repeats 5]
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np



def _real_crops(data_dir: Path, n_crops: int, cfg) -> np.ndarray:
    from kit.audio import iter_audio_files, load_crops

    files = sorted((data_dir / "esc50" / "audio").rglob("*.ogg"))
    if not files:
        files = iter_audio_files(data_dir / "field")
    if not files:
        raise FileNotFoundError(f"no audio under {data_dir}/esc50/audio or {data_dir}/field")
    crops = [load_crops(f, cfg.audio)[0][0] for f in files[:n_crops]]
    while len(crops) < n_crops:
        crops += crops[: n_crops - len(crops)]
    return np.stack(crops)


def run_features_bench(data_dir, n_crops: int = 64, repeats: int = 5) -> dict:
    """Median seconds per crop for each implementation; all timed in the same run, round robin (torch's threads:
    the caller's, `--threads` of the command)."""
    import librosa
    import torch

    from kit.config import Config
    from kit.features import FeatureExtractor

    cfg = Config()
    crops = _real_crops(Path(data_dir), n_crops, cfg)
    f = cfg.features
    fe_librosa = FeatureExtractor(cfg.audio, f)
    fe_torchaudio = FeatureExtractor(cfg.audio, Config().override(["flavour=torchaudio"]).features)
    batch = torch.from_numpy(crops)

    def librosa_crops():
        for x in crops:
            mel = librosa.feature.melspectrogram(y=x, sr=cfg.audio.sample_rate_hz, n_fft=f.n_fft,
                                                 hop_length=f.hop_length, n_mels=f.n_mels, fmin=f.f_min_hz,
                                                 fmax=cfg.audio.sample_rate_hz / 2)
            db = librosa.power_to_db(mel, top_db=f.top_db)
            (db - db.mean()) / (db.std() + 1e-6)

    impls = {
        "kit (librosa flavour), batched": lambda: fe_librosa(batch),
        "kit (torchaudio flavour), batched": lambda: fe_torchaudio(batch),
        "kit (librosa flavour), one crop at a time": lambda: [fe_librosa(c[None]) for c in batch],
        "librosa, one crop at a time": librosa_crops,
    }
    times = {name: [] for name in impls}
    with torch.inference_mode():
        for fn in impls.values():
            fn()  # warm-up
        for _ in range(repeats):
            for name, fn in impls.items():
                t0 = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - t0) / n_crops)
    return {name: float(np.median(v)) for name, v in times.items()}


def format_results(results: dict) -> str:
    ref = results["librosa, one crop at a time"]
    lines = ["| implementation | ms per 5 s crop | speed vs librosa |", "|---|---:|---:|"]
    for name, sec in results.items():
        lines.append(f"| {name} | {sec * 1e3:.2f} | {ref / sec:.2f}x |")
    return "\n".join(lines)


__all__ = ["run_features_bench", "format_results"]
