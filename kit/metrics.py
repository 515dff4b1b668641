"""Competition metrics on (rows, classes) arrays: padded cmAP (BirdCLEF 2023), macro ROC-AUC (2024/25)."""
from __future__ import annotations

import numpy as np


def _check(y_true, y_score) -> tuple:
    y_true, y_score = np.asarray(y_true, dtype=np.float64), np.asarray(y_score, dtype=np.float64)
    if y_true.shape != y_score.shape or y_true.ndim != 2:
        raise ValueError(f"y_true {y_true.shape} and y_score {y_score.shape} must be equal (rows, classes) shapes")
    if not np.isfinite(y_score).all():
        raise ValueError("y_score holds NaN or Inf")
    return (y_true > 0).astype(np.int64), y_score


def padded_cmap(y_true, y_score, padding_rows: int = 5) -> float:
    """Macro average precision after appending `padding_rows` rows of ones to truth and score (BirdCLEF 2023)."""
    from sklearn.metrics import average_precision_score

    y_true, y_score = _check(y_true, y_score)
    pad = np.ones((padding_rows, y_true.shape[1]))
    return float(average_precision_score(np.vstack([y_true, pad]), np.vstack([y_score, pad]), average="macro"))


def macro_roc_auc(y_true, y_score) -> float:
    """Mean one-vs-rest ROC-AUC over classes that have both positives and negatives (others skipped)."""
    from sklearn.metrics import roc_auc_score

    y_true, y_score = _check(y_true, y_score)
    positives = y_true.sum(axis=0)
    keep = (positives > 0) & (positives < len(y_true))
    if not keep.any():
        return float("nan")
    return float(roc_auc_score(y_true[:, keep], y_score[:, keep], average="macro"))


def top1_accuracy(y_true, y_score) -> float:
    """Share of rows with at least one true label whose highest-scored class is a true label."""
    y_true, y_score = _check(y_true, y_score)
    rows = y_true.sum(axis=1) > 0
    if not rows.any():
        return float("nan")
    top = y_score[rows].argmax(axis=1)
    return float(y_true[rows][np.arange(rows.sum()), top].mean())


def summarize(y_true, y_score) -> dict:
    return {"cmap": padded_cmap(y_true, y_score), "roc_auc": macro_roc_auc(y_true, y_score),
            "accuracy": top1_accuracy(y_true, y_score)}
