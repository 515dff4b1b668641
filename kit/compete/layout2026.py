"""`kit make-competition --style birdclef2026`: the mini-competition in BirdCLEF+ 2026's file layout.

What changes against kit's own layout (`--style kit`):
  train.csv             instead of train_metadata.csv, in 2026's column order: primary_label, secondary_labels,
                        type, latitude, longitude, scientific_name, common_name, class_name, inat_taxon_id,
                        author, license, rating, url, filename, collection (rating 0.0, collection iNat: unrated)
  taxonomy.csv          primary_label, inat_taxon_id, scientific_name, common_name, class_name; it also lists two
                        insect sonotypes with no training audio (47158son01, 47158son02, one inat_taxon_id), as
                        2026 lists 25 (never in a soundscape here: columns of zeros in solution.csv)
  sample_submission.csv row_id + the labels string-sorted (numeric ids first), as 2026's
  test_soundscapes/     BC2026_Test_<id>_<site>_<date>_<time>.ogg; train_soundscapes/ BC2026_Train_....ogg
  train_soundscapes_labels.csv  with --labelled M: filename, start, end (hh:mm:ss), primary_label (`;`-separated)
                        for every 5 s window of the first M train soundscapes (an empty label: nothing in the
                        window), every row written twice as in the 2026 file
  recording_location.txt  one line
Everything else (solution.csv, events.csv, competition.json, train_audio/<label>/) is as in kit's layout.
"""
from __future__ import annotations

import pandas as pd

from kit.utils import atomic_write_csv, atomic_write_text

STYLES = ("kit", "birdclef2026")
SONOTYPES = ("47158son01", "47158son02")
TRAIN_COLUMNS = ["primary_label", "secondary_labels", "type", "latitude", "longitude", "scientific_name",
                 "common_name", "class_name", "inat_taxon_id", "author", "license", "rating", "url", "filename",
                 "collection"]


def soundscape_stem(kind: str, k: int) -> str:
    """BC2026_<Test|Train>_<id>_<site>_<date>_<time>: made-up ids, sites, dates and times, unique per k."""
    return f"BC2026_{kind}_{k + 1:04d}_S{k % 23 + 1:02d}_2025{1 + k // 28 % 12:02d}{1 + k % 28:02d}_{k % 24:02d}0000"


def all_labels(labels) -> list:
    """The 2026-style label list: the clips' labels and the sonotypes, string-sorted (the submission's order)."""
    return sorted(set(map(str, labels)) | set(SONOTYPES))


def write_train_csv(meta: pd.DataFrame, out_dir) -> None:
    """train.csv in 2026's column order from kit's training rows (primary_label, filename, rating, ...)."""
    rows = []
    for i, record in enumerate(meta.to_dict("records")):
        inat = i % 2 == 1   # every other recording an (unrated) iNat one, as 2026 mixes XC and iNat
        rows.append({"primary_label": record["primary_label"], "secondary_labels": "[]", "type": "[]",
                     "latitude": "-16.5", "longitude": "-56.5", "scientific_name": record["primary_label"],
                     "common_name": record["primary_label"], "class_name": "Aves", "inat_taxon_id": "",
                     "author": "kit make-competition", "license": "cc-by-nc", "rating": "0.0" if inat else "5.0",
                     "url": "", "filename": record["filename"], "collection": "iNat" if inat else "XC"})
    atomic_write_csv(pd.DataFrame(rows, columns=TRAIN_COLUMNS), out_dir / "train.csv")


def write_taxonomy(labels, out_dir) -> None:
    rows = [{"primary_label": lab, "inat_taxon_id": "47158" if lab in SONOTYPES else str(100000 + i),
             "scientific_name": lab, "common_name": lab, "class_name": "Insecta" if lab in SONOTYPES else "Aves"}
            for i, lab in enumerate(all_labels(labels))]
    atomic_write_csv(pd.DataFrame(rows), out_dir / "taxonomy.csv")
    atomic_write_text(out_dir / "recording_location.txt",
                      "kit make-competition: synthetic soundscapes in BirdCLEF+ 2026's layout (Pantanal, Brazil, in "
                      "the real one)\n")


def clock(seconds: float) -> str:
    """5 -> '00:00:05' (hh:mm:ss, whole seconds)."""
    s = int(round(seconds))
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def write_soundscape_labels(truth_rows: list, stems: list, window_s: float, out_dir) -> int:
    """train_soundscapes_labels.csv for the soundscapes `stems` from their truth rows (row_id + 0/1 per label);
    returns the number of unique rows."""
    wanted, rows = set(stems), []
    for truth in truth_rows:
        stem, _, end = truth["row_id"].rpartition("_")
        if stem in wanted:
            present = [lab for lab, value in truth.items() if lab != "row_id" and value]
            rows.append({"filename": f"{stem}.ogg", "start": clock(float(end) - window_s), "end": clock(float(end)),
                         "primary_label": ";".join(present)})
    atomic_write_csv(pd.DataFrame(rows * 2, columns=["filename", "start", "end", "primary_label"]),
                     out_dir / "train_soundscapes_labels.csv")
    return len(rows)


__all__ = ["STYLES", "SONOTYPES", "TRAIN_COLUMNS", "soundscape_stem", "all_labels", "write_train_csv",
           "write_taxonomy", "clock", "write_soundscape_labels"]
