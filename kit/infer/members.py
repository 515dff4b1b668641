"""Ensemble members: checkpoints loaded for inference (torch, or ONNX Runtime with `runtime="onnx"`, in float32
or int8) and run on batches of windows (test-time augmentation; the batch halves on out-of-memory errors).

Shared front-end: members whose audio and feature configs are equal form a group; the Runner computes the
group's features once per batch and runs every member's network on them (`shared=False`: each member computes
its own, the member-by-member path). Members may have different label lists: they are aligned by name into
one list (the first member's labels, then the others' new ones, in order). Used by kit.infer.predict."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from kit.config import Config

RUNTIMES = ("torch", "onnx", "openvino")
PRECISIONS = ("fp32", "int8")


@dataclass
class Member:
    """One ensemble member: an eval-mode model, its config and labels."""

    path: str
    model: object
    config: Config
    labels: list
    frontend: Optional[object] = None   # (x, valid) -> features when the model takes precomputed features
    active: bool = True
    labels_noted: bool = False          # the ensemble's label differences were already reported
    weight: float = 1.0                 # its share in the ensemble's average (a foreign member's blend weight)

    @classmethod
    def from_model(cls, model, config: Config, labels, device="cpu", path: str = "<memory>") -> "Member":
        config = config.for_inference()
        frontend = None
        if not config.model.features_in_model:
            from kit.features import FeatureExtractor

            frontend = FeatureExtractor(config.audio, config.features).to(device).eval()
        return cls(path, model.to(device).eval(), config, list(labels), frontend)


def load_members(checkpoints, device, runtime: str = "torch", shared: bool = True, precision: str = "fp32",
                 calibration=()) -> list:
    """Members from checkpoint paths (or ready Members); they must share the scoring window.

    runtime="onnx" / "openvino": each checkpoint is exported (front-end in the graph) and run by ONNX Runtime /
    OpenVINO on the CPU (float32), ~1.5x faster than eager torch for an efficientnet_b0 here
    (docs/inference-speed.md); checkpoints that cannot be exported (spectrogram mirroring) stay on torch, with a
    warning. With ONNX Runtime and `shared` (the default) each member is a network graph (features in) and the
    members of one audio + feature config share one front-end graph. precision="int8" (ONNX Runtime only; implies
    runtime="onnx"): the network quantized (kit.infer.int8): `<checkpoint>.int8.onnx` when `kit export --precision
    int8` wrote one, else quantized now, calibrated on windows of the `calibration` audio files."""
    from kit.checkpoint import CheckpointError

    if runtime not in RUNTIMES:
        raise ValueError(f"runtime={runtime!r}: use torch, onnx or openvino")
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}: use fp32 or int8")
    if precision == "int8":
        if runtime == "openvino":
            raise ValueError("precision='int8' runs on ONNX Runtime: use runtime='onnx' (or torch, which means onnx)")
        runtime = "onnx"
    if isinstance(checkpoints, (str, Path, Member)):
        checkpoints = [checkpoints]
    if not checkpoints:
        raise ValueError("no checkpoint given: pass at least one --checkpoint")
    frontends: Optional[dict] = {} if shared else None
    members = [item if isinstance(item, Member) else _load_one(item, device, runtime, precision, frontends,
                                                               calibration) for item in checkpoints]
    first = members[0]
    for m in members[1:]:
        if m.config.audio.window_s != first.config.audio.window_s:
            raise CheckpointError(f"{m.path}: window_s={m.config.audio.window_s} differs from {first.path}'s "
                                  f"{first.config.audio.window_s}; the scoring window must be the same")
    _note_label_differences(members)
    return members


def _load_one(item, device, runtime: str, precision: str, frontends: Optional[dict], calibration) -> Member:
    from kit.checkpoint import load_checkpoint, load_model

    ckpt = load_checkpoint(item) if runtime != "torch" else None
    if ckpt is not None and ckpt.config.audio.mirror_placement != "spectrogram":
        from kit.infer.int8 import onnx_member
        from kit.infer.runtimes import OnnxModel, OpenVinoModel

        if runtime == "onnx" and (frontends is not None or precision == "int8"):
            frontend, network, ckpt = onnx_member(item, precision, calibration, frontends)
            return Member(str(item), network, ckpt.config.for_inference(), list(ckpt.labels), frontend)
        model = (OnnxModel if runtime == "onnx" else OpenVinoModel)(item)
        return Member(str(item), model, ckpt.config.for_inference(), list(ckpt.labels))
    if ckpt is not None:
        warnings.warn(f"{item}: mirror_placement='spectrogram' does not export to ONNX; this member runs on torch"
                      + (" in float32" if precision == "int8" else ""))
    model, ckpt = load_model(item, device)
    return Member.from_model(model, ckpt.config, ckpt.labels, device, str(item))


def union_labels(members: list) -> list:
    """The ensemble's label list: the first member's labels, then each other member's new ones, in order."""
    labels, seen = [], set()
    for m in members:
        for label in m.labels:
            if label not in seen:
                seen.add(label)
                labels.append(label)
    return labels


def _note_label_differences(members: list) -> None:
    """One warning when the members' label lists differ (they are aligned by name, not refused); said once per
    ensemble (predict_competition hands its loaded members on to predict_soundscapes)."""
    if all(m.labels_noted for m in members):
        return
    for m in members:
        m.labels_noted = True
    labels = union_labels(members)
    lacking = [(m, [lab for lab in labels if lab not in set(m.labels)]) for m in members]
    lacking = [(m, missing) for m, missing in lacking if missing]
    reordered = [m for m in members if m.labels != members[0].labels and set(m.labels) == set(members[0].labels)]
    if not lacking and not reordered:
        return
    parts = [f"{Path(m.path).name} lacks {len(missing)} ({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''})"
             for m, missing in lacking]
    parts += [f"{Path(m.path).name} orders them differently" for m in reordered]
    warnings.warn(f"ensemble members' label lists differ; aligned by name into {len(labels)} labels, each averaged "
                  f"over the members that have it (a label no member has gets fallback_prob): " + "; ".join(parts))


