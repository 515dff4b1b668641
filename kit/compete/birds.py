"""Real-bird proxies: long, weakly labelled focal recordings -> a BirdCLEF 2025-layout mini-competition.

From a recordings folder (kit.compete.birddata: `recordings.csv` with filename, primary_label, secondary_labels,
rating, author, ...) and a seed:
  * split: per label, the recordings (or their `group_column` groups, e.g. author) are shuffled with the seed;
    `test_frac` of them (at least one) become test soundscapes, `unlabeled_frac` (at least one when > 0) unlabeled
    soundscapes, the rest (at least one) train. A recording is on one side only.
  * train_audio/<label>/<file>.ogg: the training recordings whole, as BirdCLEF ships them; train.csv with
    BirdCLEF 2025's columns (primary_label, secondary_labels, type, filename, collection, rating, url, latitude,
    longitude, scientific_name, common_name, author, license); taxonomy.csv.
  * test_soundscapes/<source>.ogg: of each test recording, `max_windows` consecutive whole 5 s windows from a
    seeded window-aligned start (all its whole windows when it is shorter). solution.csv: every window of it
    positive for the recording's primary label (the label is weak: a window where the bird is silent still counts,
    as the issue's first measurement did); sample_submission.csv the same rows at 0.
  * train_soundscapes/: the unlabeled recordings cut the same way (`unlabeled_windows` windows each), for the
    pseudo-label rounds; their truth in train_soundscapes_truth.csv for analysis only.
  * background='field': every test and unlabeled soundscape is mixed over real field background (the `nocall`
    5 s windows of a background folder, kit.compete.birddata) at a seeded SNR in `snr_db` per soundscape, and
    each window is replaced by the background alone with probability `nocall_frac` (its solution row all 0).
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kit.audio import load_audio
from kit.formats import row_ids
from kit.utils import atomic_write_csv, atomic_write_text, progress, read_csv_checked, resolve_inside

TRAIN_COLUMNS = ["primary_label", "secondary_labels", "type", "filename", "collection", "rating", "url", "latitude",
                 "longitude", "scientific_name", "common_name", "author", "license"]


@dataclass(frozen=True)
class BirdSettings:
    recordings: str = "xc_reed"          # recordings folder, relative to the birds root
    background: str = ""                 # background folder relative to the birds root ('' = plain windows)
    window_s: float = 5.0
    test_frac: float = 0.25              # per label: share of recordings whose windows are the test
    unlabeled_frac: float = 0.15         # per label: share of recordings cut into train_soundscapes/
    max_windows: int = 12                # test windows per held-out recording (60 s)
    unlabeled_windows: int = 24          # windows per unlabeled soundscape (120 s)
    snr_db: tuple = (0.0, 12.0)          # background: recording power over background power, per soundscape
    nocall_frac: float = 0.0             # background: share of windows holding the background alone
    group_column: str = ""               # '' = each recording its own group; e.g. 'author'
    sample_rate_hz: int = 32000


BIRD_PROXIES = {
    "xc-reed": BirdSettings(),
    "xc-reed-field": BirdSettings(background="field_background", nocall_frac=0.2),
}


class BirdProxyError(ValueError):
    """The recordings cannot make a proxy; the message names the file or label and why."""


def read_recordings(recordings_csv) -> pd.DataFrame:
    """recordings.csv -> DataFrame with an absolute `path` column (files must exist)."""
    recordings_csv = Path(recordings_csv)
    table = read_csv_checked(recordings_csv, "recordings list", BirdProxyError,
                             required=("filename", "primary_label"), dtype=str, keep_default_na=False)
    if table.empty:
        raise BirdProxyError(f"{recordings_csv}: holds no recordings")
    for column, default in (("secondary_labels", "[]"), ("rating", "0"), ("author", ""), ("source", "")):
        if column not in table.columns:
            table[column] = default
    paths = [resolve_inside(recordings_csv.parent, name) for name in table["filename"]]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise BirdProxyError(f"{recordings_csv}: {len(missing)} audio file(s) not found, e.g. {missing[0]}")
    table["path"] = [str(p) for p in paths]
    table["source"] = [s or Path(p).stem for s, p in zip(table["source"], table["path"])]
    return table


def split_recordings(table: pd.DataFrame, settings: BirdSettings, rng: np.random.Generator) -> pd.Series:
    """'train' | 'test' | 'unlabeled' per recording: per label, whole groups shuffled with rng."""
    column = settings.group_column
    groups = table[column].astype(str) if column else table["path"]
    role = pd.Series("train", index=table.index)
    for label in sorted(table["primary_label"].unique()):
        mine = sorted(groups[table["primary_label"] == label].unique())
        need = 2 + (settings.unlabeled_frac > 0)
        if len(mine) < need:
            raise BirdProxyError(f"label {label!r} has {len(mine)} recording group(s): need at least {need} (train, "
                                 f"test{', unlabeled' if need == 3 else ''})")
        order = [mine[i] for i in rng.permutation(len(mine))]
        n_test = int(np.clip(round(settings.test_frac * len(mine)), 1, len(mine) - need + 1))
        n_unl = int(np.clip(round(settings.unlabeled_frac * len(mine)), need - 2, len(mine) - n_test - 1))
        in_label = table["primary_label"] == label
        role[in_label & groups.isin(order[:n_test])] = "test"
        role[in_label & groups.isin(order[n_test: n_test + n_unl])] = "unlabeled"
    return role


def _copy_or_link(source: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)       # same file system: no second copy of the audio
    except OSError:
        shutil.copyfile(source, target)


def write_train(table: pd.DataFrame, out_dir: Path, labels: list) -> pd.DataFrame:
    """train_audio/ (whole recordings), train.csv and taxonomy.csv."""
    rows = []
    for record in table.to_dict("records"):
        relative = f"{record['primary_label']}/{Path(record['path']).name}"
        _copy_or_link(record["path"], out_dir / "train_audio" / relative)
        rows.append({"primary_label": record["primary_label"], "secondary_labels": record["secondary_labels"] or "[]",
                     "type": "['song']", "filename": relative, "collection": "XC", "rating": record["rating"] or "0",
                     "url": record.get("source", ""), "latitude": "", "longitude": "",
                     "scientific_name": record.get("scientific_name", ""), "common_name": "",
                     "author": record["author"], "license": record.get("license", "")})
    meta = pd.DataFrame(rows, columns=TRAIN_COLUMNS)
    atomic_write_csv(meta, out_dir / "train.csv")
    names = (table.groupby("primary_label")["scientific_name"].first() if "scientific_name" in table.columns
             else pd.Series(dtype=str))
    taxonomy = pd.DataFrame({"primary_label": labels, "inat_taxon_id": "", "class_name": "Aves",
                             "scientific_name": [names.get(lab, "") for lab in labels], "common_name": ""})
    atomic_write_csv(taxonomy, out_dir / "taxonomy.csv")
    return meta


class Background:
    """Real field background: random `nocall` windows of a background folder (kit.compete.birddata)."""

    def __init__(self, folder: Path, sample_rate_hz: int, window_s: float):
        windows = read_csv_checked(folder / "windows.csv", "background windows", BirdProxyError,
                                   required=("filename", "start_s", "nocall"))
        windows = windows[windows["nocall"].astype(str).str.lower() == "true"]
        if windows.empty:
            raise BirdProxyError(f"{folder / 'windows.csv'}: holds no nocall window")
        self.samples = {name: load_audio(folder / name, sample_rate_hz) for name in windows["filename"].unique()}
        self.windows = list(zip(windows["filename"], windows["start_s"].astype(float)))
        self.win = int(round(window_s * sample_rate_hz))
        self.sample_rate_hz = sample_rate_hz

    def __call__(self, n_windows: int, rng: np.random.Generator) -> np.ndarray:
        """n_windows random nocall windows back to back."""
        parts = []
        for k in rng.integers(0, len(self.windows), n_windows):
            name, start_s = self.windows[int(k)]
            start = int(round(start_s * self.sample_rate_hz))
            part = self.samples[name][start: start + self.win]
            parts.append(np.pad(part, (0, self.win - len(part))))
        return np.concatenate(parts).astype(np.float32)


def cut_soundscape(x: np.ndarray, win: int, max_windows: int, rng: np.random.Generator) -> np.ndarray:
    """Up to max_windows consecutive whole windows of x from a seeded window-aligned start (empty when x is
    shorter than one window)."""
    whole = len(x) // win
    take = min(whole, max_windows)
    first = int(rng.integers(0, whole - take + 1)) if take else 0
    return x[first * win: (first + take) * win]


def mix_over_background(x: np.ndarray, win: int, settings: BirdSettings, background: Background,
                        rng: np.random.Generator) -> tuple:
    """(samples, bool per window: the recording is heard). The recording over the background at a seeded SNR;
    each window the background alone with probability nocall_frac."""
    n_windows = len(x) // win
    heard = rng.random(n_windows) >= settings.nocall_frac
    noise = background(n_windows, rng)
    snr_db = float(rng.uniform(*settings.snr_db))
    power = float(np.mean(np.square(x, dtype=np.float64))) + 1e-12
    noise_power = float(np.mean(np.square(noise, dtype=np.float64))) + 1e-12
    gain = np.sqrt(power / 10 ** (snr_db / 10) / noise_power)
    signal = x * np.repeat(heard, win).astype(np.float32)
    out = signal + noise * np.float32(gain)
    peak = float(np.abs(out).max())
    return (out * np.float32(0.99 / peak) if peak > 0.99 else out).astype(np.float32), heard


def write_soundscapes(table: pd.DataFrame, folder: Path, labels: list, max_windows: int, settings: BirdSettings,
                      background, rng: np.random.Generator) -> list:
    """Cut (and mix) each recording of `table` into folder/<source>.ogg; its truth rows."""
    from kit.compete.competition import write_ogg

    win = int(round(settings.window_s * settings.sample_rate_hz))
    rows = []
    for record in progress(table.to_dict("records"), desc=folder.name):
        x = cut_soundscape(load_audio(record["path"], settings.sample_rate_hz), win, max_windows, rng)
        if not len(x):
            continue
        heard = np.ones(len(x) // win, dtype=bool)
        if background is not None:
            x, heard = mix_over_background(x, win, settings, background, rng)
        stem = str(record["source"])
        write_ogg(folder / f"{stem}.ogg", x, settings.sample_rate_hz)
        ends = (np.arange(len(heard)) + 1) * settings.window_s
        for rid, on in zip(row_ids(stem, ends), heard):
            rows.append({"row_id": rid, **{lab: int(on and lab == record["primary_label"]) for lab in labels}})
    return rows


def make_bird_competition(recordings_csv, out_dir, seed: int, settings: BirdSettings = BirdSettings(),
                          background_dir=None) -> Path:
    """Build the competition folder (module docstring) and return it."""
    table = read_recordings(recordings_csv)
    rng = np.random.default_rng(seed)
    role = split_recordings(table, settings, rng)
    labels = sorted(table["primary_label"].unique())
    out_dir = Path(out_dir)
    for name in ("train_audio", "test_soundscapes", "train_soundscapes"):
        shutil.rmtree(out_dir / name, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_train(table[role == "train"], out_dir, labels)
    background = (Background(Path(background_dir), settings.sample_rate_hz, settings.window_s) if background_dir
                  else None)
    truth = write_soundscapes(table[role == "test"], out_dir / "test_soundscapes", labels, settings.max_windows,
                              settings, background, rng)
    other = np.random.default_rng([seed, 1])   # the test is the same with or without unlabeled soundscapes
    unlabeled = write_soundscapes(table[role == "unlabeled"], out_dir / "train_soundscapes", labels,
                                  settings.unlabeled_windows, settings, background, other)
    solution = pd.DataFrame(truth, columns=["row_id", *labels])
    atomic_write_csv(solution, out_dir / "solution.csv")
    atomic_write_csv(solution.assign(**{lab: 0.0 for lab in labels}), out_dir / "sample_submission.csv")
    if unlabeled:
        atomic_write_csv(pd.DataFrame(unlabeled, columns=["row_id", *labels]),
                         out_dir / "train_soundscapes_truth.csv")
    info = {"recordings_csv": str(recordings_csv), "background_dir": str(background_dir or ""), "seed": seed,
            "settings": asdict(settings), "labels": labels,
            "split": {r: sorted(table.loc[role == r, "source"]) for r in ("train", "test", "unlabeled")},
            "test_windows": len(solution), "positives_per_label": {lab: int(solution[lab].sum()) for lab in labels}}
    atomic_write_text(out_dir / "competition.json", json.dumps(info, indent=2))
    return out_dir


def build_bird_proxy(name: str, birds_root, out_root, seed: int) -> Path:
    """The competition folder of real-bird proxy `name` for `seed` under out_root (reused when already built)."""
    if name not in BIRD_PROXIES:
        raise ValueError(f"unknown real-bird proxy {name!r}; known: {', '.join(BIRD_PROXIES)}")
    if birds_root is None:
        raise BirdProxyError(f"proxy {name!r} needs --birds <folder> holding the recordings folders of "
                             f"kit.compete.birddata (docs/real-birds.md)")
    settings = BIRD_PROXIES[name]
    recordings = Path(birds_root) / settings.recordings / "recordings.csv"
    if not recordings.is_file():
        raise FileNotFoundError(f"{recordings}: the recordings of proxy {name!r} (python -m kit.compete.birddata)")
    comp = Path(out_root) / f"{name}_seed{seed}"
    if (comp / "competition.json").is_file() and (comp / "solution.csv").is_file():
        return comp
    background = Path(birds_root) / settings.background if settings.background else None
    return make_bird_competition(recordings, comp, seed, settings, background)


__all__ = ["BirdSettings", "BIRD_PROXIES", "BirdProxyError", "read_recordings", "split_recordings",
           "cut_soundscape", "mix_over_background", "make_bird_competition", "build_bird_proxy"]
