"""`python -m kit train`: the training loop, readable in one sitting.

    data -> (crops of each recording, valid samples, multi-label target) -> model (front-end, backbone, head,
    crop pooling) -> pooled logits -> BCE-with-logits -> Adam/AdamW + warm-up/cosine LR, gradient clipping,
    AMP on CUDA only -> per-epoch valid loss / top-1 / padded cmAP / macro ROC-AUC -> best.ckpt, last.ckpt,
    curves.png, train.log, run.json, config.json -> one row in the experiment log.

Resume (`--resume`) reloads last.ckpt: weights, optimizer, scheduler, GradScaler, torch RNG and history. The
shuffle order and the random crops are functions of (seed, epoch, index), so a resumed run ends with the same
weights as an uninterrupted one. Under `torchrun` (WORLD_SIZE > 1) the loop runs DistributedDataParallel:
`batch_size` is the global batch, split evenly over the ranks; only rank 0 writes files.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from kit.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from kit.config import Config, add_config_arguments, config_from_args
from kit.data import RecordingDataset, check_files, read_labels, split_table
from kit.members import time_inference
from kit.metrics import summarize
from kit.models import count_parameters
from kit.utils import atomic_write_text, pick_device, progress, seed_everything, tune_malloc

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


# ---------------------------------------------------------------------------------------------------
# pieces of the loop
# ---------------------------------------------------------------------------------------------------
def lr_factor(step: int, total_steps: int, warmup_steps: int, schedule: str) -> float:
    """Linear warm-up over `warmup_steps`, then constant or cosine decay to 0 at `total_steps`."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    done = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, done)))


def make_optimizer(model, config: Config, steps_per_epoch: int) -> tuple:
    t = config.train
    kind = torch.optim.AdamW if t.optimizer == "adamw" else torch.optim.Adam
    optimizer = kind(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    total = t.epochs * steps_per_epoch
    warmup = int(round(t.warmup_frac * total))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, warmup, t.schedule))
    return optimizer, scheduler


def make_scaler(use_amp: bool):
    """A GradScaler on CUDA with AMP, else None (CPU never uses one). torch.amp.GradScaler needs torch>=2.3."""
    if not use_amp:
        return None
    scaler_cls = getattr(getattr(torch, "amp", None), "GradScaler", None)
    return scaler_cls("cuda") if scaler_cls is not None else torch.cuda.amp.GradScaler()


def make_loader(dataset, config: Config, dist: Dist, device, epoch: int, train: bool):
    """Training order = a permutation from np.random.default_rng([seed, epoch]) (split over the ranks under
    DDP), so it is the same for any num_workers and after a resume. The loader's generator (worker seeds) is
    seeded too: the global torch RNG is never drawn from."""
    from torch.utils.data import DataLoader

    t = config.train
    dataset.set_epoch(epoch)
    order = np.arange(len(dataset))
    if train:
        order = np.random.default_rng([t.seed, epoch]).permutation(len(dataset))
        if dist.world > 1:  # pad to a multiple of the ranks (as DistributedSampler does), then deal out
            order = np.resize(order, math.ceil(len(order) / dist.world) * dist.world)[dist.rank::dist.world]
    generator = torch.Generator().manual_seed(t.seed * 100003 + epoch)
    return DataLoader(dataset, batch_size=t.batch_size // dist.world if train else t.batch_size,
                      sampler=order.tolist(), num_workers=t.num_workers, generator=generator, drop_last=False,
                      pin_memory=t.pin_memory and device.type == "cuda")


def _to(batch, device) -> list:
    return [torch.as_tensor(b).to(device, non_blocking=True) for b in batch]


def _all_reduce_sum(values: list, dist: Dist) -> list:
    if dist.world == 1:
        return values
    import torch.distributed as td

    tensor = torch.tensor(values, dtype=torch.float64)
    td.all_reduce(tensor)
    return tensor.tolist()