# ---------------------------------------------------------------------------------------------------
# model calls
# ---------------------------------------------------------------------------------------------------
def frontend_key(member: Member) -> tuple:
    """Members with equal keys can share one front-end: same audio + feature config, same kind of front-end."""
    fe = member_frontend(member)
    if fe is None:  # a whole-graph model (waveform in, probabilities out): runs alone
        return ("whole", id(member))
    return (type(fe).__name__, member.config.audio, member.config.features)


def member_frontend(member: Member):
    """(x (B, 1, samples), valid (B, 1)) -> features (B, 1, C, H, T), or None when the model owns an
    un-shareable one (an ONNX / OpenVINO waveform graph)."""
    if member.frontend is not None:
        return member.frontend
    if hasattr(member.model, "logits_from_features"):  # KitModel with features_in_model
        return member.model.frontend
    return None


def network_probs(member: Member, feats, valid):
    """Probabilities (B, classes) of the member's network on features (B, 1, C, H, T)."""
    import torch

    if getattr(member.model, "outputs_probabilities", False):  # kit.infer.runtimes.OnnxNetwork
        return member.model(feats, valid_samples=valid).to(feats.device)
    return torch.sigmoid(member.model.logits_from_features(feats, valid).float())


def _forward(member: Member, x, valid):
    """Probabilities (B, classes) for x (B, 1, samples)."""
    import torch

    if member.frontend is not None:
        return network_probs(member, member.frontend(x, valid), valid)
    if getattr(member.model, "outputs_probabilities", False):  # kit.infer.runtimes.OnnxModel
        return member.model(x, valid_samples=valid).to(x.device)
    return torch.sigmoid(member.model(x, valid_samples=valid).float())


def member_probs(member: Member, crops, valid, tta: str):
    """(B, samples) windows -> (B, classes) probabilities, optionally averaged with a half-shifted view."""
    import torch

    x, v = crops[:, None, :], valid[:, None]
    probs = _forward(member, x, v)
    if tta == "shift":
        shift = member.config.audio.crop_samples // 2
        probs = 0.5 * (probs + _forward(member, torch.roll(x, -shift, dims=-1), v))
    return probs


def group_probs(members: list, crops, valid, tta: str) -> list:
    """[(B, classes) probabilities] of members sharing one front-end: features computed once (per view)."""
    import torch

    x, v = crops[:, None, :], valid[:, None]
    frontend = member_frontend(members[0])
    views = [x] + ([torch.roll(x, -(members[0].config.audio.crop_samples // 2), dims=-1)] if tta == "shift" else [])
    feats = [frontend(view, v) for view in views]
    return [sum(network_probs(m, f, v) for f in feats) / len(feats) for m in members]


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


class Runner:
    """Runs the active members of one audio group on a batch; halves the batch size on out-of-memory errors.

    `labels`: the ensemble's label list (union_labels); `shared`: members with equal front-end keys share one
    front-end computation per batch."""

    def __init__(self, members: list, batch_size: int, device, labels: Optional[list] = None, shared: bool = True):
        self.members, self.batch_size, self.device, self.shared = members, int(batch_size), device, shared
        self.labels = list(labels) if labels is not None else union_labels(members)
        where = {label: i for i, label in enumerate(self.labels)}
        self.columns = {id(m): np.array([where[lab] for lab in m.labels]) for m in members}

    def active(self) -> list:
        return [m for m in self.members if m.active]

    def groups(self) -> list:
        """[[members]] that share a front-end (in member order); each member alone when not shared."""
        if not self.shared:
            return [[m] for m in self.active()]
        groups: dict = {}
        for m in self.active():
            groups.setdefault(frontend_key(m), []).append(m)
        return list(groups.values())

    def _batch(self, x, v, tta: str) -> tuple:
        sums = np.zeros((len(x), len(self.labels)), np.float32)
        counts = np.zeros(len(self.labels), np.float64)
        for group in self.groups():
            probs = [member_probs(group[0], x, v, tta)] if len(group) == 1 else group_probs(group, x, v, tta)
            for m, p in zip(group, probs):
                sums[:, self.columns[id(m)]] += m.weight * p.float().cpu().numpy()
                counts[self.columns[id(m)]] += m.weight
        return sums, counts

    def __call__(self, crops: np.ndarray, valid: np.ndarray, tta: str) -> tuple:
        """(weighted sum of member probabilities (B, labels) float32, summed member weights per label (labels,),
        members that ran)."""
        import torch

        n_active = len(self.active())
        out, counts, start = [], np.zeros(len(self.labels), np.float64), 0
        while start < len(crops):
            stop = min(len(crops), start + self.batch_size)
            try:
                with torch.inference_mode():
                    x = torch.from_numpy(crops[start:stop]).to(self.device)
                    v = torch.from_numpy(valid[start:stop]).to(self.device)
                    sums, counts = self._batch(x, v, tta)
                    out.append(sums)
            except RuntimeError as exc:
                if not _is_oom(exc) or self.batch_size == 1:
                    raise
                self.batch_size //= 2
                warnings.warn(f"out of memory during inference: batch size halved to {self.batch_size}")
                if getattr(torch, "cuda", None) is not None and torch.cuda.is_available():
                    torch.cuda.empty_cache()
                continue
            start = stop
        return np.concatenate(out).astype(np.float32), counts, n_active
