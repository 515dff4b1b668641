"""Experiment log: one CSV row per training run, and a Markdown table rendered from it.

A row holds the run id, the config values that differ from the defaults, the parameter count, the best
validation metrics, seconds per epoch and inference milliseconds per window. An append rewrites the whole
CSV to a temp file and renames it (kit.utils.atomic_write_text): a kill never leaves half a row.
The default log sits beside the run folders: `<parent of out_dir>/experiments.csv` + `experiments.md`.
"""
from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

from kit.utils import atomic_write_text

FIRST_COLUMNS = ["run_id", "finished", "changes", "params", "epochs", "best_epoch", "valid_loss", "valid_accuracy",
                 "valid_cmap", "valid_roc_auc", "epoch_s", "infer_ms_per_window", "skipped_files", "out_dir"]


def default_log_path(out_dir) -> Path:
    return Path(out_dir).resolve().parent / "experiments.csv"


def format_changes(differences: dict) -> str:
    """{'train.lr': 0.0003} -> 'lr=0.0003' (short keys; tuples as 16,32)."""
    parts = []
    for key, value in sorted(differences.items()):
        shown = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value
        parts.append(f"{key.split('.', 1)[-1]}={shown}")
    return " ".join(parts) or "(defaults)"


def read_rows(path) -> list:
    path = Path(path)
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    return "" if value is None else str(value)


def markdown_table(rows: list, columns: list) -> str:
    """A GitHub Markdown table; `|` inside cells escaped."""
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    out = [line(columns), line(["---"] * len(columns))]
    out += [line([_cell(row.get(c, "")) for c in columns]) for row in rows]
    return "\n".join(out) + "\n"


def append_run(path, row: dict) -> Path:
    """Append one run's row to the CSV at `path` (columns grow as needed) and re-render `path`.md."""
    path = Path(path)
    row = {k: _cell(v) for k, v in row.items()}
    row.setdefault("finished", time.strftime("%Y-%m-%d %H:%M:%S"))
    rows = read_rows(path) + [row]
    columns = [c for c in FIRST_COLUMNS if any(c in r for r in rows)]
    columns += sorted({c for r in rows for c in r} - set(columns))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())
    shown = [c for c in columns if c not in ("out_dir", "finished")]
    atomic_write_text(path.with_suffix(".md"), "# Experiments\n\n" + markdown_table(rows, shown))
    return path


def run_row(run_id: str, out_dir, differences: dict, result: dict) -> dict:
    """The log row of a finished kit.train.train result."""
    metrics = result.get("metrics", {})
    return {"run_id": run_id, "changes": format_changes(differences), "params": result.get("params", ""),
            "epochs": len(result.get("history", [])), "best_epoch": result.get("best_epoch", ""),
            "valid_loss": metrics.get("loss", ""), "valid_accuracy": metrics.get("accuracy", ""),
            "valid_cmap": metrics.get("cmap", ""), "valid_roc_auc": metrics.get("roc_auc", ""),
            "epoch_s": result.get("epoch_s", ""), "infer_ms_per_window": result.get("infer_ms_per_window", ""),
            "skipped_files": len(result.get("skipped", [])), "out_dir": str(out_dir)}


__all__ = ["default_log_path", "format_changes", "read_rows", "markdown_table", "append_run", "run_row"]
