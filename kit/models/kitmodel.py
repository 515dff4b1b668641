"""KitModel: [waveform front-end] -> backbone per crop -> head -> crop logits -> pooled logits per recording."""
from __future__ import annotations

import warnings
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from kit.models.backbones import Backbone, build_backbone, input_shape
from kit.models.errors import ModelError
from kit.models.head import Head
from kit.models.sed import SedHead
from kit.models.weights import is_kit_state_dict, load_kit_weights, read_state_dict


def pool_crops(crop_logits: torch.Tensor, how: str = "mean", over: str = "logits",
               mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """(B, K, classes) crop logits -> (B, classes) float32 logits of the recording.

    over="logits": mean or max of the logits. over="probs": mean or max of sigmoid(logits), returned as
    logit(pooled p) so the loss is always BCE-with-logits. The mean of probabilities is computed in log space
    (log mean sigmoid(z) - log mean sigmoid(-z)): exact, always finite, no clamp needed and no vanishing
    gradient. The max of probabilities equals the max of logits (sigmoid is monotone).
    `mask` (B, K) bool leaves crops out (pure padding); a row whose crops are all masked uses all of them.
    """
    if how not in ("mean", "max") or over not in ("logits", "probs"):
        raise ValueError(f"pool {how!r} over {over!r}: use mean|max over logits|probs")
    z = crop_logits.float()
    keep = torch.ones(z.shape[:2], dtype=torch.bool, device=z.device) if mask is None else mask.to(z.device).bool()
    keep = (keep | ~keep.any(dim=1, keepdim=True))[..., None]  # (B, K, 1)
    if how == "max":
        return z.masked_fill(~keep, float("-inf")).amax(dim=1)
    count = keep.sum(dim=1).to(z.dtype)  # (B, 1)
    if over == "logits":
        return torch.where(keep, z, torch.zeros_like(z)).sum(dim=1) / count
    log_count = count.log()
    log_p = torch.logsumexp(F.logsigmoid(z).masked_fill(~keep, float("-inf")), dim=1) - log_count
    log_q = torch.logsumexp(F.logsigmoid(-z).masked_fill(~keep, float("-inf")), dim=1) - log_count
    return log_p - log_q


class KitModel(nn.Module):
    """forward(x, valid_samples=None) -> (B, num_classes) logits.

    x: waveforms (B, K, samples) when config.model.features_in_model (the model owns `frontend`, a
    kit.features.FeatureExtractor), else features (B, K, C, H, T). A 2-D waveform batch (B, samples) or a 4-D
    feature batch (B, C, H, T) is taken as K=1. valid_samples (B, K): real samples per crop; the front-end
    uses it for spectrogram mirroring, and crops with 0 real samples are left out of the pooling.
    """

    def __init__(self, config, backbone: Backbone, num_classes: int):
        super().__init__()
        from kit.features import FeatureExtractor

        m = config.model
        self.config = config
        self.num_classes = int(num_classes)
        self.crop_pool, self.pool_over = m.crop_pool, m.pool_over
        self.input_shape = input_shape(config)  # (C, H, T) of one crop
        self.frontend = FeatureExtractor(config.audio, config.features) if m.features_in_model else None
        self.backbone = backbone
        self.sed = m.head == "sed"
        if self.sed:
            width = backbone.frame_features(*self.input_shape)
            self.head = SedHead(width, m.sed_hidden, m.head_dropout, self.num_classes)
        else:
            self.head = Head(backbone.num_features, m.head_hidden, m.head_dropout, self.num_classes)
        self.pretrained_note = ""

    def spectrograms(self, x: torch.Tensor, valid_samples=None) -> tuple:
        """(features (B, K, C, H, T), valid_samples (B, K) or None)."""
        want = 3 if self.frontend is not None else 5
        if x.dim() == want - 1:
            x = x.unsqueeze(1)
        if x.dim() != want:
            kind = "waveforms (batch, crops, samples)" if want == 3 else "features (batch, crops, C, H, T)"
            raise ValueError(f"model expects {kind}, got shape {tuple(x.shape)}")
        batch, crops = x.shape[:2]
        valid = None
        if valid_samples is not None:
            valid = torch.as_tensor(valid_samples, device=x.device)
            if valid.numel() != batch * crops:
                raise ValueError(f"valid_samples has {valid.numel()} values for {batch} x {crops} crops")
            valid = valid.reshape(batch, crops)
        feats = self.frontend(x, valid) if self.frontend is not None else x
        if feats.shape[2] != self.input_shape[0]:
            raise ValueError(f"model expects {self.input_shape[0]} feature channel(s) "
                             f"(kind={self.config.features.kind}), got shape {tuple(feats.shape)}")
        return feats, valid

    def crop_logits(self, x: torch.Tensor, valid_samples=None) -> torch.Tensor:
        """(B, K, num_classes) logits of each crop, before pooling."""
        feats, _ = self.spectrograms(x, valid_samples)
        return self._crop_logits(feats)

    def _crop_logits(self, feats: torch.Tensor) -> torch.Tensor:
        batch, crops = feats.shape[:2]
        flat = feats.flatten(0, 1)
        logits = self.head(self.backbone.frames(flat)) if self.sed else self.head(self.backbone(flat))
        return logits.reshape(batch, crops, -1)

    def forward(self, x: torch.Tensor, valid_samples=None, feature_hook=None) -> torch.Tensor:
        """feature_hook(features) -> features runs between the front-end and the backbone: the training loop
        puts SpecAugment there (inside forward, so DistributedDataParallel sees one call); inference never
        passes one."""
        feats, valid = self.spectrograms(x, valid_samples)
        if feature_hook is not None:
            feats = feature_hook(feats)
        return self.logits_from_features(feats, valid)

    def logits_from_features(self, feats: torch.Tensor, valid_samples=None) -> torch.Tensor:
        """(B, num_classes) logits from features (B, K, C, H, T) computed by a front-end outside the model
        (kit.infer's shared front-end: one per group of ensemble members); valid_samples (B, K) as in forward."""
        mask = None if valid_samples is None else torch.as_tensor(valid_samples, device=feats.device).reshape(
            feats.shape[:2]) > 0
        return pool_crops(self._crop_logits(feats), self.crop_pool, self.pool_over, mask)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def check_budget(model: KitModel, model_config) -> None:
    """Refuse (over_budget=error) or warn (warn) when the model has more than max_params_m million parameters."""
    total = count_parameters(model)
    limit = model_config.max_params_m * 1e6
    if total <= limit:
        return
    message = (f"backbone {model.backbone.name!r} makes a model of {total / 1e6:.1f} M parameters (backbone "
               f"{count_parameters(model.backbone) / 1e6:.1f} M, head {count_parameters(model.head) / 1e6:.2f} M), "
               f"above max_params_m={model_config.max_params_m:g}: pick a smaller backbone, or raise "
               f"max_params_m, or set over_budget=warn")
    if model_config.over_budget == "warn":
        warnings.warn(message, UserWarning, stacklevel=3)
        return
    raise ModelError(message)


def create_model(config, num_classes: int, pretrained: bool = True) -> KitModel:
    """The KitModel that `config` describes, in training mode on the CPU.

    pretrained=True reads config.model.pretrained_path, or else the hub weights config.model.pretrained names
    (kit.models.hub: cached, downloaded once when online). pretrained_path is a local file: a backbone state dict
    (timm / torchvision / kit backbone layout; timm adapts it to the input channels) or a whole KitModel state
    dict or kit checkpoint (its head is reused where the shapes fit). Loading a checkpoint's own weights
    afterwards (kit.checkpoint.load_model) passes pretrained=False, so the file need not exist at inference.
    """
    if int(num_classes) != num_classes or num_classes < 1:
        raise ModelError(f"num_classes={num_classes!r} must be an integer >= 1")
    path = config.model.pretrained_path if pretrained else None
    repo = ""
    if pretrained and not path:  # config.model.pretrained: hub weights, cached (kit.models.hub)
        from kit.models.hub import hub_weights

        path, repo = hub_weights(config.model)
    state = read_state_dict(path) if path else None
    whole = state is not None and is_kit_state_dict(state)
    backbone = build_backbone(config, None if whole else state, path)
    model = KitModel(config, backbone, int(num_classes))
    check_budget(model, config.model)
    if whole:
        untouched = load_kit_weights(model, state, path)
        model.pretrained_note = f"kit weights from {path}" + (f"; kept fresh: {', '.join(untouched)}"
                                                              if untouched else "")
    elif state is not None:
        model.pretrained_note = f"backbone weights {'of ' + repo + ' ' if repo else ''}from {path}"
    return model


def describe_model(model: KitModel) -> str:
    """One line: backbone, parameter counts, input, head, pooling (and any input-size or weights note)."""
    c, h, t = model.input_shape
    if model.sed:
        head = f"SED head (frames {model.head.proj.in_channels} -> {model.head.proj.out_channels}, attention pooling)"
    else:
        head = "head hidden " + (",".join(str(b.linear.out_features) for b in model.head.blocks) or "none")
    text = (f"{model.backbone.name}: {count_parameters(model) / 1e6:.2f} M parameters (backbone "
            f"{count_parameters(model.backbone) / 1e6:.2f} M, head {count_parameters(model.head) / 1e6:.3f} M); "
            f"input {c}x{h}x{t} {'waveform front-end' if model.frontend is not None else 'precomputed features'}; "
            f"{head}, {model.num_classes} classes; pool {model.crop_pool} over {model.pool_over}")
    notes = [n for n in (model.backbone.note, model.pretrained_note) if n]
    return text + "".join(f"; {n}" for n in notes)
