"""`python -m kit sweep`: train every combination of a grid of config values and tabulate a metric.

    python -m kit sweep --data DIR_OR_CSV --out SWEEP_DIR --grid lr=1e-3,3e-4 --grid batch_size=4,8 [--set ...]

Values of one key are separated by commas, or by `;` when a value itself holds commas
(`--grid "head_hidden=256;512,256"`). Each run trains into SWEEP_DIR/<run name>/ and logs its row to
SWEEP_DIR/experiments.csv/.md. The grid is written as SWEEP_DIR/sweep.csv, sweep.md (printed too) and
sweep.png: a heat-map for 2 keys, bars otherwise.
"""
from __future__ import annotations

import itertools
import re
from pathlib import Path

from kit.config import Config, ConfigError, resolve_key
from kit.train import markdown_table
from kit.utils import atomic_write_csv, atomic_write_text

METRICS = ("cmap", "roc_auc", "accuracy", "loss")


def parse_grid(items: list) -> list:
    """['lr=1e-3,3e-4', ...] -> [('lr', ['1e-3', '3e-4']), ...] with keys checked against the config."""
    axes = []
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not text.strip():
            raise ConfigError(f"--grid {item!r} must look like key=v1,v2 (e.g. lr=1e-3,3e-4)")
        resolve_key(key)
        values = [v.strip() for v in text.split(";" if ";" in text else ",") if v.strip()]
        if len(set(values)) != len(values):
            raise ConfigError(f"--grid {item!r} repeats a value")
        if any(key == k for k, _ in axes):
            raise ConfigError(f"--grid names {key!r} twice")
        axes.append((key, values))
    if not axes:
        raise ConfigError("give at least one --grid key=v1,v2")
    return axes


def run_name(index: int, assignments: list) -> str:
    text = "_".join(f"{k.split('.')[-1]}-{v}" for k, v in assignments)
    return f"{index:02d}_" + re.sub(r"[^A-Za-z0-9.+-]+", "_", text)[:80]


def grid_configs(base: Config, axes: list) -> list:
    """[(name, {key: value text}, Config)] for every combination, all validated before any training."""
    out = []
    for i, combo in enumerate(itertools.product(*[values for _, values in axes])):
        assignments = [(key, value) for (key, _), value in zip(axes, combo)]
        config = base.override([f"{k}={v}" for k, v in assignments])
        out.append((run_name(i, assignments), dict(assignments), config))
    return out


def sweep(base: Config, data, out_dir, axes: list, metric: str = "cmap") -> dict:
    """Train each grid point; returns {"table": DataFrame, "csv", "md", "png"} paths."""
    import pandas as pd

    from kit.pipeline.run import train_run
    from kit.train import plot_grid

    if metric not in METRICS:
        raise ConfigError(f"metric {metric!r} is not one of {METRICS}")
    out_dir = Path(out_dir)
    log_csv = out_dir / "experiments.csv"
    rows = []
    for name, assignments, config in grid_configs(base, axes):
        print(f"== sweep run {name}", flush=True)
        result = train_run(config, data, out_dir / name, log_path=log_csv)
        m = result["metrics"]
        rows.append(dict(assignments, run=name, **{f"valid_{k}": m.get(k) for k in METRICS},
                         params=result["params"], epoch_s=round(result["epoch_s"], 2),
                         infer_ms_per_window=round(result["infer_ms_per_window"], 3)))
    table = pd.DataFrame(rows)
    keys = [k for k, _ in axes]
    columns = ["run"] + keys + [f"valid_{k}" for k in METRICS] + ["params", "epoch_s", "infer_ms_per_window"]
    table = table[columns]
    csv_path = atomic_write_csv(table, out_dir / "sweep.csv")
    markdown = markdown_table(table.to_dict("records"), columns)
    md_path = atomic_write_text(out_dir / "sweep.md", f"# Sweep ({metric})\n\n{markdown}")
    values = {tuple(row[k] for k in keys): float(row[f"valid_{metric}"]) for row in rows}
    png_path = plot_grid(values, axes, out_dir / "sweep.png", f"valid {metric}")
    print(markdown)
    return {"table": table, "csv": str(csv_path), "md": str(md_path), "png": str(png_path), "log": str(log_csv)}


__all__ = ["parse_grid", "grid_configs", "sweep", "METRICS"]
