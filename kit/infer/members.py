"""Ensemble members: checkpoints loaded for inference (torch, or ONNX Runtime with `runtime="onnx"`) and run
on batches of windows (test-time augmentation; the batch halves on out-of-memory errors). Used by
kit.infer.predict."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from kit.config import Config


@dataclass
class Member:
    """One ensemble member: an eval-mode model, its config and labels."""

    path: str
    model: object
    config: Config
    labels: list
    frontend: Optional[object] = None   # FeatureExtractor when the model takes precomputed features
    active: bool = True

    @classmethod
    def from_model(cls, model, config: Config, labels, device="cpu", path: str = "<memory>") -> "Member":
        config = config.for_inference()
        frontend = None
        if not config.model.features_in_model:
            from kit.features import FeatureExtractor

            frontend = FeatureExtractor(config.audio, config.features).to(device).eval()
        return cls(path, model.to(device).eval(), config, list(labels), frontend)


def load_members(checkpoints, device, runtime: str = "torch") -> list:
    """Members from checkpoint paths (or ready Members); they must share labels and the scoring window.

    runtime="onnx" / "openvino": each checkpoint is exported (front-end in the graph) and run by ONNX Runtime /
    OpenVINO on the CPU (float32), ~1.5x faster than eager torch for an efficientnet_b0 here (README); checkpoints
    that cannot be exported (spectrogram mirroring) stay on torch, with a warning."""
    from kit.checkpoint import CheckpointError, load_checkpoint, load_model

    if runtime not in ("torch", "onnx", "openvino"):
        raise ValueError(f"runtime={runtime!r}: use torch, onnx or openvino")
    if isinstance(checkpoints, (str, Path, Member)):
        checkpoints = [checkpoints]
    if not checkpoints:
        raise ValueError("no checkpoint given: pass at least one --checkpoint")
    members = []
    for item in checkpoints:
        if isinstance(item, Member):
            members.append(item)
            continue
        ckpt = load_checkpoint(item) if runtime != "torch" else None
        if ckpt is not None and ckpt.config.audio.mirror_placement != "spectrogram":
            from kit.export import OnnxModel, OpenVinoModel

            model = (OnnxModel if runtime == "onnx" else OpenVinoModel)(item)
            members.append(Member(str(item), model, ckpt.config.for_inference(), list(ckpt.labels)))
            continue
        if ckpt is not None:
            warnings.warn(f"{item}: mirror_placement='spectrogram' does not export to ONNX; this member runs on torch")
        model, ckpt = load_model(item, device)
        members.append(Member.from_model(model, ckpt.config, ckpt.labels, device, str(item)))
    first = members[0]
    for m in members[1:]:
        if m.labels != first.labels:
            raise CheckpointError(f"{m.path}: its labels differ from {first.path}'s; ensemble members must share "
                                  f"one label list (same training labels, same order)")
        if m.config.audio.window_s != first.config.audio.window_s:
            raise CheckpointError(f"{m.path}: window_s={m.config.audio.window_s} differs from {first.path}'s "
                                  f"{first.config.audio.window_s}; the scoring window must be the same")
    return members


# ---------------------------------------------------------------------------------------------------
# model calls
# ---------------------------------------------------------------------------------------------------
def _forward(member: Member, x, valid):
    """Probabilities (B, classes) for x (B, 1, samples): sigmoid of the model's logits."""
    import torch

    if getattr(member.model, "outputs_probabilities", False):  # kit.export.OnnxModel
        return member.model(x, valid_samples=valid).to(x.device)
    if member.frontend is not None:
        x = member.frontend(x, valid)
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


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


class Runner:
    """Runs the active members of one group on a batch; halves the batch size on out-of-memory errors."""

    def __init__(self, members: list, batch_size: int, device):
        self.members, self.batch_size, self.device = members, int(batch_size), device

    def active(self) -> list:
        return [m for m in self.members if m.active]

    def __call__(self, crops: np.ndarray, valid: np.ndarray, tta: str) -> tuple:
        """(sum of member probabilities (B, classes) float32, number of members that ran)."""
        import torch

        active = self.active()
        out, start = [], 0
        while start < len(crops):
            stop = min(len(crops), start + self.batch_size)
            try:
                with torch.inference_mode():
                    x = torch.from_numpy(crops[start:stop]).to(self.device)
                    v = torch.from_numpy(valid[start:stop]).to(self.device)
                    out.append(sum(member_probs(m, x, v, tta) for m in active).cpu().numpy())
            except RuntimeError as exc:
                if not _is_oom(exc) or self.batch_size == 1:
                    raise
                self.batch_size //= 2
                warnings.warn(f"out of memory during inference: batch size halved to {self.batch_size}")
                if getattr(torch, "cuda", None) is not None and torch.cuda.is_available():
                    torch.cuda.empty_cache()
                continue
            start = stop
        return np.concatenate(out).astype(np.float32), len(active)
