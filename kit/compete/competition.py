"""`python -m kit make-competition`: labelled clips -> a BirdCLEF-layout mini-competition.

Layout written under `out_dir`:
  train_metadata.csv    primary_label, secondary_labels ("[]"), type, filename (relative to train_audio), rating
  train_audio/<label>/  copies of the training clips
  test_soundscapes/     soundscape_000.ogg ... (OGG Vorbis, mono, at the clips' sample rate, default 32 kHz)
  train_soundscapes/    unlabeled_000.ogg ... with --unlabeled N: other mixes of the held-out clips (unlabeled)
  sample_submission.csv row_id + one column per label (0.0), a row per 5 s window of every soundscape
  solution.csv          the same rows and columns holding the ground truth (1/0)
  events.csv            every mixed event: soundscape, label, source clip, start_s, end_s, active seconds, gain
  competition.json      the parameters, the ground-truth rule and the split

Split: per label, the clips (or their recording groups, e.g. ESC-50's `src_file`) are shuffled with the seed;
about `holdout_frac` of them (at least one, at most all but one) go to the soundscapes, the rest to training.
A recording is never in both.

Ground-truth rule: a clip's *active* samples are those in 20 ms frames whose RMS is within `active_db` (40 dB)
of the clip's loudest frame. A label is positive in a window when a mixed clip of that label puts at least
min(`min_active_s` (0.5 s), half of the clip's total active time) of active samples inside the window. The
second term lets a short event (a 0.3 s knock) count in the window that holds it.
"""
from __future__ import annotations

import io
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kit.audio import AudioError, audio_info, load_audio
from kit.formats import row_ids
from kit.utils import (atomic_write_bytes, atomic_write_csv, atomic_write_text, progress, read_csv_checked,
                       resolve_inside)

FRAME_S = 0.02


class CompetitionError(ValueError):
    """The clip list cannot make a competition; the message says which file or label and why."""


@dataclass(frozen=True)
class MixSettings:
    window_s: float = 5.0
    holdout_frac: float = 0.4        # share of each label's recordings mixed into soundscapes
    events_per_window: float = 1.0   # mean number of clips mixed per 5 s window (several may overlap)
    level_dbfs: tuple = (-30.0, -16.0)  # RMS of a clip's active part after mixing, uniform in this range
    noise_dbfs: float = -42.0        # RMS of the background (brownish) noise
    active_db: float = 40.0          # active frames: RMS within this many dB of the clip's loudest frame
    min_active_s: float = 0.5        # active seconds a clip must put in a window for its label to count
    layout: str = "random"           # random: Poisson clips at random offsets, overlaps allowed;
    #                                  stitched: one clip per window, starting at the window's start


# ---------------------------------------------------------------------------------------------------
# reading and splitting the clip list
# ---------------------------------------------------------------------------------------------------
def read_clips(clips_csv, group_column: str = "auto") -> pd.DataFrame:
    """DataFrame(path, label, group) from a `filename,label[,...]` CSV; paths relative to the CSV."""
    clips_csv = Path(clips_csv)
    table = read_csv_checked(clips_csv, "clip list (filename,label; filenames relative to the CSV)",
                             CompetitionError, required=("filename", "label"), dtype=str, keep_default_na=False)
    if table.empty:
        raise CompetitionError(f"{clips_csv}: holds no clips")
    if group_column == "auto":
        group_column = "src_file" if "src_file" in table.columns else ""
    if group_column and group_column not in table.columns:
        raise CompetitionError(f"{clips_csv}: group column {group_column!r} not found")
    root = clips_csv.parent
    rows = []
    for i, (name, label) in enumerate(zip(table["filename"], table["label"]), start=2):
        _check_label(clips_csv, i, label)
        if not name.strip():
            raise CompetitionError(f"{clips_csv} line {i}: empty filename")
        path = resolve_inside(root, name.strip())
        if not path.is_file():
            raise FileNotFoundError(f"{clips_csv} line {i}: audio file {path} not found")
        group = table[group_column].iloc[i - 2] if group_column else str(path)
        rows.append((str(path), label, f"{label}|{group}"))
    out = pd.DataFrame(rows, columns=["path", "label", "group"])
    if out["path"].duplicated().any():
        raise CompetitionError(f"{clips_csv}: lists {out['path'][out['path'].duplicated()].iloc[0]} twice")
    return out


