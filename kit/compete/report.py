"""Markdown report of a demo / real-audio run: a results table, the training curves and a per-class AP plot."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from kit.utils import atomic_write_text

COLUMNS = [("model", "model"), ("cmap", "padded cmAP"), ("roc_auc", "ROC-AUC"), ("accuracy", "top-1"),
           ("train_min", "train min"), ("windows_per_s", "windows/s"), ("params", "params")]


def _cell(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    if isinstance(value, int) and value >= 10000:
        return f"{value / 1e6:.2f} M"
    return str(value)


def results_table(rows: list) -> str:
    """Markdown table of result dicts (missing keys shown as '-')."""
    head = "| " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    lines = [head, rule]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[k]) if k in row else "-" for k, _ in COLUMNS) + " |")
    return "\n".join(lines)


def plot_per_class_ap(ap: pd.DataFrame, out_png, title: str = "per-class average precision") -> Path:
    """Horizontal bars of AP per label (labels without positives are left out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ap = ap.dropna(subset=["ap"]).sort_values("ap")
    fig, ax = plt.subplots(figsize=(6, 0.28 * len(ap) + 1.2))
    ax.barh(ap["label"], ap["ap"], color="tab:blue")
    ax.set_xlim(0, 1)
    ax.set_xlabel("average precision on the soundscape windows")
    ax.set_title(title)
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png


def write_report(out_md, title: str, rows: list, images: dict, notes: list = ()) -> Path:
    """report.md: notes, the results table, then each image (name -> path, linked relative to the report)."""
    out_md = Path(out_md)
    parts = [f"# {title}", ""]
    parts += [f"- {note}" for note in notes]
    parts += ["", results_table(rows), ""]
    for name, path in images.items():
        if path and Path(path).is_file():
            rel = Path(path).resolve().relative_to(out_md.parent.resolve()) \
                if out_md.parent.resolve() in Path(path).resolve().parents else Path(path).resolve()
            parts += [f"## {name}", "", f"![{name}]({rel.as_posix()})", ""]
    return atomic_write_text(out_md, "\n".join(parts))
