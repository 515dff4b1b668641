"""What a training run carries from epoch to epoch (`Run`), and how it is saved and resumed.

A checkpoint holds the weights, the config, the labels and the metrics; its `extra` holds what `--resume`
needs (optimizer, scheduler, GradScaler, torch RNG, history), plain types and tensors only.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from kit.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from kit.config import Config
from kit.utils import atomic_write_text, pick_device

RESUME_MAY_DIFFER = {"train.device", "train.num_workers", "train.pin_memory"}  # no effect on the result


class ResumeError(ValueError):
    """last.ckpt cannot be continued with this config / label list; the message says what differs."""


@dataclass
class Dist:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_name: str) -> tuple:
    """(Dist, device). WORLD_SIZE/RANK/LOCAL_RANK from torchrun start DDP (nccl on CUDA, gloo on CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = pick_device(device_name)
    if world <= 1:
        return Dist(), device
    import torch.distributed as td

    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not td.is_initialized():
        td.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(td.get_rank(), td.get_world_size()), device


class RunLog:
    """Lines printed (rank 0) and kept in out_dir/train.log, rewritten atomically after each epoch."""

    def __init__(self, path: Path, enabled: bool, previous: str = ""):
        self.path, self.enabled, self.lines = path, enabled, previous.splitlines()

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(message, flush=True)
            self.lines.append(message)

    def flush(self) -> None:
        if self.enabled:
            atomic_write_text(self.path, "\n".join(self.lines) + "\n")


def fresh_progress(skipped: list) -> dict:
    """The progress a run saves after each epoch (and resume restores)."""
    return {"epoch": 0, "history": [], "best_score": [-math.inf, -math.inf], "best_epoch": 0, "skipped": skipped}


@dataclass
class Run:
    """One training run: config, labels, data, model and optimizer state, where it writes, how far it got."""

    config: Config
    labels: list
    train_set: object
    valid_set: object
    model: torch.nn.Module
    optimizer: object
    scheduler: object
    scaler: object                 # torch GradScaler on CUDA with AMP, else None
    device: torch.device
    dist: Dist
    log: RunLog
    out_dir: Path
    progress: dict = field(default_factory=lambda: fresh_progress([]))
    loss_fn: object = None         # kit.train.losses.make_loss(config.train)
    ema: object = None             # kit.train.ema.ModelEma when ema_decay > 0
    distiller: object = None       # kit.train.distill.EmbeddingDistiller, made here when data.teacher_embeddings

    def __post_init__(self):
        if self.distiller is None and self.config.data.teacher_embeddings:
            from kit.train.distill import make_distiller

            self.distiller = make_distiller(self)

    @property
    def net(self) -> torch.nn.Module:
        """The model without its DistributedDataParallel wrapper."""
        return unwrap(self.model)

    @property
    def saved_model(self) -> torch.nn.Module:
        """What is validated and saved: the EMA weights when ema_decay > 0, else the model."""
        return self.ema.module if self.ema is not None else self.net


def unwrap(model):
    return model.module if hasattr(model, "module") else model


def save_state(path, run: Run, metrics: dict) -> Path:
    """Weights (the EMA's when on) + config + labels + metrics; `extra` holds what resume needs (the raw
    weights under EMA, optimizer, ...: plain types and tensors only)."""
    extra = dict(run.progress, optimizer=run.optimizer.state_dict(), scheduler=run.scheduler.state_dict(),
                 scaler=run.scaler.state_dict() if run.scaler is not None else {}, torch_rng=torch.get_rng_state(),
                 cuda_rng=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [])
    if run.distiller is not None:  # its projection head: for --resume only, never in the weights
        extra.update(distiller=run.distiller.state_dict())
    if run.ema is not None:
        extra.update(ema_steps=run.ema.steps, raw_state_dict={k: v.detach().cpu() for k, v in
                                                              run.net.state_dict().items()})
    state_dict = {k: v.detach().cpu() for k, v in run.saved_model.state_dict().items()}
    return save_checkpoint(path, Checkpoint(config=run.config, labels=list(run.labels), state_dict=state_dict,
                                            metrics=metrics, extra=extra))


def load_resume(out_dir: Path, config: Config, labels: list) -> Checkpoint:
    """last.ckpt of out_dir, refused (ResumeError / CheckpointError) when it cannot continue this run."""
    path = out_dir / "last.ckpt"
    if not path.is_file():
        raise ResumeError(f"--resume: {path} not found; train without --resume to start this run")
    ckpt = load_checkpoint(path)  # refuses another kit version, corrupt or unsafe files
    if list(ckpt.labels) != list(labels):
        raise ResumeError(f"{path}: cannot resume, the label list differs (checkpoint {len(ckpt.labels)} labels "
                          f"{ckpt.labels[:5]}..., data {len(labels)} labels {labels[:5]}...)")
    changed = {k: v for k, v in config.differences(ckpt.config).items() if k not in RESUME_MAY_DIFFER}
    if changed:
        was = ckpt.config.to_dict()
        shown = ", ".join(f"{k}: {was[k.split('.')[0]][k.split('.')[1]]!r} -> {v!r}" for k, v in changed.items())
        raise ResumeError(f"{path}: cannot resume, the config differs ({shown}); use the run's config.json "
                          f"(--config {out_dir / 'config.json'}) or a new --out folder")
    if "optimizer" not in ckpt.extra or "epoch" not in ckpt.extra:
        raise ResumeError(f"{path}: holds no optimizer state / epoch, cannot resume from it")
    return ckpt


def restore_state(ckpt: Checkpoint, run: Run) -> None:
    """Load weights, optimizer, scheduler, scaler, RNG and progress of `ckpt` into `run`."""
    run.net.load_state_dict(ckpt.extra.get("raw_state_dict", ckpt.state_dict))
    if run.ema is not None:
        run.ema.load_state_dict({"steps": ckpt.extra.get("ema_steps", 0), "weights": ckpt.state_dict})
    run.optimizer.load_state_dict(ckpt.extra["optimizer"])
    if run.distiller is not None and "distiller" in ckpt.extra:
        run.distiller.load_state_dict(ckpt.extra["distiller"])
    run.scheduler.load_state_dict(ckpt.extra["scheduler"])
    if run.scaler is not None and ckpt.extra.get("scaler"):
        run.scaler.load_state_dict(ckpt.extra["scaler"])
    torch.set_rng_state(ckpt.extra["torch_rng"])
    if torch.cuda.is_available() and ckpt.extra.get("cuda_rng"):
        torch.cuda.set_rng_state_all(ckpt.extra["cuda_rng"])
    run.progress = {k: ckpt.extra[k] for k in ("epoch", "history", "best_score", "best_epoch", "skipped")}


__all__ = ["Dist", "setup_distributed", "RunLog", "Run", "fresh_progress", "unwrap", "save_state", "load_resume",
           "restore_state", "ResumeError", "RESUME_MAY_DIFFER"]
