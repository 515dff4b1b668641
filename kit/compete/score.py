"""`python -m kit score`: score a submission.csv against a solution.csv (same row_id and label columns).

Metrics (kit.metrics): padded cmAP (BirdCLEF 2023: five rows of ones appended, macro average precision),
macro ROC-AUC over the classes that have positives (BirdCLEF 2024/25), and top-1 accuracy over the rows that
have at least one positive label.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kit.formats import SubmissionError
from kit.metrics import summarize
from kit.utils import read_csv_checked


def _read(path, what: str) -> pd.DataFrame:
    path = Path(path)
    frame = read_csv_checked(path, what, SubmissionError, required=("row_id",), dtype={"row_id": str})
    dup = frame["row_id"][frame["row_id"].duplicated()]
    if len(dup):
        raise SubmissionError(f"{what} {path}: {len(dup)} duplicate row_id(s), e.g. {dup.iloc[0]!r}")
    return frame


def _numeric(frame: pd.DataFrame, labels: list, what: str) -> np.ndarray:
    for col in labels:
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = values.isna() & frame[col].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise SubmissionError(f"{what}: column {col!r} holds a non-numeric value {frame[col].iloc[i]!r} "
                                  f"(row_id {frame['row_id'].iloc[i]})")
        if values.isna().any():
            i = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise SubmissionError(f"{what}: column {col!r} holds NaN/empty values, e.g. row_id "
                                  f"{frame['row_id'].iloc[i]} ({int(values.isna().sum())} in all)")
        if np.isinf(values.to_numpy(dtype=np.float64)).any():
            raise SubmissionError(f"{what}: column {col!r} holds Inf values")
    return frame[labels].apply(pd.to_numeric).to_numpy(dtype=np.float64)


def align(submission: pd.DataFrame, solution: pd.DataFrame, names=("submission", "solution")) -> tuple:
    """(labels, y_true, y_score) with the submission's rows in the solution's order; raises on mismatch."""
    sub_name, sol_name = names
    labels = [c for c in solution.columns if c != "row_id"]
    if not labels:
        raise SubmissionError(f"{sol_name}: no label columns")
    missing_cols = [c for c in labels if c not in submission.columns]
    extra_cols = [c for c in submission.columns if c not in labels and c != "row_id"]
    if missing_cols:
        raise SubmissionError(f"{sub_name}: missing {len(missing_cols)} label column(s): {missing_cols[:5]}")
    if extra_cols:
        raise SubmissionError(f"{sub_name}: {len(extra_cols)} column(s) not in the solution: {extra_cols[:5]}")
    sub_ids, sol_ids = set(submission["row_id"]), set(solution["row_id"])
    missing_ids, extra_ids = sorted(sol_ids - sub_ids), sorted(sub_ids - sol_ids)
    if missing_ids:
        raise SubmissionError(f"{sub_name}: missing {len(missing_ids)} row_id(s) of the solution, "
                              f"e.g. {missing_ids[:3]}")
    if extra_ids:
        raise SubmissionError(f"{sub_name}: {len(extra_ids)} row_id(s) not in the solution, e.g. {extra_ids[:3]}")
    sub = submission.set_index("row_id").loc[solution["row_id"]].reset_index()
    y_true = _numeric(solution, labels, sol_name)
    if not np.isin(y_true, (0.0, 1.0)).all():
        raise SubmissionError(f"{sol_name}: ground truth must be 0/1")
    return labels, y_true, _numeric(sub, labels, sub_name)


def score_files(submission_csv, solution_csv) -> dict:
    """dict(cmap, roc_auc, accuracy) of a submission.csv against a solution.csv."""
    submission = _read(submission_csv, "submission")
    solution = _read(solution_csv, "solution")
    _, y_true, y_score = align(submission, solution, (f"submission {submission_csv}", f"solution {solution_csv}"))
    return summarize(y_true, y_score)


def per_class_ap(submission_csv, solution_csv) -> pd.DataFrame:
    """Per label: positives in the solution and average precision (NaN without positives)."""
    from sklearn.metrics import average_precision_score

    labels, y_true, y_score = align(_read(submission_csv, "submission"), _read(solution_csv, "solution"))
    rows = []
    for j, label in enumerate(labels):
        positives = int(y_true[:, j].sum())
        ap = float(average_precision_score(y_true[:, j], y_score[:, j])) if positives else float("nan")
        rows.append({"label": label, "positives": positives, "ap": ap})
    return pd.DataFrame(rows)
