"""Short calls cut from longer clips: each clip's loudest event, 0.3-1 s, as a clip of its own.

The BirdCLEF training sets hold many short calls, and the test soundscapes are mostly background: a model
must find a 0.5 s call in a 5 s window. `cut_loudest_events` turns a `filename,label` clip list (e.g. ESC-50)
into such a set: per clip, a length drawn in [min_s, max_s] (seeded), placed where it holds the most energy
while covering the loudest 20 ms frame, with 10 ms fades; written as OGG beside a new clip list that keeps
the grouping column (so make-competition still holds whole source recordings out).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kit.audio import load_audio
from kit.compete.competition import FRAME_S, read_clips, write_ogg
from kit.utils import atomic_write_csv, progress

FADE_S = 0.01


def loudest_event(x: np.ndarray, sample_rate_hz: int, length_s: float) -> np.ndarray:
    """The `length_s` part of `x` (or all of it, when shorter) that covers the loudest 20 ms frame and holds
    the most energy, with short fades at both ends."""
    length = min(len(x), int(round(length_s * sample_rate_hz)))
    frame = max(1, int(round(FRAME_S * sample_rate_hz)))
    energy = x.astype(np.float64) ** 2
    n_frames = len(x) // frame
    peak = int(np.argmax(energy[: n_frames * frame].reshape(n_frames, frame).sum(axis=1))) * frame if n_frames \
        else 0
    cumulative = np.concatenate([[0.0], np.cumsum(energy)])
    first = max(0, min(peak + frame, len(x)) - length)
    last = max(first, min(peak, len(x) - length))
    starts = np.arange(first, last + 1)
    held = cumulative[starts + length] - cumulative[starts]
    best = starts[held >= held.max() * (1 - 1e-6)]
    start = int(best[len(best) // 2])  # of equally good placements, the middle one (the event centred)
    part = x[start: start + length].astype(np.float32).copy()
    fade = min(len(part) // 2, int(round(FADE_S * sample_rate_hz)))
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        part[:fade] *= ramp
        part[-fade:] *= ramp[::-1]
    return part


def cut_loudest_events(clips_csv, out_dir, min_s: float = 0.3, max_s: float = 1.0, seed: int = 0,
                       sample_rate_hz: int = 32000) -> Path:
    """Write out_dir/audio/<label>/<name>.ogg (one short event per clip) and out_dir/clips.csv
    (filename, label, src_file = the source clip's group); returns the CSV's path."""
    if not 0 < min_s <= max_s:
        raise ValueError(f"need 0 < min_s <= max_s, got {min_s}, {max_s}")
    clips = read_clips(clips_csv)
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    rows = []
    for path, label, group in progress(list(zip(clips["path"], clips["label"], clips["group"])), desc="events"):
        x = load_audio(path, sample_rate_hz)
        part = loudest_event(x, sample_rate_hz, float(rng.uniform(min_s, max_s)))
        relative = f"audio/{label}/{Path(path).stem}.ogg"
        write_ogg(out_dir / relative, part, sample_rate_hz)
        rows.append({"filename": relative, "label": label, "src_file": group.split("|", 1)[1],
                     "seconds": round(len(part) / sample_rate_hz, 3)})
    return atomic_write_csv(pd.DataFrame(rows), out_dir / "clips.csv")


__all__ = ["loudest_event", "cut_loudest_events"]
