"""`python -m kit train`: the training loop, readable in one sitting.

    data -> (crops of each recording, valid samples, multi-label target) -> model (front-end, backbone, head,
    crop pooling) -> pooled logits -> BCE-with-logits -> Adam/AdamW + warm-up/cosine LR, gradient clipping,
    AMP on CUDA only -> per-epoch valid loss / top-1 / padded cmAP / macro ROC-AUC -> best.ckpt, last.ckpt,
    curves.png, train.log, run.json, config.json -> one row in the experiment log.

The config that runs is kit.train.resolve_config's (the pseudo-label rules applied once), saved whole in
config.json and the checkpoints. The experiment-log row and the inference timing of a finished run are the
workflow layer's (kit.pipeline.train_run, what `python -m kit train` calls).

Resume (`--resume`) reloads last.ckpt: weights, optimizer, scheduler, GradScaler, torch RNG and history. The
shuffle order and the random crops are functions of (seed, epoch, index), so a resumed run ends with the same
weights as an uninterrupted one. Under `torchrun` (WORLD_SIZE > 1) the loop runs DistributedDataParallel:
`batch_size` is the global batch, split evenly over the ranks; only rank 0 writes files.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from kit.config import Config
from kit.metrics import summarize
from kit.models import count_parameters, create_model
from kit.train.augment import batch_rng, cutmix, mixup, spec_augment
from kit.train.data import RecordingDataset, check_files, read_labels
from kit.train.splits import assign_folds, split_table
from kit.train.ema import ModelEma
from kit.train.labels import filter_by_rating, unrecorded_labels
from kit.train.losses import make_loss
from kit.train.resolve import resolve_config
from kit.train.soundscapes import plan_soundscapes
from kit.train.state import Dist, Run, RunLog, fresh_progress, load_resume, restore_state, save_state, setup_distributed
from kit.utils import atomic_write_text, progress, seed_everything, tune_malloc


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


def augment_batch(run: Run, crops, target, epoch: int, step: int) -> tuple:
    """Mixup and cutmix of the batch (waveforms, or features when the dataset makes them), and the SpecAugment
    hook for the model's forward; all draws from one generator of (seed, epoch, step, rank). The config's
    values are what runs (a pseudo-label run's mixup_p was set by kit.train.resolve_config)."""
    cfg = run.config.augment
    rng = batch_rng(run.config.train.seed, epoch, step, run.dist.rank)
    crops, target = mixup(crops, target, cfg, rng)
    crops, target = cutmix(crops, target, cfg, rng)
    hook = (lambda feats: spec_augment(feats, cfg, rng)) if cfg.specaug_p else None
    return crops, target, hook


def train_epoch(run: Run, loader, desc: str, epoch: int = 0) -> dict:
    model, optimizer, scheduler, scaler, device = run.model, run.optimizer, run.scheduler, run.scaler, run.device
    model.train()
    use_amp = scaler is not None
    loss_sum, rows, hits = 0.0, 0, 0.0
    for step, (crops, valid, target, weight) in enumerate(progress(loader, desc=desc)):
        crops, valid, target, weight = _to((crops, valid, target, weight), device)
        crops, target, hook = augment_batch(run, crops, target, epoch, step)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            logits = model(crops, valid, feature_hook=hook)
        weighted = run.config.data.rating_weight or run.config.data.soundscape_weight != 1
        loss = run.loss_fn(logits.float(), target, weight if weighted else None)
        embed = run.distiller.loss(run.net, epoch, step, use_amp) if run.distiller else None  # kit.train.distill
        loss = loss if embed is None else loss + embed
        optimizer.zero_grad(set_to_none=True)
        if use_amp:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        if run.config.train.grad_clip_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), run.config.train.grad_clip_norm)
        scaler.step(optimizer) if use_amp else optimizer.step()
        run.distiller.step(scaler) if embed is not None else None
        scaler.update() if use_amp else None
        scheduler.step()
        if run.ema is not None:
            run.ema.update(run.net)
        n = len(target)
        loss_sum, rows = loss_sum + float(loss.detach()) * n, rows + n
        top = logits.detach().argmax(dim=1)
        hits += float((target.gather(1, top[:, None]) > 0).sum())
    loss_sum, rows, hits = _all_reduce_sum([loss_sum, rows, hits], run.dist)
    return {"train_loss": loss_sum / max(rows, 1), "train_accuracy": hits / max(rows, 1)}


@torch.no_grad()
def evaluate(model, loader, device) -> dict:
    """Valid loss and kit.metrics.summarize (cmap, roc_auc, accuracy) on sigmoid of the pooled logits."""
    if len(loader.dataset) == 0:
        return {}
    model.eval()
    losses, scores, truths = [], [], []
    for batch in progress(loader, desc="valid"):
        crops, valid, target = _to(batch[:3], device)   # validation loss is unweighted
        logits = model(crops, valid).float()
        losses.append(F.binary_cross_entropy_with_logits(logits, target, reduction="sum").item() / target.shape[1])
        scores.append(torch.sigmoid(logits).cpu().numpy())
        truths.append(target.cpu().numpy())
    model.train()
    y_true, y_score = np.concatenate(truths), np.concatenate(scores)
    metrics = {"loss": float(sum(losses) / len(y_true))}
    metrics.update(summarize(y_true, y_score))
    return metrics


