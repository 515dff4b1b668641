"""K-fold training (`python -m kit train --folds K`): K models, each validated on one fold of the recordings,
and the out-of-fold (OOF) probabilities of every training recording — the score to trust more than one split's.

The folds are drawn once (kit.train.assign_folds: by recording, stratified by primary label, grouped by
`group_column` when set so near-duplicates never straddle folds, seeded by split_seed). OUT/folds.json keeps
the assignment; OUT/fold_<k>/ is an ordinary run folder (best.ckpt, last.ckpt, curves, train.log);
OUT/oof.csv has one row per training recording: its filename, primary label, fold, and the probability of
every label from the fold model that never trained on it (best.ckpt, the validation path's crops). The OOF
metrics (padded cmAP, macro ROC-AUC, top-1 over recordings) are printed, kept in folds.json and logged as a
row of the experiment log.

Resume (`--resume`): finished folds are kept, the fold that was running continues from its last.ckpt (whose
config check refuses a folder made with another config), the later folds start; a folds.json of another
assignment (other data, fold count, seed or group column) is refused.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from kit.config import Config
from kit.metrics import summarize
from kit.pipeline.run import train_run
from kit.train import FoldError, RecordingDataset, assign_folds, load_table
from kit.utils import atomic_write_csv, atomic_write_text, pick_device


def recording_names(paths, data) -> list:
    """Each recording's path relative to the data folder (or the label CSV's folder), else as it is."""
    root = os.path.abspath(data if Path(data).is_dir() else Path(data).parent)
    names = []
    for path in map(os.path.abspath, paths):
        inside = os.path.commonpath([root, path]) == root
        names.append(Path(os.path.relpath(path, root)).as_posix() if inside else path)
    return names


def _check_assignment(out_dir: Path, record: dict) -> None:
    path = out_dir / "folds.json"
    if not path.is_file():
        return
    old = json.loads(path.read_text())
    if old.get("assignment") != record["assignment"] or old.get("n_folds") != record["n_folds"]:
        raise FoldError(f"{path}: this folder holds the folds of another assignment (other data, --folds, "
                        f"split_seed or group_column): use a new --out folder, or the same settings to resume")


def _finished(fold_dir: Path, epochs: int) -> bool:
    run = fold_dir / "run.json"
    return run.is_file() and len(json.loads(run.read_text()).get("history", [])) >= epochs


@torch.no_grad()
def recording_probs(checkpoint, table, index, device) -> np.ndarray:
    """(recordings, labels) probabilities of the table's recordings at `index` by the checkpoint, through the
    validation path (deterministic crops from the start, pooled)."""
    from kit.checkpoint import load_model

    model, ckpt = load_model(checkpoint, device)
    dataset = RecordingDataset(table, index, ckpt.config, train=False)
    out = []
    for i in range(len(dataset)):
        crops, valid = dataset[i][:2]
        x, v = torch.as_tensor(crops)[None].to(device), torch.as_tensor(valid)[None].to(device)
        out.append(torch.sigmoid(model(x, v).float())[0].cpu().numpy())
    return np.stack(out) if out else np.zeros((0, len(ckpt.labels)), np.float32)


def train_folds(config: Config, data, out_dir, n_folds: int, resume: bool = False, log_path=None) -> dict:
    """Train the K fold models into OUT/fold_<k>/ and write OUT/oof.csv + OUT/folds.json; returns
    {"folds": [result per fold], "oof": path, "metrics": OOF metrics}."""
    from kit.train import append_run, default_log_path, run_row, targets

    out_dir = Path(out_dir)
    table, _, _ = load_table(config, data)
    folds, notes = assign_folds(table, config.data, n_folds)
    names = recording_names(table.frame["path"], data)
    record = {"n_folds": int(n_folds), "split_seed": config.data.split_seed, "group_column": config.data.group_column,
              "assignment": dict(zip(names, folds.tolist())), "notes": notes}
    _check_assignment(out_dir, record)
    atomic_write_text(out_dir / "folds.json", json.dumps(record, indent=2))
    results, probs = [], np.zeros((len(table), len(table.labels)), np.float32)
    for k in range(n_folds):
        fold_dir = out_dir / f"fold_{k}"
        if _finished(fold_dir, config.train.epochs):
            results.append(json.loads((fold_dir / "run.json").read_text()))
        else:
            go_on = resume and (fold_dir / "last.ckpt").is_file()
            results.append(train_run(config, data, fold_dir, resume=go_on, log_path=log_path, fold=(k, n_folds)))
        index = np.flatnonzero(folds == k)
        probs[index] = recording_probs(fold_dir / "best.ckpt", table, index, pick_device(config.train.device))
    truth = targets(table, config.data.secondary_label_weight)
    metrics = summarize(truth, probs)
    oof = pd.DataFrame(probs, columns=table.labels)
    oof.insert(0, "fold", folds)
    oof.insert(0, "primary_label", table.frame["primary_label"].to_numpy())
    oof.insert(0, "filename", names)
    atomic_write_csv(oof, out_dir / "oof.csv", float_format="%.6g")
    atomic_write_text(out_dir / "folds.json", json.dumps(dict(record, oof_metrics=metrics), indent=2))
    summary = {"metrics": metrics, "params": results[0].get("params", ""), "history": results[0].get("history", []),
               "epoch_s": float(np.mean([r.get("epoch_s", math.nan) for r in results])), "skipped": [],
               "infer_ms_per_window": results[0].get("infer_ms_per_window", "")}
    log_csv = Path(log_path) if log_path else default_log_path(out_dir)
    differences = dict(config.differences(), folds=n_folds)
    append_run(log_csv, dict(run_row(f"{out_dir.name} (OOF of {n_folds} folds)", out_dir, differences, summary),
                             data=str(data)))
    print(f"out-of-fold over {len(table)} recordings, {n_folds} folds: "
          + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()) + f" | {out_dir / 'oof.csv'}", flush=True)
    return {"folds": results, "oof": out_dir / "oof.csv", "metrics": metrics}


__all__ = ["train_folds", "recording_probs", "FoldError"]
