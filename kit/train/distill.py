"""Embedding distillation from a foreign teacher (`kit train --teacher-embeddings teacher.embeddings.npz`, config
data.teacher_embeddings): the 2026 winners' "distil, then fine-tune".

Each training step adds, beside the label loss, embed_loss_weight x the cosine distance between a projection of
the student's pooled backbone features and the teacher's embedding (kit.foreign's embedding file, written by
`kit pseudo-label --teacher`), on a batch of the file's windows drawn with (seed, epoch, step). The projection head
(one Linear layer, backbone features -> teacher embedding width) has its own AdamW at the run's lr; it is saved for
--resume in the checkpoint's `extra`, never in its weights: the exported model and the submission do not carry
it. `embed_epochs` N > 0 keeps the term for the first N epochs only, so the rest fine-tunes on the labels alone.
A window's input is the crop kit's windows use (centred on the window), from the run's decoded-audio cache, not
augmented (the teacher saw the clean window). One process only (not under torchrun).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from kit.audio import WindowRowError, window_crops, window_rows
from kit.foreign import ForeignModelError, read_embeddings


def resolve_windows(table, audio) -> tuple:
    """(absolute paths, window indices) of the embedding file's rows; errors name the file and the row."""
    if float(table.provenance.get("window_s", audio.window_s)) != audio.window_s:
        raise ForeignModelError(f"{table.source}: made with window_s={table.provenance.get('window_s')}, this run has "
                                f"window_s={audio.window_s}: run kit pseudo-label --teacher again with this window")
    root = Path(table.provenance.get("root") or Path(table.source).parent)
    try:
        return window_rows(root, table.filenames, table.end_s, audio)
    except WindowRowError as exc:
        where = f" (the recordings must stay where the teacher read them: {root})" if exc.missing else ""
        raise ForeignModelError(f"{table.source}: {exc}{where}") from exc


def feature_width(net) -> int:
    """Width of student_features for a KitModel."""
    return int(net.head.proj.in_channels) if net.sed else int(net.backbone.num_features)


def student_features(net, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(B, F) pooled backbone features of waveforms (or features) x (B, 1, ...): the head's input (SED: the frame
    features averaged over time), averaged over the crops."""
    feats, _ = net.spectrograms(x, valid)
    flat = feats.flatten(0, 1)
    pooled = net.backbone.frames(flat).mean(dim=-1) if net.sed else net.backbone(flat)
    return pooled.reshape(feats.shape[0], feats.shape[1], -1).mean(dim=1)


class EmbeddingDistiller:
    """The projection head, its optimizer and the teacher's windows; `loss` per step, `step` after backward."""

    def __init__(self, config, net, device, cache, log=print):
        self.config, self.device, self.cache = config, device, cache
        self.table = read_embeddings(config.data.teacher_embeddings)
        if not len(self.table):
            raise ForeignModelError(f"{self.table.source}: holds no window")
        self.paths, self.windows = resolve_windows(self.table, config.audio)
        self.head = torch.nn.Linear(feature_width(net), self.table.vectors.shape[1]).to(device)
        self.optimizer = torch.optim.AdamW(self.head.parameters(), lr=config.train.lr, weight_decay=0.0)
        self.frontend = None
        if net.frontend is None:  # features_in_model=False: the dataset makes features, so do we
            from kit.features import FeatureExtractor

            self.frontend = FeatureExtractor(config.audio, config.features).to(device)
        data, width = config.data, self.table.vectors.shape[1]
        when = f"epochs 1-{data.embed_epochs}" if data.embed_epochs else "every epoch"
        log(f"embedding distillation: {len(self.table)} windows of {len(set(self.paths))} recordings from "
            f"{self.table.source} ({self.table.provenance.get('kind', '?')} teacher, {width}-d); cosine loss x "
            f"{data.embed_loss_weight:g}, {when}; projection head {feature_width(net)} -> {width} (not exported)")

    def active(self, epoch: int) -> bool:
        return not self.config.data.embed_epochs or epoch <= self.config.data.embed_epochs

    def batch(self, epoch: int, step: int) -> tuple:
        """(inputs (B, 1, ...), valid (B, 1), teacher embeddings (B, D)) of windows drawn with (seed, epoch, step)."""
        audio = self.config.audio
        rng = np.random.default_rng([self.config.train.seed, epoch, step, 5])
        rows = rng.choice(len(self.paths), min(len(self.paths), self.config.train.batch_size), replace=False)
        crops, lengths = [], []
        for i in rows:  # the window's input as kit's windows cut it (the first of window_crops' crops)
            window, valid = window_crops(self.cache.recording(self.paths[i], audio.sample_rate_hz),
                                         int(self.windows[i]), audio)
            crops.append(window[0])
            lengths.append(valid[0])
        x = torch.from_numpy(np.stack(crops)[:, None]).to(self.device)
        valid = torch.as_tensor(np.asarray(lengths)[:, None], device=self.device)
        if self.frontend is not None:
            with torch.no_grad():
                x = self.frontend(x, valid)
        return x, valid, torch.from_numpy(self.table.vectors[rows]).to(self.device)

    def loss(self, net, epoch: int, step: int, use_amp: bool = False):
        """embed_loss_weight x mean(1 - cos(head(student features), teacher embedding)), or None when off."""
        if not self.active(epoch):
            return None
        self.optimizer.zero_grad(set_to_none=True)
        x, valid, target = self.batch(epoch, step)
        with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=use_amp):
            projected = self.head(student_features(net, x, valid))
        cosine = F.cosine_similarity(projected.float(), target, dim=1)
        return self.config.data.embed_loss_weight * (1.0 - cosine).mean()

    def step(self, scaler=None) -> None:
        scaler.step(self.optimizer) if scaler is not None else self.optimizer.step()

    def state_dict(self) -> dict:
        return {"head": {k: v.detach().cpu() for k, v in self.head.state_dict().items()},
                "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.head.load_state_dict(state["head"])
        self.optimizer.load_state_dict(state["optimizer"])


def make_distiller(run):
    """The run's EmbeddingDistiller when config.data.teacher_embeddings is set, else None (kit.train.state.Run
    makes it when the run is made)."""
    if not run.config.data.teacher_embeddings:
        return None
    if run.dist.world > 1:
        raise ValueError("teacher_embeddings (embedding distillation) runs in one process: train without torchrun")
    cache = getattr(run.train_set, "cache", None) or getattr(getattr(run.train_set, "labelled", None), "cache", None)
    if cache is None:
        from kit.audio import AudioCache

        cache = AudioCache(run.config.data.cache_audio_mb)
    return EmbeddingDistiller(run.config, run.net, run.device, cache, run.log)


__all__ = ["EmbeddingDistiller", "make_distiller", "student_features", "feature_width", "resolve_windows"]
