"""PNG plots of training: curves per epoch, and a sweep's metric as a heat-map (2-D grid) or bars (1-D).

matplotlib is imported lazily with the Agg backend (no display needed).
"""
from __future__ import annotations

import io
import math
from pathlib import Path

from kit.utils import atomic_write_bytes


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def _series(history: list, key: str) -> list:
    return [float(h.get(key, math.nan)) for h in history]


def plot_curves(history: list, path, title: str = "") -> Path:
    """Loss (train/valid) and valid cmAP / accuracy per epoch."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(epochs, _series(history, "train_loss"), "o-", label="train")
    left.plot(epochs, _series(history, "valid_loss"), "s-", label="valid")
    left.set(xlabel="epoch", ylabel="BCE loss", title="loss")
    for key, label in (("valid_cmap", "valid padded cmAP"), ("valid_accuracy", "valid top-1"),
                       ("train_accuracy", "train top-1"), ("valid_roc_auc", "valid ROC-AUC")):
        right.plot(epochs, _series(history, key), "o-", label=label)
    right.set(xlabel="epoch", ylabel="score", title="metrics", ylim=(0, 1.02))
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def plot_grid(values: dict, axes: list, path, metric: str) -> Path:
    """values {(v1, v2, ...): score}; axes [(key, [values...]), ...]. 2 axes: heat-map; otherwise bars."""
    plt = _pyplot()
    if len(axes) == 2:
        (row_key, rows), (col_key, cols) = axes
        grid = [[values.get((r, c), math.nan) for c in cols] for r in rows]
        fig, axis = plt.subplots(figsize=(1.6 + 1.3 * len(cols), 1.2 + 0.8 * len(rows)))
        image = axis.imshow(grid, cmap="viridis", aspect="auto")
        finite = [v for line in grid for v in line if not math.isnan(v)] or [0.0]
        middle = (min(finite) + max(finite)) / 2
        axis.set_xticks(range(len(cols)), [str(c) for c in cols])
        axis.set_yticks(range(len(rows)), [str(r) for r in rows])
        axis.set(xlabel=col_key, ylabel=row_key, title=metric)
        for i, line in enumerate(grid):
            for j, score in enumerate(line):
                axis.text(j, i, "n/a" if math.isnan(score) else f"{score:.3f}", ha="center", va="center",
                          color="black" if score > middle else "white", fontsize=9)
        fig.colorbar(image, ax=axis)
        return _save(fig, path)
    names = [" ".join(f"{k}={v}" for (k, _), v in zip(axes, combo)) for combo in values]
    fig, axis = plt.subplots(figsize=(max(4.0, 0.9 * len(names) + 1), 3.6))
    bars = axis.bar(range(len(names)), list(values.values()))
    axis.bar_label(bars, fmt="%.3f", fontsize=8)
    axis.set_xticks(range(len(names)), names, rotation=30 if len(names) > 3 else 0, ha="right", fontsize=8)
    axis.set(ylabel=metric, title=metric)
    return _save(fig, path)


__all__ = ["plot_curves", "plot_grid"]
