"""Local pretrained weights: read a file safely, never download.

`.safetensors` files are read with safetensors; anything else with torch.load(weights_only=True), so a file
holding pickled Python objects is refused. Common containers are unwrapped (`state_dict`, `model`, `module`
keys, a kit checkpoint) and `module.` / `_orig_mod.` prefixes (DataParallel, torch.compile) are stripped.
"""
from __future__ import annotations

import pickle
from pathlib import Path

from kit.models.errors import PretrainedWeightsError

CONTAINER_KEYS = ("state_dict", "model", "module", "state_dict_ema")
STRIPPED_PREFIXES = ("module.", "_orig_mod.")
OWN_STATE_PREFIX = "backbone.net."


def read_state_dict(path) -> dict:
    """{name: tensor} from a local weights file; PretrainedWeightsError naming the file otherwise."""
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise PretrainedWeightsError(
            f"pretrained_path={path}: file not found. Weights are only read from a local file (never downloaded): "
            f"put the file there (e.g. in a Kaggle dataset) or set pretrained_path=null for random initialization")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            raw = load_file(str(path), device="cpu")
        else:
            raw = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise PretrainedWeightsError(f"pretrained_path={path}: holds pickled Python objects, refused "
                                     f"(weights_only=True); save a plain state dict instead: {exc}") from exc
    except Exception as exc:
        raise PretrainedWeightsError(f"pretrained_path={path}: cannot read weights "
                                     f"({type(exc).__name__}: {exc})") from exc
    state = _strip_prefixes(_unwrap(raw, torch.Tensor), torch.Tensor)
    if not state:
        raise PretrainedWeightsError(f"pretrained_path={path}: holds no weight tensors")
    return state


def _unwrap(raw, tensor_type):
    for _ in range(len(CONTAINER_KEYS) + 1):
        if not isinstance(raw, dict) or all(isinstance(v, tensor_type) for v in raw.values()):
            break
        inner = next((raw[k] for k in CONTAINER_KEYS if isinstance(raw.get(k), dict)), None)
        if inner is None:
            break
        raw = inner
    return raw if isinstance(raw, dict) else {}


def _strip_prefixes(state: dict, tensor_type) -> dict:
    out = {}
    for key, value in state.items():
        if not isinstance(value, tensor_type):
            continue
        for prefix in STRIPPED_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        out[key] = value
    return out


def is_kit_state_dict(state: dict) -> bool:
    """True for a whole KitModel's state dict (a kit checkpoint or model.state_dict()), not a backbone's."""
    return any(key.startswith(OWN_STATE_PREFIX) for key in state)


def load_kit_weights(model, state: dict, path) -> list:
    """Copy a KitModel state dict into `model`: the backbone must fit exactly; head tensors whose shapes differ
    (another label count or head_hidden) keep their fresh initialization. Returns the names left as they were."""
    own = model.state_dict()
    take = {k: v for k, v in state.items() if k in own and tuple(own[k].shape) == tuple(v.shape)}
    untouched = [k for k in own if k not in take]
    backbone_misfits = [k for k in untouched if k.startswith("backbone.")]
    if backbone_misfits:
        raise PretrainedWeightsError(
            f"pretrained_path={path}: kit weights do not fit backbone {model.backbone.name!r}: "
            f"{len(backbone_misfits)} tensor(s) missing or of another shape, e.g. {backbone_misfits[:3]}")
    model.load_state_dict(take, strict=False)
    return untouched


def load_into(net, state: dict, path, name: str) -> None:
    """Strict load of a backbone state dict into `net` with an error naming the file and the backbone."""
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise PretrainedWeightsError(f"pretrained_path={path}: weights do not fit backbone {name!r}: "
                                     f"{first_lines(exc)}") from exc


def first_lines(exc: BaseException, n: int = 3) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines[:n])[:600]
