"""submission.csv: row ids, label alignment, validation, atomic writing, and the time-budget guard.

Row ids are `<soundscape stem>_<window end in whole seconds>` (BirdCLEF 2023-2025). Columns follow
sample_submission.csv. Documented fallbacks (all with a warning):
- labels the model does not know get `InferConfig.fallback_prob` (default 0.0);
- rows that could not be computed (corrupt file, time budget spent) get the same fallback;
- an empty or missing test folder (Kaggle's public "save" run) yields sample_submission's rows with the
  fallback value (header only when sample_submission has no rows): a valid file, never a crash.
"""
from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

ROW_ID_PATTERN = re.compile(r"^.+_\d+$")


class SubmissionError(ValueError):
    """A submission is malformed; the message says which rows or columns are wrong."""


def row_ids(stem: str, end_s: Sequence[float]) -> list:
    """`<stem>_<end seconds>`; refuses window ends that are not whole seconds (ids would collide)."""
    ids = []
    for end in np.asarray(end_s, dtype=np.float64):
        if abs(end - round(end)) > 1e-6:
            raise SubmissionError(f"window end {end} s of {stem} is not a whole second: choose a window_s in "
                                  f"whole seconds so that row ids `<stem>_<seconds>` stay unique")
        ids.append(f"{stem}_{int(round(end))}")
    return ids


def read_sample_labels(sample_csv) -> tuple:
    """(label columns in order, sample DataFrame) from sample_submission.csv."""
    from kit.utils import read_csv_checked

    path = Path(sample_csv)
    sample = read_csv_checked(path, "sample_submission.csv (it gives the label columns)", SubmissionError)
    if sample.columns[0] != "row_id" or len(sample.columns) < 2:
        raise SubmissionError(f"{path}: expected columns row_id, <label>, ... got {list(sample.columns)[:5]}")
    return [str(c) for c in sample.columns[1:]], sample


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
    ids = frame["row_id"].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise SubmissionError(f"{source}: {len(dup)} duplicate row_id(s), e.g. {dup.iloc[0]!r}")
    bad = [r for r in ids if not ROW_ID_PATTERN.match(r)]
    if bad:
        raise SubmissionError(f"{source}: row_id {bad[0]!r} is not `<soundscape>_<end seconds>`")
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


class BudgetGuard:
    """Decides, from measured throughput, which optional work still fits in the time budget.

    `clock` is injectable (tests simulate a tiny budget). `reserve_s` is kept for writing the file.
    """

    def __init__(self, budget_s: float, clock: Callable[[], float] = time.monotonic, reserve_s: float = 0.0,
                 safety: float = 0.9):
        self.budget_s, self.clock, self.reserve_s, self.safety = float(budget_s), clock, reserve_s, safety
        self.start = clock()
        self.notes: list = []

    def elapsed_s(self) -> float:
        return self.clock() - self.start

    def remaining_s(self) -> float:
        return self.budget_s - self.reserve_s - self.elapsed_s()

    def expired(self) -> bool:
        return self.remaining_s() <= 0

    def fits(self, done_units: float, remaining_units: float) -> bool:
        """Would `remaining_units` of work at the rate measured so far finish within the budget?"""
        if done_units <= 0:
            return True
        seconds_per_unit = self.elapsed_s() / done_units
        return remaining_units * seconds_per_unit <= self.safety * self.remaining_s()

    def note(self, message: str) -> None:
        self.notes.append(message)
        warnings.warn(message, stacklevel=3)


@dataclass
class BudgetPlan:
    """What is still to run; the guard shrinks it (TTA first, then ensemble members, never the first)."""

    groups: list                        # [(AudioConfig, kit.members.Runner)]
    totals: list                        # windows per group (from file headers)
    tta: str
    done_units: float = 0.0
    done_windows: list = field(default_factory=list)

    def views(self, runner) -> int:
        return len(runner.active()) * (2 if self.tta == "shift" else 1)

    def remaining_units(self) -> float:
        return sum(max(0, total - done) * self.views(runner)
                   for (_, runner), total, done in zip(self.groups, self.totals, self.done_windows))

    def shrink(self, guard: BudgetGuard) -> None:
        while not guard.fits(self.done_units, self.remaining_units()):
            if self.tta != "none":
                self.tta = "none"
                guard.note("time budget: the measured rate does not fit; test-time augmentation dropped")
                continue
            members = [m for _, runner in self.groups for m in runner.members if m.active]
            if len(members) <= 1:
                return
            members[-1].active = False
            guard.note(f"time budget: the measured rate does not fit; ensemble member {members[-1].path} dropped")


__all__ = ["SubmissionError", "row_ids", "read_sample_labels", "align_labels", "empty_submission",
           "validate_submission", "write_submission", "BudgetGuard", "BudgetPlan"]
