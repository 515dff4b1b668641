"""`train_soundscapes_labels.csv` (BirdCLEF+ 2026): labelled 5 s windows of the train soundscapes.

The file as the competition ships it: `filename,start,end,primary_label`, one row per segment of a soundscape
in `train_soundscapes/`, times as `hh:mm:ss`, the labels present `;`-separated (numeric iNat ids, eBird codes
and insect sonotypes such as `47158son01`, all read as text), e.g.

    BC2026_Train_0039_S22_20211231_201500.ogg,00:00:00,00:00:05,22961;23158;24321;517063;65380

Every row of the 2026 file appears twice: exact duplicates are removed and counted. A segment longer than one
window labels each window inside it; two rows naming the same window (other labels) are merged (their union),
counted. An empty `primary_label` is a window that was listened to with nothing in it (all targets 0), counted.
Times may also be plain seconds (`5`, `5.0`) or `mm:ss`.

Refused with a DataError naming the file and the CSV row: a label not in the training label list (taxonomy.csv
or sample_submission.csv's columns), an end not after its start, a time not on the `window_s` grid, a
soundscape named there but missing or unreadable, a window past the soundscape's end, a path escaping
`train_soundscapes/`. Nothing is dropped without a count in `summary`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.train.labels import DataError

LABELS_NAME = "train_soundscapes_labels.csv"
SOUNDSCAPES_DIR = "train_soundscapes"
COLUMNS = ["filename", "start", "end", "primary_label"]
_CLOCK = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)$")


@dataclass
class SoundscapeWindows:
    """Labelled windows: `paths` (N,) absolute soundscape paths, `windows` (N,) window index in its soundscape,
    `targets` (N, labels) float32 in the training label order; `rows` (N,) the first CSV row of each window."""

    paths: np.ndarray
    windows: np.ndarray
    targets: np.ndarray
    rows: np.ndarray
    source: str = ""
    summary: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.paths)

    def files(self) -> list:
        """The soundscapes with labelled windows, sorted."""
        return sorted(set(self.paths.tolist()))

    def subset(self, keep) -> "SoundscapeWindows":
        keep = np.asarray(keep, dtype=bool)
        return SoundscapeWindows(self.paths[keep], self.windows[keep], self.targets[keep], self.rows[keep],
                                 self.source, dict(self.summary))

    def describe(self) -> str:
        """One line for train.log: what was read and every count of what was removed or merged."""
        s = self.summary
        return (f"{self.source}: {s['rows']} rows -> {s['windows']} labelled windows of {s['files']} soundscapes "
                f"({s['duplicates']} duplicated rows removed, {s['merged']} rows merged into a window another "
                f"row labels, {s['empty']} windows with no label: all targets 0)")


def parse_clock(text: str, csv, row: int, column: str) -> float:
    """`hh:mm:ss`, `mm:ss` or seconds (fractions allowed) -> seconds; anything else is a DataError naming the
    file, the row and the column."""
    match = _CLOCK.match(str(text).strip())
    if not match:
        raise DataError(f"{csv}: row {row}: {column} {text!r} is not a time hh:mm:ss (e.g. 00:00:05)")
    parts = [p for p in match.groups() if p is not None]
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    if len(parts) > 1 and any(float(p) >= 60 for p in parts[1:]):
        raise DataError(f"{csv}: row {row}: {column} {text!r} has minutes or seconds of 60 or more")
    return seconds


def split_labels(text: str) -> list:
    """'22961;23158; 47158son01' -> ['22961', '23158', '47158son01'] (text, order kept, empty parts dropped)."""
    return [part.strip() for part in str(text).split(";") if part.strip()]


def _on_grid(seconds: float, window_s: float) -> bool:
    steps = seconds / window_s
    return abs(steps - round(steps)) <= 1e-6


def _parse_rows(frame, csv: Path, root: Path, labels: list, window_s: float) -> tuple:
    """({(path, window): (label set, first row)}, counts) after the per-row checks."""
    from kit.utils import resolve_inside

    known, found, seen = set(labels), {}, set()
    counts = {"rows": len(frame), "duplicates": 0, "merged": 0}
    for i, record in enumerate(frame.to_dict("records")):
        row = i + 2  # CSV line, after the header
        name = str(record["filename"]).strip()
        if not name:
            raise DataError(f"{csv}: row {row}: empty filename")
        start_s = parse_clock(record["start"], csv, row, "start")
        end_s = parse_clock(record["end"], csv, row, "end")
        present = split_labels(record["primary_label"])
        key = (name, start_s, end_s, tuple(sorted(present)))
        if key in seen:
            counts["duplicates"] += 1
            continue
        seen.add(key)
        if end_s <= start_s:
            raise DataError(f"{csv}: row {row}: end {record['end']} is not after start {record['start']}")
        for column, value in (("start", start_s), ("end", end_s)):
            if not _on_grid(value, window_s):
                raise DataError(f"{csv}: row {row}: {column} {record[column]} is not on the {window_s:g} s grid of "
                                f"the scoring windows (window_s={window_s:g})")
        unknown = [lab for lab in present if lab not in known]
        if unknown:
            raise DataError(f"{csv}: row {row}: label(s) {unknown[:10]} are not in the training label list "
                            f"(taxonomy.csv / sample_submission.csv's columns)")
        try:
            path = str(resolve_inside(root, name))
        except ValueError as exc:
            raise DataError(f"{csv}: row {row}: {exc}") from exc
        for window in range(int(round(start_s / window_s)), int(round(end_s / window_s))):
            if (path, window) in found:
                counts["merged"] += 1
                found[(path, window)][0].update(present)
            else:
                found[(path, window)] = (set(present), row)
    return found, counts


def _check_soundscapes(found: dict, csv: Path, audio) -> None:
    """Every soundscape exists, decodes its header and holds the windows labelled in it."""
    from kit.audio import AudioError, audio_info, window_count

    first_row, last_window = {}, {}
    for (path, window), (_, row) in found.items():
        first_row[path] = min(first_row.get(path, row), row)
        if window > last_window.get(path, (-1, 0))[0]:
            last_window[path] = (window, row)
    for path in sorted(first_row):
        try:
            frames, file_hz, _ = audio_info(path)
        except AudioError as exc:
            raise DataError(f"{csv}: row {first_row[path]}: soundscape {exc.path}: {exc.problem}") from exc
        windows = window_count(int(round(frames * audio.sample_rate_hz / file_hz)), audio)
        window, row = last_window[path]
        if window >= windows:
            raise DataError(f"{csv}: row {row}: window ending at {(window + 1) * audio.window_s:g} s is past the end "
                            f"of {path} ({frames / file_hz:.1f} s, {windows} windows)")


def read_soundscape_labels(csv, labels: list, audio, soundscape_dir=None) -> SoundscapeWindows:
    """The labelled windows of `csv` (module docstring) for a run with `labels` (the training label list) and
    `audio` (its AudioConfig: window_s, sample_rate_hz). `soundscape_dir`: where `filename` lives (default
    `<csv folder>/train_soundscapes`)."""
    from kit.utils import read_csv_checked

    csv = Path(csv)
    root = Path(soundscape_dir) if soundscape_dir is not None else csv.parent / SOUNDSCAPES_DIR
    frame = read_csv_checked(csv, "train soundscape labels (filename,start,end,primary_label)", DataError,
                             required=COLUMNS, dtype=str, keep_default_na=False)
    found, counts = _parse_rows(frame, csv, root, [str(x) for x in labels], audio.window_s)
    _check_soundscapes(found, csv, audio)
    keys = sorted(found)
    index = {label: j for j, label in enumerate(labels)}
    targets = np.zeros((len(keys), len(labels)), dtype=np.float32)
    for k, key in enumerate(keys):
        targets[k, [index[label] for label in found[key][0]]] = 1.0
    paths = np.asarray([os.path.normpath(p) for p, _ in keys], dtype=object)
    summary = dict(counts, windows=len(keys), files=len(set(paths.tolist())), empty=int((targets.sum(1) == 0).sum()))
    return SoundscapeWindows(paths, np.asarray([w for _, w in keys], dtype=np.int64), targets,
                             np.asarray([found[k][1] for k in keys], dtype=np.int64), str(csv), summary)


def labels_csv(data):
    """`<data>/train_soundscapes_labels.csv` when `data` is a competition folder that has one, else None."""
    data = Path(data)
    return data / LABELS_NAME if data.is_dir() and (data / LABELS_NAME).is_file() else None


__all__ = ["LABELS_NAME", "SOUNDSCAPES_DIR", "SoundscapeWindows", "read_soundscape_labels", "parse_clock",
           "split_labels", "labels_csv"]
