"""Real bird recordings for the real-bird proxies (kit.compete.birds): decode them once to 32 kHz mono OGG with a
`recordings.csv`, and field background windows with a `windows.csv`. Never needed by CI or by kit's training.

A *recordings folder* (what kit.compete.birds builds proxies from) holds `recordings.csv` with the columns
  filename          audio file, relative to the CSV (32 kHz mono OGG here)
  primary_label     species code (xeno-canto: genus[:3] + epithet[:3], lower case: Acrocephalus palustris = acrpal)
  secondary_labels  Python-list string of the other species heard, coded the same way ("[]" when none)
  rating            0-5; 0 = unrated (iNat and CSA rows of BirdCLEF carry 0: unknown, not bad)
  author            recordist
  duration_s, source, license, scientific_name
A *background folder* holds long field recordings (OGG) and `windows.csv` (filename, start_s, end_s, nocall):
5 s windows, `nocall` true where the labels say no bird calls in it.

    python -m kit bird-data xeno-canto --metadata metadata.csv --audio mp3/ --out /work/data/birds/xc_reed
    python -m kit bird-data background --summary example_test_audio_summary.csv --audio test_audio/ \\
        --out /work/data/birds/field_background
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from kit.audio import AudioError, load_audio
from kit.utils import atomic_write_csv, progress, read_csv_checked

QUALITY_RATING = {"A": 5.0, "B": 4.0, "C": 3.0, "D": 2.0, "E": 1.0}   # xeno-canto quality -> BirdCLEF rating
XC_COLUMNS = ("Recording_ID", "Genus", "Specific_epithet", "Recordist", "Quality")


def species_code(scientific_name: str) -> str:
    """'Acrocephalus palustris' -> 'acrpal' (genus[:3] + epithet[:3], letters only, lower case)."""
    words = [re.sub(r"[^a-z]", "", w.lower()) for w in str(scientific_name).split()]
    words = [w for w in words if w]
    if len(words) < 2:
        raise ValueError(f"{scientific_name!r} is not a 'Genus species' name")
    return words[0][:3] + words[1][:3]


def _secondary(row: pd.Series, columns: list, primary: str) -> list:
    codes = []
    for column in columns:
        name = row[column]
        if isinstance(name, str) and len(name.split()) >= 2:
            code = species_code(name)
            if code != primary and code not in codes:
                codes.append(code)
    return codes


def xeno_canto_table(metadata_csv, audio_dir) -> pd.DataFrame:
    """The rows of a xeno-canto API metadata CSV (warbleR's columns: Recording_ID, Genus, Specific_epithet,
    Recordist, Quality, Other_species*, License, Url) whose audio `<Genus>-<epithet>-<Recording_ID>.mp3` is in
    audio_dir; columns path, primary_label, secondary_labels (list), rating, author, source, license,
    scientific_name."""
    meta = read_csv_checked(metadata_csv, "xeno-canto metadata", ValueError, required=XC_COLUMNS)
    others = [c for c in meta.columns if c.startswith("Other_species")]
    rows = []
    for _, row in meta.iterrows():
        path = Path(audio_dir) / f"{row['Genus']}-{row['Specific_epithet']}-{row['Recording_ID']}.mp3"
        if not path.is_file() or path.stat().st_size == 0:
            continue
        name = f"{row['Genus']} {row['Specific_epithet']}"
        primary = species_code(name)
        rows.append({"path": str(path), "primary_label": primary, "secondary_labels": _secondary(row, others, primary),
                     "rating": QUALITY_RATING.get(str(row["Quality"]).strip(), 0.0),
                     "author": str(row["Recordist"]).strip(), "source": f"XC{row['Recording_ID']}",
                     "license": str(row.get("License", "")), "scientific_name": name})
    if not rows:
        raise FileNotFoundError(f"{audio_dir}: none of the {len(meta)} recordings of {metadata_csv} is there")
    return pd.DataFrame(rows).drop_duplicates("source").reset_index(drop=True)


def decode_recordings(table: pd.DataFrame, out_dir, sample_rate_hz: int = 32000) -> pd.DataFrame:
    """Decode every table row's `path` to out_dir/audio/<primary_label>/<source>.ogg (mono, sample_rate_hz) and
    write out_dir/recordings.csv (see the module docstring). A file that cannot be decoded is left out, named in
    a printed line. Files already decoded are kept."""
    from kit.compete.competition import write_ogg

    out_dir = Path(out_dir)
    rows, skipped = [], []
    for record in progress(table.to_dict("records"), desc="decode"):
        relative = f"audio/{record['primary_label']}/{record['source']}.ogg"
        target = out_dir / relative
        try:
            if not target.is_file():
                write_ogg(target, load_audio(record["path"], sample_rate_hz), sample_rate_hz)
            import soundfile as sf

            duration_s = sf.info(str(target)).duration
        except AudioError as exc:
            skipped.append(f"{exc.path}: {exc.problem}")
            continue
        rows.append({"filename": relative, "primary_label": record["primary_label"],
                     "secondary_labels": repr(list(record["secondary_labels"])), "rating": record["rating"],
                     "author": record["author"], "duration_s": round(float(duration_s), 3),
                     "source": record["source"], "license": record["license"],
                     "scientific_name": record["scientific_name"]})
    if skipped:
        print(f"left out {len(skipped)} undecodable file(s): " + "; ".join(skipped))
    frame = pd.DataFrame(rows)
    atomic_write_csv(frame, out_dir / "recordings.csv")
    return frame


def decode_background(summary_csv, audio_dir, out_dir, sample_rate_hz: int = 32000,
                      window_s: float = 5.0) -> pd.DataFrame:
    """Field soundscapes labelled per 5 s window (BirdCLEF 2020's example_test_audio_summary.csv: filename_seconds,
    bird ('nocall' or eBird codes), filename, seconds) -> out_dir/<stem>.ogg and out_dir/windows.csv."""
    summary = read_csv_checked(summary_csv, "per-window summary", ValueError,
                               required=("filename", "seconds", "bird"))
    summary = summary.dropna(subset=["filename", "seconds", "bird"])  # its per-recording summary rows
    out_dir = Path(out_dir)
    rows = []
    for stem in progress(sorted(summary["filename"].unique()), desc="background"):
        found = sorted(Path(audio_dir).glob(f"{stem}*.mp3"))
        found = [p for p in found if p.stat().st_size > 0]
        if not found:
            continue
        target = out_dir / f"{stem}.ogg"
        x = load_audio(found[0], sample_rate_hz)
        if not target.is_file():
            from kit.compete.competition import write_ogg

            write_ogg(target, x, sample_rate_hz)
        mine = summary[summary["filename"] == stem]
        for seconds, bird in zip(mine["seconds"].astype(float), mine["bird"].astype(str)):
            if seconds * sample_rate_hz <= len(x):
                rows.append({"filename": target.name, "start_s": seconds - window_s, "end_s": seconds,
                             "nocall": bird.strip() == "nocall", "labels": bird.strip()})
    frame = pd.DataFrame(rows)
    atomic_write_csv(frame, out_dir / "windows.csv")
    return frame


__all__ = ["species_code", "xeno_canto_table", "decode_recordings", "decode_background", "QUALITY_RATING"]