def _check_label(clips_csv, line: int, label: str) -> None:
    bad = not label or label != label.strip() or any(c in label for c in "/\\,\"'") or label in (".", "..", "row_id")
    if bad:
        raise CompetitionError(f"{clips_csv} line {line}: label {label!r} is not usable as a folder and column "
                               f"name (empty, surrounding spaces, or one of / \\ , quotes)")


def split_clips(clips: pd.DataFrame, holdout_frac: float, rng: np.random.Generator) -> tuple:
    """(train, holdout) DataFrames: per label, whole recording groups go to one side only."""
    counts = clips.groupby("label")["group"].nunique()
    few = counts[counts < 2]
    if len(few):
        raise CompetitionError(
            f"label(s) {', '.join(f'{k} ({v})' for k, v in few.items())} have fewer than 2 recordings: need at "
            f"least one for training and one for the soundscapes")
    held = set()
    for label in sorted(counts.index):
        groups = sorted(clips.loc[clips["label"] == label, "group"].unique())
        order = rng.permutation(len(groups))
        n_hold = int(np.clip(round(holdout_frac * len(groups)), 1, len(groups) - 1))
        held.update(groups[j] for j in order[:n_hold])
    mask = clips["group"].isin(held)
    return clips[~mask].reset_index(drop=True), clips[mask].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------
# activity and mixing
# ---------------------------------------------------------------------------------------------------
def active_mask(x: np.ndarray, sample_rate_hz: int, active_db: float) -> np.ndarray:
    """Bool per sample: inside a 20 ms frame whose RMS is within `active_db` of the loudest frame."""
    frame = max(1, int(round(FRAME_S * sample_rate_hz)))
    n_frames = int(np.ceil(len(x) / frame))
    padded = np.zeros(n_frames * frame, dtype=np.float64)
    padded[: len(x)] = x
    rms = np.sqrt((padded.reshape(n_frames, frame) ** 2).mean(axis=1))
    peak = rms.max()
    if peak <= 0:
        return np.zeros(len(x), dtype=bool)
    frames_on = rms >= peak * 10 ** (-active_db / 20)
    return np.repeat(frames_on, frame)[: len(x)]


def window_labels(events: pd.DataFrame, n_windows: int, window_s: float, min_active_s: float) -> list:
    """[set of labels] per window from events with columns label, active_s_per_window (list), active_total_s."""
    out = [set() for _ in range(n_windows)]
    for label, per_window, total in zip(events["label"], events["active_s_per_window"], events["active_total_s"]):
        need = min(min_active_s, 0.5 * total)
        for w, seconds in enumerate(per_window):
            if total > 0 and seconds >= need - 1e-9:
                out[w].add(label)
    return out


def brown_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise with a falling (roughly 1/f) spectrum, like wind and distant traffic."""
    white = rng.standard_normal(n)
    spectrum = np.fft.rfft(white)
    freqs = np.arange(len(spectrum), dtype=np.float64)
    spectrum /= np.sqrt(np.maximum(freqs, 1.0))
    noise = np.fft.irfft(spectrum, n)
    return (noise / (noise.std() + 1e-12)).astype(np.float32)


def _place(clip: np.ndarray, total: int, rng: np.random.Generator) -> tuple:
    """(start sample in the soundscape, the part of the clip placed) for a random offset."""
    if len(clip) >= total:
        first = int(rng.integers(0, len(clip) - total + 1))
        return 0, clip[first: first + total]
    return int(rng.integers(0, total - len(clip) + 1)), clip


def _placements(total: int, win: int, settings: MixSettings, rng: np.random.Generator, next_clip):
    """(path, label, start sample, part of the clip) of each event: Poisson-many clips at random offsets, or
    (stitched) one clip per window from the window's start, cut to the window."""
    n_windows = int(np.ceil(total / win))
    if settings.layout == "stitched":
        for w in range(n_windows):
            path, label, clip = next_clip()
            yield path, label, w * win, clip[: min(win, total - w * win)]
        return
    for _ in range(max(1, int(rng.poisson(settings.events_per_window * n_windows)))):
        path, label, clip = next_clip()
        yield (path, label, *_place(clip, total, rng))


