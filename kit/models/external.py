"""timm and torchvision backbones, adapted to spectrogram input: C input channels, pooled features out.

Weights come only from a state dict already read from a local file (kit.models.weights): timm gets it through
`pretrained_cfg_overlay=dict(state_dict=...)`, so timm adapts the first conv to C channels, drops its
classifier and resizes position embeddings itself, and never looks at a URL or the hub.

Fixed-size models (timm's `fixed_input_size`: Swin, EVA, ViT, ...): first built with `img_size=(H, T)`, the
spectrogram's own size, and checked with one forward pass; when the model cannot take that size, it is built at
its default size (e.g. 256x256) and the Backbone resizes each spectrogram to it (bilinear) — `Backbone.note`
says which happened. torchvision models get the same check, resized to their `image_size` (ViT) or 224.
"""
from __future__ import annotations

import warnings

import torch
from torch import nn

from kit.models.errors import ModelError, PretrainedWeightsError
from kit.models.weights import first_lines, load_into

TV_REFUSED = {"googlenet": "returns auxiliary outputs in training mode",
              "inception_v3": "returns auxiliary outputs in training mode and needs 299x299 inputs"}


def dry_run(net: nn.Module, in_chans: int, height: int, width: int) -> int:
    """One eval-mode forward of zeros (1, C, H, W); the output must be pooled features (1, F). Returns F."""
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            out = net(torch.zeros(1, in_chans, height, width))
    finally:
        net.train(was_training)
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        raise ModelError(f"backbone returns {type(out).__name__} {tuple(getattr(out, 'shape', ()))}, "
                         f"not pooled features (batch, features)")
    return int(out.shape[1])


def _timm_create(arch: str, in_chans: int, state_dict, path=None, **kwargs) -> nn.Module:
    import timm

    extra = dict(pretrained_cfg_overlay=dict(state_dict=dict(state_dict))) if state_dict is not None else {}
    try:
        net = timm.create_model(arch, pretrained=state_dict is not None, in_chans=in_chans, num_classes=0,
                                **extra, **kwargs)
    except TypeError as exc:
        if "drop_path_rate" in str(exc):
            raise ModelError(f"timm backbone {arch!r} does not take drop_path_rate: set drop_path_rate=0") from exc
        raise
    except (RuntimeError, NotImplementedError, KeyError) as exc:
        if state_dict is None:
            raise
        raise PretrainedWeightsError(f"pretrained_path={path}: weights do not fit timm backbone {arch!r}: "
                                     f"{first_lines(exc)}") from exc
    if state_dict is not None:
        check_fit(net, state_dict, f"timm backbone {arch!r}", path)
    return net


def check_fit(net: nn.Module, state_dict: dict, what: str, path) -> None:
    """timm loads non-strictly once it drops the classifier: refuse a file that misses most of the backbone's
    parameters (another architecture), warn when a few are left at their fresh initialization."""
    names = [n for n, _ in net.named_parameters()]
    missing = [n for n in names if n not in state_dict]
    if len(missing) * 2 > len(names):
        raise PretrainedWeightsError(f"pretrained_path={path}: weights do not fit {what}: {len(missing)} of its "
                                     f"{len(names)} parameters are not in the file, e.g. {missing[:3]}")
    if missing:
        warnings.warn(f"pretrained_path={path}: {len(missing)} parameter(s) of {what} are not in the file and "
                      f"keep their fresh initialization: {missing[:5]}", UserWarning, stacklevel=2)


def _default_cfg(arch: str):
    from timm.models import get_pretrained_cfg

    try:
        return get_pretrained_cfg(arch)
    except RuntimeError:  # an architecture without registered cfgs (older timm)
        return None


