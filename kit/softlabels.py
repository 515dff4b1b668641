"""The pseudo-label CSV (soft labels per window), shared by `kit pseudo-label` (kit.infer writes it) and
`kit train --pseudo` (kit.train reads it).

    # kit pseudo-labels {"labels": [...], "checkpoints": [...], "root": "/abs/folder", "window_s": 5.0, ...}
    filename,end_s,<label 1>,<label 2>,...
    unlabeled_000.ogg,5,0.013,0.92,...

The first line records the provenance as JSON: the label order, the checkpoints that made the labels, the
folder the `filename`s are relative to (`root`), the scoring window, the power / threshold / top-k applied and
the kit version. Each row is one window of one recording (end_s: the window's end in seconds, as in row ids).
"""
from __future__ import annotations

import json
from pathlib import Path

MARKER = "# kit pseudo-labels "


class PseudoLabelError(ValueError):
    """A pseudo-label CSV is malformed or does not fit the training run; the message names the file and row."""


def write_soft_labels(path, frame, provenance: dict) -> Path:
    """Write the header line + CSV (frame: filename, end_s, one column per label in provenance['labels'])."""
    from kit.utils import atomic_write_text

    labels = list(provenance["labels"])
    if list(frame.columns) != ["filename", "end_s", *labels]:
        raise PseudoLabelError(f"{path}: columns must be filename, end_s and the labels in order")
    text = MARKER + json.dumps(provenance, sort_keys=True) + "\n" + frame.to_csv(index=False, float_format="%.6g")
    return atomic_write_text(path, text)


def read_soft_labels(path) -> tuple:
    """(provenance dict, DataFrame) of a pseudo-label CSV; errors name the file and what is wrong."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise PseudoLabelError(f"{path}: pseudo-label CSV not found")
    with path.open(encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    if not first.startswith(MARKER):
        raise PseudoLabelError(f"{path}: not a kit pseudo-label CSV (its first line is not '{MARKER.strip()} "
                               f"{{...}}'); make one with python -m kit pseudo-label")
    try:
        provenance = json.loads(first[len(MARKER):])
        labels = [str(x) for x in provenance["labels"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise PseudoLabelError(f"{path}: line 1: the provenance JSON is damaged ({exc})") from exc
    try:
        frame = pd.read_csv(path, skiprows=1, dtype={"filename": str})
    except Exception as exc:
        raise PseudoLabelError(f"{path}: not a readable CSV below line 1 ({type(exc).__name__}: {exc})") from exc
    columns = [str(c) for c in frame.columns]
    if columns[:2] != ["filename", "end_s"]:
        raise PseudoLabelError(f"{path}: line 2: the columns must start with filename,end_s; got {columns[:3]}")
    if columns[2:] != labels:
        raise PseudoLabelError(f"{path}: the label columns ({len(columns) - 2}) are not the labels its header "
                               f"records ({len(labels)}), e.g. {[c for c in columns[2:] if c not in labels][:3]}")
    return provenance, frame


__all__ = ["MARKER", "PseudoLabelError", "write_soft_labels", "read_soft_labels"]