def mix_soundscape(seconds: float, sample_rate_hz: int, settings: MixSettings,
                   rng: np.random.Generator, next_clip) -> tuple:
    """(samples float32, events rows) of one soundscape; `next_clip()` -> (path, label, samples)."""
    total = int(round(seconds * sample_rate_hz))
    win = int(round(settings.window_s * sample_rate_hz))
    n_windows = int(np.ceil(total / win))
    mix = brown_noise(total, rng) * np.float32(10 ** (settings.noise_dbfs / 20))
    rows = []
    for path, label, start, part in list(_placements(total, win, settings, rng, next_clip)):
        active = active_mask(part, sample_rate_hz, settings.active_db)
        if not active.any():
            continue
        level_dbfs = float(rng.uniform(*settings.level_dbfs))
        gain = 10 ** (level_dbfs / 20) / (np.sqrt(np.mean(part[active].astype(np.float64) ** 2)) + 1e-12)
        mix[start: start + len(part)] += (part * gain).astype(np.float32)
        on = np.zeros(n_windows * win, dtype=bool)
        on[start: start + len(part)] = active
        per_window = (on.reshape(n_windows, win).sum(axis=1) / sample_rate_hz).round(4).tolist()
        rows.append({"label": label, "source": path, "start_s": round(start / sample_rate_hz, 4),
                     "end_s": round((start + len(part)) / sample_rate_hz, 4), "level_dbfs": round(level_dbfs, 2),
                     "active_total_s": round(float(active.sum()) / sample_rate_hz, 4),
                     "active_s_per_window": per_window})
    peak = float(np.abs(mix).max())
    if peak > 0.99:  # scale the whole soundscape (labels unchanged) rather than clip
        mix *= np.float32(0.99 / peak)
    return mix.astype(np.float32), rows


# ---------------------------------------------------------------------------------------------------
# the competition folder
# ---------------------------------------------------------------------------------------------------
def _prepare_out(out_dir: Path) -> None:
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / "competition.json").is_file():
            raise CompetitionError(f"{out_dir}: exists, is not empty and is not a kit competition; "
                                   f"refusing to overwrite it (choose another --out)")
        for name in ("train_audio", "test_soundscapes", "train_soundscapes"):
            shutil.rmtree(out_dir / name, ignore_errors=True)
        for name in ("train_metadata.csv", "train.csv", "taxonomy.csv", "train_soundscapes_labels.csv",
                     "train_soundscapes_truth.csv", "recording_location.txt"):  # either --style's files
            (out_dir / name).unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)


def _copy_train(train: pd.DataFrame, out_dir: Path) -> pd.DataFrame:
    rows, used = [], set()
    for path, label in progress(list(zip(train["path"], train["label"])), desc="train audio"):
        name = Path(path).name
        relative = f"{label}/{name}"
        k = 1
        while relative in used:
            relative, k = f"{label}/{k}_{name}", k + 1
        used.add(relative)
        try:  # refuse a broken clip here (naming it), not later inside training
            load_audio(path, audio_info(path)[1])
        except AudioError as exc:
            raise CompetitionError(f"training clip {exc.path}: {exc.problem}") from exc
        target = out_dir / "train_audio" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        rows.append({"primary_label": label, "secondary_labels": "[]", "type": "[]", "filename": relative,
                     "rating": 5.0, "source": Path(path).name})
    return pd.DataFrame(rows)


def _clip_feeder(holdout: pd.DataFrame, sample_rate_hz: int, rng: np.random.Generator):
    """next_clip() cycling through the held-out clips in seeded shuffled rounds (every clip used in turn)."""
    cache, queue = {}, []

    def next_clip():
        if not queue:
            queue.extend(rng.permutation(len(holdout)).tolist())
        i = queue.pop()
        path, label = holdout["path"].iloc[i], holdout["label"].iloc[i]
        if path not in cache:
            cache[path] = load_audio(path, sample_rate_hz)
        return path, label, cache[path]
    return next_clip