def build_timm(arch: str, in_chans: int, height: int, width: int, state_dict=None, path=None, **create) -> tuple:
    """(net, resize_hw or None, note, num_features) for a timm model name (tags like `.mim_in22k` allowed);
    `create` goes to timm.create_model (e.g. drop_path_rate)."""
    cfg = _default_cfg(arch)
    fixed = bool(getattr(cfg, "fixed_input_size", False))
    try:
        size_kw = dict(img_size=(height, width)) if fixed else {}
        net = _timm_create(arch, in_chans, state_dict, path, **size_kw, **create)
        features = dry_run(net, in_chans, height, width)
        return net, None, f"built for img_size=({height}, {width}), the spectrogram's size" if fixed else "", features
    except PretrainedWeightsError:
        if not fixed:
            raise
        first_error = "weights at that size"
    except Exception as exc:  # this model (or timm version) cannot take that size: resize instead
        first_error = f"{type(exc).__name__}: {first_lines(exc, 1)}"
    size = tuple(int(s) for s in (cfg.input_size[1:] if cfg is not None else (224, 224)))
    net = _timm_create(arch, in_chans, state_dict, path, **create)
    features = dry_run(net, in_chans, *size)
    note = (f"cannot take {height}x{width} ({first_error}); "
            f"spectrograms are resized to {size[0]}x{size[1]} (bilinear) inside the model")
    return net, size, note, features


def build_torchvision(arch: str, in_chans: int, height: int, width: int, state_dict=None, path=None) -> tuple:
    """(net, resize_hw or None, note, num_features) for `tv:<arch>`: first conv takes C channels, last Linear
    removed."""
    import torchvision

    if arch in TV_REFUSED:
        raise ModelError(f"backbone 'tv:{arch}' is not supported: it {TV_REFUSED[arch]}; pick another one")
    net = torchvision.models.get_model(arch, weights=None)
    if state_dict is not None:
        load_into(net, state_dict, path, f"tv:{arch}")
    replace_first_conv(net, in_chans, adapt_weights=state_dict is not None, name=f"tv:{arch}")
    drop_last_linear(net, name=f"tv:{arch}")
    try:
        return net, None, "", dry_run(net, in_chans, height, width)
    except Exception as exc:
        first_error = f"{type(exc).__name__}: {first_lines(exc, 1)}"
    side = int(getattr(net, "image_size", 224))
    features = dry_run(net, in_chans, side, side)
    note = (f"cannot take {height}x{width} ({first_error}); spectrograms are resized to {side}x{side} "
            f"(bilinear) inside the model")
    return net, (side, side), note, features


def _set_submodule(root: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, child, module)


def replace_first_conv(net: nn.Module, in_chans: int, adapt_weights: bool, name: str) -> None:
    """Swap the first Conv2d for one taking `in_chans` channels (pretrained RGB kernels adapted as timm does)."""
    conv_name, conv = next(((n, m) for n, m in net.named_modules() if isinstance(m, nn.Conv2d)), (None, None))
    if conv is None:
        raise ModelError(f"backbone {name!r} has no Conv2d to take {in_chans} input channel(s)")
    if conv.in_channels == in_chans:
        return
    if conv.groups != 1:
        raise ModelError(f"backbone {name!r}: first conv is grouped; cannot adapt it to {in_chans} channel(s)")
    new = nn.Conv2d(in_chans, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    bias=conv.bias is not None, padding_mode=conv.padding_mode)
    if adapt_weights:
        from timm.models import adapt_input_conv

        with torch.no_grad():
            new.weight.copy_(adapt_input_conv(in_chans, conv.weight.detach()))
            if conv.bias is not None:
                new.bias.copy_(conv.bias.detach())
    _set_submodule(net, conv_name, new)


def drop_last_linear(net: nn.Module, name: str) -> int:
    """Replace the last nn.Linear (the ImageNet classifier) by Identity; returns its input width."""
    found = [(n, m) for n, m in net.named_modules() if isinstance(m, nn.Linear)]
    if not found:
        raise ModelError(f"backbone {name!r} has no Linear classifier to remove")
    linear_name, linear = found[-1]
    _set_submodule(net, linear_name, nn.Identity())
    return int(linear.in_features)