def train_epoch(model, loader, optimizer, scheduler, scaler, config: Config, device, dist: Dist, desc: str) -> dict:
    model.train()
    use_amp = scaler is not None
    loss_sum, rows, hits = 0.0, 0, 0.0
    for crops, valid, target in progress(loader, desc=desc):
        crops, valid, target = _to((crops, valid, target), device)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            logits = model(crops, valid)
        loss = F.binary_cross_entropy_with_logits(logits.float(), target)
        optimizer.zero_grad(set_to_none=True)
        if use_amp:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        if config.train.grad_clip_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.train.grad_clip_norm)
        scaler.step(optimizer) if use_amp else optimizer.step()
        scaler.update() if use_amp else None
        scheduler.step()
        n = len(target)
        loss_sum, rows = loss_sum + float(loss.detach()) * n, rows + n
        top = logits.detach().argmax(dim=1)
        hits += float((target.gather(1, top[:, None]) > 0).sum())
    loss_sum, rows, hits = _all_reduce_sum([loss_sum, rows, hits], dist)
    return {"train_loss": loss_sum / max(rows, 1), "train_accuracy": hits / max(rows, 1)}


@torch.no_grad()
def evaluate(model, loader, device) -> dict:
    """Valid loss and kit.metrics.summarize (cmap, roc_auc, accuracy) on sigmoid of the pooled logits."""
    if len(loader.dataset) == 0:
        return {}
    model.eval()
    losses, scores, truths = [], [], []
    for crops, valid, target in progress(loader, desc="valid"):
        crops, valid, target = _to((crops, valid, target), device)
        logits = model(crops, valid).float()
        losses.append(F.binary_cross_entropy_with_logits(logits, target, reduction="sum").item() / target.shape[1])
        scores.append(torch.sigmoid(logits).cpu().numpy())
        truths.append(target.cpu().numpy())
    model.train()
    y_true, y_score = np.concatenate(truths), np.concatenate(scores)
    metrics = {"loss": float(sum(losses) / len(y_true))}
    metrics.update(summarize(y_true, y_score))
    return metrics


@torch.no_grad()
# ---------------------------------------------------------------------------------------------------
# checkpoints and resume
# ---------------------------------------------------------------------------------------------------
def _unwrap(model):
    return model.module if hasattr(model, "module") else model