def write_ogg(path, x: np.ndarray, sample_rate_hz: int) -> Path:
    """Mono float32 samples -> OGG Vorbis file, written atomically."""
    import soundfile as sf

    buffer = io.BytesIO()
    block = 10 * int(sample_rate_hz)  # libsndfile's Vorbis encoder crashes on one write of more than ~60 s
    with sf.SoundFile(buffer, "w", int(sample_rate_hz), 1, format="OGG", subtype="VORBIS") as handle:
        for start in range(0, len(x), block):
            handle.write(np.asarray(x[start: start + block], dtype=np.float32))
    return atomic_write_bytes(path, buffer.getvalue())


def make_competition(clips_csv, out_dir, n_soundscapes: int = 4, soundscape_s: float = 60.0, seed: int = 0,
                     sample_rate_hz: int = 32000, settings: MixSettings = MixSettings(),
                     group_column: str = "auto", n_unlabeled: int = 0, style: str = "kit",
                     n_labelled: int = 0) -> dict:
    """Build the competition folder (see the module docstring); returns {name: path}.

    n_unlabeled > 0 also writes train_soundscapes/ (BirdCLEF's unlabeled soundscapes of the test's sites):
    other mixes of the same held-out clips, never the test files themselves, drawn after the test soundscapes
    from their own generator (the test folder is the same with or without them). Their truth goes to
    train_soundscapes_truth.csv, for analysis only: kit's training never reads it. n_labelled <= n_unlabeled
    writes the window labels of the first n_labelled of them to train_soundscapes_labels.csv (BirdCLEF+ 2026's
    labelled train soundscapes, which kit trains on). style: kit, or birdclef2026 (kit.compete.layout2026)."""
    from kit.compete import layout2026

    if n_soundscapes < 1 or n_unlabeled < 0:
        raise CompetitionError(f"n_soundscapes={n_soundscapes} must be >= 1 and n_unlabeled={n_unlabeled} >= 0")
    if not 0 <= n_labelled <= n_unlabeled:
        raise CompetitionError(f"n_labelled={n_labelled} must be in [0, n_unlabeled={n_unlabeled}]: it labels the "
                               f"first train soundscapes")
    if style not in layout2026.STYLES:
        raise CompetitionError(f"style={style!r} must be one of {', '.join(layout2026.STYLES)}")
    windows = soundscape_s / settings.window_s
    if soundscape_s <= 0 or abs(windows - round(windows)) > 1e-9:
        raise CompetitionError(f"soundscape_s={soundscape_s} must be a positive multiple of {settings.window_s} s")
    if not 0 < settings.holdout_frac < 1:
        raise CompetitionError(f"holdout_frac={settings.holdout_frac} must be in (0, 1)")
    if settings.layout not in ("random", "stitched"):
        raise CompetitionError(f"layout={settings.layout!r} must be 'random' or 'stitched'")
    clips = read_clips(clips_csv, group_column)
    rng = np.random.default_rng(seed)
    train, holdout = split_clips(clips, settings.holdout_frac, rng)
    labels = sorted(clips["label"].unique())
    out_dir = Path(out_dir)
    _prepare_out(out_dir)
    meta = _copy_train(train, out_dir)
    y2026 = style == "birdclef2026"
    if y2026:
        layout2026.write_train_csv(meta, out_dir)
        layout2026.write_taxonomy(labels, out_dir)
        labels = layout2026.all_labels(labels)
    else:
        atomic_write_csv(meta, out_dir / "train_metadata.csv")
    mix = dict(soundscape_s=soundscape_s, sample_rate_hz=sample_rate_hz, settings=settings, labels=labels,
               clips_csv=clips_csv)
    stems = [layout2026.soundscape_stem("Test", k) for k in range(n_soundscapes)] if y2026 else None
    truth_rows, event_rows = _mix_folder(out_dir / "test_soundscapes", "soundscape", n_soundscapes, rng,
                                         _clip_feeder(holdout, sample_rate_hz, rng), **mix, stems=stems)
    if n_unlabeled:
        other = np.random.default_rng([seed, 1])
        stems = [layout2026.soundscape_stem("Train", k) for k in range(n_unlabeled)] if y2026 else \
            [f"unlabeled_{k:03d}" for k in range(n_unlabeled)]
        rows, _ = _mix_folder(out_dir / "train_soundscapes", "unlabeled", n_unlabeled, other,
                              _clip_feeder(holdout, sample_rate_hz, other), **mix, stems=stems)
        atomic_write_csv(pd.DataFrame(rows, columns=["row_id", *labels]), out_dir / "train_soundscapes_truth.csv")
        if n_labelled:
            layout2026.write_soundscape_labels(rows, stems[:n_labelled], settings.window_s, out_dir)
    return _write_tables(out_dir, labels, truth_rows, event_rows, train, holdout,
                         dict(clips_csv=str(clips_csv), n_soundscapes=n_soundscapes, soundscape_s=soundscape_s,
                              seed=seed, sample_rate_hz=sample_rate_hz, settings=asdict(settings),
                              n_unlabeled=n_unlabeled, style=style, n_labelled=n_labelled))


