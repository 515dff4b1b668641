"""submission.csv: label alignment, validation and atomic writing.

Row ids are `<soundscape stem>_<window end in whole seconds>` (kit.formats). Columns follow
sample_submission.csv. Documented fallbacks (all with a warning):
- labels the model does not know get `InferConfig.fallback_prob` (default 0.0);
- rows that could not be computed (corrupt file, time budget spent) get the same fallback;
- an empty or missing test folder (Kaggle's public "save" run) yields sample_submission's rows with the
  fallback value (header only when sample_submission has no rows): a valid file, never a crash.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from kit.formats import ROW_ID_PATTERN, SubmissionError


def align_labels(frame, labels: Sequence[str], fallback_prob: float):
    """Reorder `frame` (row_id + model labels) to `labels`; unknown labels get the fallback, with a warning."""
    import pandas as pd

    missing = [lab for lab in labels if lab not in frame.columns]
    if missing:
        shown = ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
        warnings.warn(f"{len(missing)} label(s) of sample_submission.csv are unknown to the model and get "
                      f"fallback_prob={fallback_prob}: {shown}", stacklevel=2)
    extra = pd.DataFrame(fallback_prob, index=frame.index, columns=missing, dtype=np.float32)
    known = [lab for lab in labels if lab in frame.columns]
    out = pd.concat([frame[["row_id"] + known], extra], axis=1)
    return out[["row_id"] + list(labels)]


def empty_submission(sample, labels: Sequence[str], fallback_prob: float):
    """Sample_submission's rows (or none) with the fallback: what an empty test folder yields."""
    out = sample[["row_id"]].copy()
    for lab in labels:
        out[lab] = np.float32(fallback_prob)
    return out[["row_id"] + list(labels)]


def check_row_ids(frame, pattern, form: str, source: str):
    """The row ids as text; SubmissionError when one repeats or does not match `pattern` (`form` in words)."""
    ids = frame["row_id"].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise SubmissionError(f"{source}: {len(dup)} duplicate row_id(s), e.g. {dup.iloc[0]!r}")
    bad = [r for r in ids if not pattern.match(r)]
    if bad:
        raise SubmissionError(f"{source}: row_id {bad[0]!r} is not `{form}`")
    return ids


def validate_submission(frame, labels: Optional[Sequence[str]] = None, source: str = "submission") -> None:
    """Raise SubmissionError unless ids are unique and well formed, columns right, probabilities finite in [0, 1]."""
    cols = list(frame.columns)
    if not cols or cols[0] != "row_id":
        raise SubmissionError(f"{source}: first column must be row_id, got {cols[:3]}")
    if labels is not None and cols[1:] != list(labels):
        raise SubmissionError(f"{source}: label columns differ from sample_submission.csv "
                              f"(got {len(cols) - 1}, expected {len(labels)} in its order)")
    if len(set(cols)) != len(cols):
        raise SubmissionError(f"{source}: duplicate column names")
    check_row_ids(frame, ROW_ID_PATTERN, "<soundscape>_<end seconds>", source)
    values = frame[cols[1:]].to_numpy(dtype=np.float64) if len(cols) > 1 else np.zeros((len(frame), 0))
    if not np.isfinite(values).all():
        raise SubmissionError(f"{source}: {int((~np.isfinite(values)).sum())} NaN/Inf probabilities")
    if values.size and (values.min() < 0 or values.max() > 1):
        raise SubmissionError(f"{source}: probabilities outside [0, 1] (min {values.min()}, max {values.max()})")


def write_submission(frame, out_csv, labels: Optional[Sequence[str]] = None) -> Path:
    """Validate, then write atomically (readers never see half a file)."""
    from kit.utils import atomic_write_csv

    validate_submission(frame, labels, source=str(out_csv))
    return atomic_write_csv(frame, out_csv, float_format="%.6g")


__all__ = ["align_labels", "empty_submission", "check_row_ids", "validate_submission", "write_submission"]