# ---------------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------------
def load_table(config: Config, data) -> tuple:
    """(recording table after the rating filter and the file checks, notes, [(path, problem)] of bad files)."""
    table = read_labels(data)
    table, rating_notes = filter_by_rating(table, config.data)
    table, bad = check_files(table, config.data.bad_files)
    return table, rating_notes, bad


def prepare_data(config: Config, data, log: RunLog, fold=None) -> tuple:
    """(labels, train set, valid set, bad files). fold=(k, K): validate on fold k of K (kit.pipeline.train_folds)."""
    table, rating_notes, bad = load_table(config, data)
    if fold is None:
        train_index, valid_index, notes = split_table(table, config.data)
    else:
        folds, notes = assign_folds(table, config.data, fold[1])
        train_index, valid_index = np.flatnonzero(folds != fold[0]), np.flatnonzero(folds == fold[0])
    soundscapes = plan_soundscapes(config, data, table, log, fold)
    if soundscapes.valid is not None:  # valid_set=soundscapes: every recording trains
        train_index, valid_index = np.arange(len(table)), np.arange(0)
    missing = unrecorded_labels(table)
    if missing:
        notes.append(f"{len(missing)} of {len(table.labels)} label(s) have no training recording (learnt only "
                     f"as negatives): {missing[:20]}" + (" ..." if len(missing) > 20 else ""))
    for note in table.notes + rating_notes + notes:
        log(f"note: {note}")
    log(f"data: {data} | {len(table)} recordings, {len(table.labels)} labels | "
        f"train {len(train_index)}, valid {len(valid_index)}")
    if config.train.loss == "ce" and len(table.labels) < 2:
        raise ValueError(f"loss=ce is a softmax over the labels and {data} has {len(table.labels)}: nothing to "
                         f"learn; use loss=bce (or focal)")
    background = None
    aug = config.augment
    if aug.background_dir and (aug.background_p or aug.empty_p):
        from kit.train.background import BackgroundPool

        background = BackgroundPool(aug.background_dir, config.audio.sample_rate_hz)
        log(f"background: {len(background.files)} recording(s) from {aug.background_dir}"
            + (f"; skipped {len(background.skipped)} unreadable: {'; '.join(background.skipped[:5])}"
               if background.skipped else ""))
    train_set = RecordingDataset(table, train_index, config, train=True, seed=config.train.seed,
                                 background=background)
    valid_set = RecordingDataset(table, valid_index, config, train=False, seed=config.train.seed)
    if config.pseudo.pseudo_csv:
        train_set = with_pseudo_labels(train_set, table.labels, config, background, log, soundscapes)
    train_set, valid_set = soundscapes.attach(train_set, valid_set, config, background)
    return table.labels, train_set, valid_set, [f"{p}: {why}" for p, why in bad]


def with_pseudo_labels(train_set, labels: list, config: Config, background, log: RunLog, soundscapes=None):
    """The training set plus the pseudo-labelled windows of config.pseudo.pseudo_csv (kit.train.pseudo), less the
    windows of the labelled soundscapes (kit.train.soundscapes)."""
    from kit.train.pseudo import MixedDataset, PseudoDataset, read_pseudo

    table = read_pseudo(config.pseudo.pseudo_csv, labels, config)
    if soundscapes is not None:
        table = soundscapes.exclude_from_pseudo(table, log)
    for note in table.notes:
        log(f"note: {note}")
    mixed = MixedDataset(train_set, PseudoDataset(table, config, config.train.seed, train_set.cache, background),
                         config.pseudo.pseudo_ratio, config.train.seed)
    log(f"pseudo labels: {len(table)} windows of {len(set(table.paths))} recordings from {table.source}; "
        f"{mixed.per_epoch} per epoch beside {len(train_set)} labelled recordings")
    return mixed


def build(config: Config, labels: list, device, dist: Dist, steps_per_epoch: int) -> tuple:
    seed_everything(config.train.seed)
    model = create_model(config, num_classes=len(labels)).to(device)
    if dist.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer, scheduler = make_optimizer(model, config, steps_per_epoch)
    return model, optimizer, scheduler, make_scaler(config.train.amp and device.type == "cuda")


