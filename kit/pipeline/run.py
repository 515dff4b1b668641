"""One training run as `python -m kit train` makes it.

`train_run` = kit.train.train (the config resolved once and saved whole, the run folder) + what a finished run
adds for the person comparing runs: the inference milliseconds per 5 s window of its best.ckpt (loaded as the
submission path loads it, in eval mode) and one row of the experiment log (`OUT/../experiments.csv` + `.md`).
"""
from __future__ import annotations

import os
from pathlib import Path


def infer_ms_per_window(checkpoint, device="cpu") -> float:
    """Milliseconds per 5 s window of a checkpoint's model on a batch of windows (kit.models.time_inference)."""
    import torch

    from kit.checkpoint import load_model
    from kit.models import time_inference

    model, ckpt = load_model(checkpoint, device=device)
    return time_inference(model, ckpt.config.for_inference(), torch.device(device))


def log_run(result: dict, config, data, out_dir, log_path=None, run_id=None, device="cpu") -> dict:
    """Time the run's best.ckpt and append its row to the experiment log (rank 0 only); returns the result with
    infer_ms_per_window and log."""
    from kit.train import append_run, default_log_path, run_row

    if os.environ.get("RANK", "0") != "0" or not Path(result["best"]).is_file():
        return result
    result = dict(result, infer_ms_per_window=infer_ms_per_window(result["best"], device))
    log_csv = Path(log_path) if log_path else default_log_path(out_dir)
    row = run_row(run_id or Path(out_dir).name, out_dir, config.differences(), result)
    result["log"] = str(append_run(log_csv, dict(row, data=str(data))))
    return result


def train_run(config, data, out_dir, resume: bool = False, stop_after=None, log_path=None, fold=None) -> dict:
    """kit.train.train, then (when every epoch is done) the timing and the experiment-log row (module docstring).
    Returns train()'s result plus infer_ms_per_window and log for a finished run."""
    from kit.config import Config
    from kit.train import train

    result = train(config, data, out_dir, resume=resume, stop_after=stop_after, fold=fold)
    if not result.get("done"):
        return result
    ran = Config.from_dict(result["config"])
    device = "cuda" if ran.train.device.startswith("cuda") else "cpu"
    return log_run(result, ran, data, out_dir, log_path, device=device)


__all__ = ["train_run", "log_run", "infer_ms_per_window"]