def save_state(path, config, labels, model, opt, sched, scaler, state: dict, metrics: dict) -> Path:
    """Weights + config + labels + metrics; `extra` holds what resume needs (plain types and tensors only)."""
    extra = dict(state, optimizer=opt.state_dict(), scheduler=sched.state_dict(),
                 scaler=scaler.state_dict() if scaler is not None else {}, torch_rng=torch.get_rng_state(),
                 cuda_rng=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [])
    state_dict = {k: v.detach().cpu() for k, v in _unwrap(model).state_dict().items()}
    return save_checkpoint(path, Checkpoint(config=config, labels=list(labels), state_dict=state_dict,
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


def restore_state(ckpt: Checkpoint, model, opt, sched, scaler) -> dict:
    _unwrap(model).load_state_dict(ckpt.state_dict)
    opt.load_state_dict(ckpt.extra["optimizer"])
    sched.load_state_dict(ckpt.extra["scheduler"])
    if scaler is not None and ckpt.extra.get("scaler"):
        scaler.load_state_dict(ckpt.extra["scaler"])
    torch.set_rng_state(ckpt.extra["torch_rng"])
    if torch.cuda.is_available() and ckpt.extra.get("cuda_rng"):
        torch.cuda.set_rng_state_all(ckpt.extra["cuda_rng"])
    return {k: ckpt.extra[k] for k in ("epoch", "history", "best_score", "best_epoch", "skipped")}


# ---------------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------------
def prepare_data(config: Config, data, log: RunLog) -> tuple:
    table = read_labels(data)
    table, bad = check_files(table, config.data.bad_files)
    train_index, valid_index, notes = split_table(table, config.data)
    for note in table.notes + notes:
        log(f"note: {note}")
    log(f"data: {data} | {len(table)} recordings, {len(table.labels)} labels | "
        f"train {len(train_index)}, valid {len(valid_index)}")
    train_set = RecordingDataset(table, train_index, config, train=True, seed=config.train.seed)
    valid_set = RecordingDataset(table, valid_index, config, train=False, seed=config.train.seed)
    return table.labels, train_set, valid_set, [f"{p}: {why}" for p, why in bad]


def build(config: Config, labels: list, device, dist: Dist, steps_per_epoch: int) -> tuple:
    from kit.models import create_model

    seed_everything(config.train.seed)
    model = create_model(config, num_classes=len(labels)).to(device)
    if dist.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer, scheduler = make_optimizer(model, config, steps_per_epoch)
    return model, optimizer, scheduler, make_scaler(config.train.amp and device.type == "cuda")


def train(config: Config, data, out_dir, resume: bool = False, log_path=None, stop_after=None) -> dict:
    """Train on `data` (BirdCLEF folder or filename,label CSV) into `out_dir`; see the module docstring.

    stop_after: end this call after that many epochs of the run (a time-boxed session); `resume=True` later
    continues where it stopped. log_path: experiment log CSV (default: out_dir's parent / experiments.csv).
    """
    out_dir = Path(out_dir)
    dist, device = setup_distributed(config.train.device)
    if device.type == "cpu":
        tune_malloc()  # freed activations stay in the process: ~2x faster CPU steps
    if config.train.batch_size % dist.world:
        raise ValueError(f"batch_size={config.train.batch_size} is the global batch: make it a multiple of the "
                         f"{dist.world} processes")
    previous = (out_dir / "train.log").read_text() if resume and (out_dir / "train.log").is_file() else ""
    log = RunLog(out_dir / "train.log", dist.main, previous)
    labels, train_set, valid_set, bad = prepare_data(config, data, log)
    steps = len(make_loader(train_set, config, dist, device, 0, train=True))
    model, opt, sched, scaler = build(config, labels, device, dist, steps)
    state = {"epoch": 0, "history": [], "best_score": [-math.inf, -math.inf], "best_epoch": 0, "skipped": bad}
    if resume:
        state = restore_state(load_resume(out_dir, config, labels), model, opt, sched, scaler)
        log(f"resumed from {out_dir / 'last.ckpt'} after epoch {state['epoch']}")
    if dist.main:
        atomic_write_text(out_dir / "config.json", config.to_json())
    log(f"model: {config.model.backbone} {count_parameters(_unwrap(model)):,} parameters | device "
        f"{device} x{dist.world} | AMP {scaler is not None} | {steps} steps/epoch")
    last_epoch = config.train.epochs if stop_after is None else min(config.train.epochs, state["epoch"] + stop_after)
    for epoch in range(state["epoch"] + 1, last_epoch + 1):
        run_epoch(epoch, config, model, (opt, sched, scaler), (train_set, valid_set), device, dist, state, log,
                  out_dir, labels)
    return finish(config, model, device, dist, state, log, out_dir, data, log_path)


def run_epoch(epoch, config, model, optim, datasets, device, dist, state, log, out_dir, labels) -> None:
    opt, sched, scaler = optim
    start = time.perf_counter()
    train_loader = make_loader(datasets[0], config, dist, device, epoch, train=True)
    row = {"epoch": epoch}
    row.update(train_epoch(model, train_loader, opt, sched, scaler, config, device, dist, f"epoch {epoch}"))
    valid = evaluate(_unwrap(model), make_loader(datasets[1], config, dist, device, epoch, train=False), device)
    row.update({f"valid_{k}": v for k, v in valid.items()})
    row.update(lr=sched.get_last_lr()[0], epoch_s=time.perf_counter() - start)
    # best = highest valid cmAP, ties to the lower valid loss; no valid set: the lowest train loss
    score = [valid["cmap"], -valid["loss"]] if valid else [-row["train_loss"], 0.0]
    state["skipped"] = sorted(set(state["skipped"]) | set(datasets[0].skipped) | set(datasets[1].skipped))
    state["history"].append(row)
    state["epoch"] = epoch
    improved = score > state["best_score"]
    if improved:
        state["best_score"], state["best_epoch"] = score, epoch
    log(" | ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items())
        + (" | best" if improved else ""))
    if dist.main:
        metrics = {k[len("valid_"):]: v for k, v in row.items() if k.startswith("valid_")}
        if improved:
            save_state(out_dir / "best.ckpt", config, labels, model, opt, sched, scaler, state, metrics)
        save_state(out_dir / "last.ckpt", config, labels, model, opt, sched, scaler, state, metrics)
        from kit.plots import plot_curves

        plot_curves(state["history"], out_dir / "curves.png", title=f"{out_dir.name}: {config.model.backbone}")
        log.flush()


def finish(config, model, device, dist, state, log, out_dir, data, log_path) -> dict:
    from kit import explog

    history = state["history"]
    best = history[state["best_epoch"] - 1] if state["best_epoch"] else {}
    result = {"best": str(out_dir / "best.ckpt"), "last": str(out_dir / "last.ckpt"),
              "metrics": {k[len("valid_"):]: v for k, v in best.items() if k.startswith("valid_")},
              "history": history, "best_epoch": state["best_epoch"], "skipped": state["skipped"],
              "params": count_parameters(_unwrap(model)),
              "epoch_s": float(np.mean([h["epoch_s"] for h in history])) if history else math.nan,
              "infer_ms_per_window": time_inference(_unwrap(model), config, device), "log": ""}
    if state["skipped"]:
        log(f"skipped {len(state['skipped'])} bad file(s): " + "; ".join(state["skipped"]))
    done = state["epoch"] >= config.train.epochs
    if dist.main:
        if done:
            log_csv = Path(log_path) if log_path else explog.default_log_path(out_dir)
            row = explog.run_row(out_dir.name, out_dir, config.differences(), result)
            result["log"] = str(explog.append_run(log_csv, dict(row, data=str(data))))
        log(f"{'finished' if done else 'stopped'} after epoch {state['epoch']}/{config.train.epochs}: best epoch "
            f"{state['best_epoch']} {json.dumps({k: round(v, 4) for k, v in result['metrics'].items()})} | "
            f"{result['epoch_s']:.1f} s/epoch | {result['infer_ms_per_window']:.2f} ms/window")
        log.flush()
        atomic_write_text(out_dir / "run.json", json.dumps({k: v for k, v in result.items()}, indent=2,
                                                           default=str))
    if dist.world > 1:
        import torch.distributed as td

        td.barrier()
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kit train", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a model; writes OUT/best.ckpt, last.ckpt, curves.png, config.json, train.log,\n"
                    "run.json and a row of the experiment log.\n"
                    "Multi-GPU: torchrun --nproc_per_node N -m kit train ... (batch_size is the global batch)")
    parser.add_argument("--data", required=True, help="BirdCLEF-layout folder or a filename,label CSV")
    parser.add_argument("--out", required=True, help="run folder")
    parser.add_argument("--resume", action="store_true", help="continue OUT/last.ckpt (same config and labels)")
    parser.add_argument("--log", help="experiment log CSV (default: OUT/../experiments.csv, + .md)")
    parser.add_argument("--stop-after", type=int, metavar="EPOCHS",
                        help="stop this call after EPOCHS epochs (time-boxed sessions); --resume continues")
    add_config_arguments(parser)
    return parser


def cli(argv) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    result = train(config, args.data, args.out, resume=args.resume, log_path=args.log, stop_after=args.stop_after)
    if os.environ.get("RANK", "0") == "0":
        print(f"best checkpoint: {result['best']}")
    return 0


__all__ = ["train", "evaluate", "lr_factor", "ResumeError", "cli", "time_inference"]