def train(config: Config, data, out_dir, resume: bool = False, stop_after=None, fold=None) -> dict:
    """Train on `data` (BirdCLEF folder or filename,label CSV) into `out_dir`; see the module docstring.

    stop_after: end this call after that many epochs of the run (a time-boxed session); `resume=True` later
    continues where it stopped. fold=(k, K): validate on fold k of K folds (kit.pipeline.train_folds).
    Returns run.json's dict ("done": all epochs trained, "config": the config that ran).
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
    config = resolve_config(config, log)
    labels, train_set, valid_set, bad = prepare_data(config, data, log, fold)
    steps = len(make_loader(train_set, config, dist, device, 0, train=True))
    run = Run(config, labels, train_set, valid_set, *build(config, labels, device, dist, steps), device=device,
              dist=dist, log=log, out_dir=out_dir, progress=fresh_progress(bad), loss_fn=make_loss(config.train))
    if config.train.ema_decay:
        run.ema = ModelEma(run.net, config.train.ema_decay, config.train.ema_warmup_steps)
    if resume:
        restore_state(load_resume(out_dir, config, labels), run)
        log(f"resumed from {out_dir / 'last.ckpt'} after epoch {run.progress['epoch']}")
    if dist.main:
        atomic_write_text(out_dir / "config.json", config.to_json())
    log(f"model: {config.model.backbone} {count_parameters(run.net):,} parameters | device "
        f"{device} x{dist.world} | AMP {run.scaler is not None} | {steps} steps/epoch"
        + (f" | {run.net.pretrained_note}" if getattr(run.net, "pretrained_note", "") and not resume else ""))
    first = run.progress["epoch"] + 1
    last = config.train.epochs if stop_after is None else min(config.train.epochs, first - 1 + stop_after)
    for epoch in range(first, last + 1):
        run_epoch(run, epoch)
    return finish(run)


def run_epoch(run: Run, epoch: int) -> None:
    """Train one epoch, validate, log the row, save best.ckpt (when better) and last.ckpt, redraw the curves."""
    start, state = time.perf_counter(), run.progress
    row = {"epoch": epoch}
    row.update(train_epoch(run, make_loader(run.train_set, run.config, run.dist, run.device, epoch, True),
                           f"epoch {epoch}", epoch))
    valid_loader = make_loader(run.valid_set, run.config, run.dist, run.device, epoch, train=False)
    valid = evaluate(run.saved_model, valid_loader, run.device)
    row.update({f"valid_{k}": v for k, v in valid.items()})
    row.update(lr=run.scheduler.get_last_lr()[0], epoch_s=time.perf_counter() - start)
    # best = highest valid cmAP, ties to the lower valid loss; no valid set: the lowest train loss
    score = [valid["cmap"], -valid["loss"]] if valid else [-row["train_loss"], 0.0]
    state["skipped"] = sorted(set(state["skipped"]) | set(run.train_set.skipped) | set(run.valid_set.skipped))
    state["history"].append(row)
    state["epoch"] = epoch
    improved = score > state["best_score"]
    if improved:
        state["best_score"], state["best_epoch"] = score, epoch
    run.log(" | ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items())
            + (" | best" if improved else ""))
    if run.dist.main:
        metrics = {k[len("valid_"):]: v for k, v in row.items() if k.startswith("valid_")}
        if improved:
            save_state(run.out_dir / "best.ckpt", run, metrics)
        save_state(run.out_dir / "last.ckpt", run, metrics)
        if epoch % max(1, run.config.train.epochs // 10) == 0 or epoch == 1:  # and at the end (finish)
            from kit.train.plots import plot_curves  # ~1 s a plot on the CPU: about ten per run

            plot_curves(state["history"], run.out_dir / "curves.png",
                        title=f"{run.out_dir.name}: {run.config.model.backbone}")
        run.log.flush()


def finish(run: Run) -> dict:
    """run.json's result: best checkpoint, its metrics, history, skipped files, parameters, seconds per epoch."""
    state, config, out_dir = run.progress, run.config, run.out_dir
    history = state["history"]
    best = history[state["best_epoch"] - 1] if state["best_epoch"] else {}
    done = state["epoch"] >= config.train.epochs
    result = {"best": str(out_dir / "best.ckpt"), "last": str(out_dir / "last.ckpt"),
              "metrics": {k[len("valid_"):]: v for k, v in best.items() if k.startswith("valid_")},
              "history": history, "best_epoch": state["best_epoch"], "skipped": state["skipped"],
              "params": count_parameters(run.net), "done": done, "config": config.to_dict(),
              "epoch_s": float(np.mean([h["epoch_s"] for h in history])) if history else math.nan}
    if state["skipped"]:
        run.log(f"skipped {len(state['skipped'])} bad file(s): " + "; ".join(state["skipped"]))
    if run.dist.main and history:
        from kit.train.plots import plot_curves

        plot_curves(history, out_dir / "curves.png", title=f"{out_dir.name}: {config.model.backbone}")
    if run.dist.main:
        run.log(f"{'finished' if done else 'stopped'} after epoch {state['epoch']}/{config.train.epochs}: best "
                f"epoch {state['best_epoch']} {json.dumps({k: round(v, 4) for k, v in result['metrics'].items()})} "
                f"| {result['epoch_s']:.1f} s/epoch")
        run.log.flush()
        atomic_write_text(out_dir / "run.json", json.dumps(result, indent=2, default=str))
    if run.dist.world > 1:
        import torch.distributed as td

        td.barrier()
    return result


__all__ = ["train", "evaluate", "lr_factor", "make_optimizer", "make_loader", "train_epoch", "run_epoch",
           "load_table", "prepare_data"]