def _mix_folder(folder: Path, prefix: str, count: int, rng, next_clip, soundscape_s: float, sample_rate_hz: int,
                settings: MixSettings, labels: list, clips_csv, stems=None) -> tuple:
    """Write `count` soundscapes `<prefix>_NNN.ogg` (or `<stems[k]>.ogg`) into folder; (truth rows, event frames)."""
    windows = int(round(soundscape_s / settings.window_s))
    truth_rows, event_rows = [], []
    for k in progress(range(count), desc=folder.name):
        stem = stems[k] if stems else f"{prefix}_{k:03d}"
        try:
            x, events = mix_soundscape(soundscape_s, sample_rate_hz, settings, rng, next_clip)
        except AudioError as exc:
            raise CompetitionError(f"{clips_csv}: cannot mix clip {exc.path}: {exc.problem}") from exc
        write_ogg(folder / f"{stem}.ogg", x, sample_rate_hz)
        frame = pd.DataFrame(events, columns=["label", "source", "start_s", "end_s", "level_dbfs",
                                              "active_total_s", "active_s_per_window"])
        positives = window_labels(frame, windows, settings.window_s, settings.min_active_s)
        ends = (np.arange(len(positives)) + 1) * settings.window_s
        for rid, present in zip(row_ids(stem, ends), positives):
            truth_rows.append({"row_id": rid, **{lab: int(lab in present) for lab in labels}})
        frame.insert(0, "soundscape", stem)
        frame["active_s_per_window"] = frame["active_s_per_window"].map(json.dumps)
        event_rows.append(frame)
    return truth_rows, event_rows


def _write_tables(out_dir: Path, labels: list, truth_rows: list, event_rows: list, train: pd.DataFrame,
                  holdout: pd.DataFrame, params: dict) -> dict:
    solution = pd.DataFrame(truth_rows, columns=["row_id", *labels])
    sample = solution.copy()
    sample[labels] = 0.0
    metadata = "train.csv" if params.get("style") == "birdclef2026" else "train_metadata.csv"
    paths = {"root": out_dir, "train_metadata": out_dir / metadata,
             "train_audio": out_dir / "train_audio", "test_soundscapes": out_dir / "test_soundscapes",
             "sample_submission": out_dir / "sample_submission.csv", "solution": out_dir / "solution.csv",
             "events": out_dir / "events.csv", "info": out_dir / "competition.json"}
    atomic_write_csv(solution, paths["solution"])
    atomic_write_csv(sample, paths["sample_submission"])
    atomic_write_csv(pd.concat(event_rows, ignore_index=True), paths["events"])
    info = {**params, "labels": labels, "rule": __doc__.split("Ground-truth rule: ")[1].strip(),
            "train_clips": sorted(train["path"]), "soundscape_clips": sorted(holdout["path"]),
            "positives_per_label": {lab: int(solution[lab].sum()) for lab in labels}}
    atomic_write_text(paths["info"], json.dumps(info, indent=2))
    return paths
