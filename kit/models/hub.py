"""Hub weights while training: config.model.pretrained = auto | imagenet | none | <hub name>.

    imagenet      the timm backbone's default pretrained weights (timm's `pretrained=True`: the Hugging Face
                  repo its pretrained cfg names, e.g. timm/efficientnet_b0.ra_in1k), fetched once into the
                  Hugging Face cache and read from there afterwards
    hf-hub:ORG/NAME (or ORG/NAME)   that Hugging Face repo's model.safetensors (or pytorch_model.bin)
    auto          (default) imagenet for timm backbones when the weights are cached or the hub answers; without
                  either, a warning and random initialization; nothing for cnn / rnn / tv: backbones
    none          random initialization

The file is read like a local weights file (kit.models.weights: safetensors, or torch.load(weights_only=True))
and handed to timm as a state dict, so timm adapts the RGB stem to the input channels and drops the ImageNet
classifier as it does for its own downloads. pretrained_path= wins over this key. The checkpoint holds every
weight: prediction (kit.checkpoint.load_model, create_model(pretrained=False)) never reads the hub or the cache.

Offline (HF_HUB_OFFLINE=1, or the hub unreachable) without a cached copy, `imagenet` and hub names stop with one
error naming the cache folder looked in and `pretrained_path=`, before any training; `auto` warns and goes on.
"""
from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path
from urllib.parse import urlparse

from kit.models.errors import ModelError, PretrainedWeightsError

HUB_PREFIXES = ("hf-hub:", "hf_hub:")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # timm's names on the hub, safetensors first
PROBE_TIMEOUT_S = 3.0


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache folder, from the environment at call time (HF_HUB_CACHE, HF_HOME, ...)."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(name):
            return Path(os.environ[name]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def hub_offline() -> bool:
    """HF_HUB_OFFLINE (huggingface_hub's switch) set to a true value."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """One TCP connection to the hub's endpoint: seconds, where huggingface_hub's own retries take ~25 s a file."""
    from huggingface_hub import constants

    url = urlparse(os.environ.get("HF_ENDPOINT") or constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def hub_errors(*names) -> tuple:
    """huggingface_hub's exception classes (in .errors since 0.23, in .utils before)."""
    try:
        from huggingface_hub import errors
    except ImportError:  # older huggingface_hub
        from huggingface_hub import utils as errors
    return tuple(getattr(errors, name) for name in names)


def repo_name(value: str) -> str:
    text = str(value).strip()
    for prefix in HUB_PREFIXES:
        if text.lower().startswith(prefix):
            return text[len(prefix):]
    return text


def hub_source(value: str, kind: str, arch: str):
    """The hub repo to read for this backbone, or None (random initialization). ModelError where `value`
    asks for weights this backbone cannot get from the hub."""
    value = str(value).strip()
    if value == "none" or (value == "auto" and kind != "timm"):
        return None
    if kind != "timm":
        raise ModelError(f"pretrained={value}: hub weights are for timm backbones; backbone {arch!r} has none "
                         f"there: set pretrained=none, or pretrained_path=<local weights file>")
    if value not in ("auto", "imagenet"):
        return repo_name(value)
    from timm.models import get_pretrained_cfg

    try:
        cfg = get_pretrained_cfg(arch)
    except RuntimeError:
        cfg = None
    repo = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
    if repo:
        return repo
    if value == "auto":
        return None
    raise ModelError(f"pretrained=imagenet: timm names no hub weights for {arch!r}; set pretrained=none, a hub "
                     f"name (pretrained=hf-hub:ORG/NAME) or pretrained_path=<local weights file>")


def download(repo: str, offline: bool) -> str:
    """Path of the repo's weights file in the cache, downloaded first when online. Raises
    huggingface_hub's errors (LocalEntryNotFoundError: not cached and not reachable)."""
    from huggingface_hub import hf_hub_download

    EntryNotFoundError, LocalEntryNotFoundError = hub_errors("EntryNotFoundError", "LocalEntryNotFoundError")

    first = None
    for filename in WEIGHT_FILES:
        try:
            return hf_hub_download(repo, filename, cache_dir=str(hub_cache_dir()), local_files_only=offline)
        except LocalEntryNotFoundError as exc:  # (a subclass of EntryNotFoundError): try the other file
            first = first or exc
        except EntryNotFoundError as exc:  # on the hub, but not this file
            first = first or exc
    raise first


def _cached_or_downloaded(value: str, repo: str, offline: bool) -> str:
    """The cache first (no network); then, online, one probe of the hub and the download."""
    (LocalEntryNotFoundError,) = hub_errors("LocalEntryNotFoundError")
    try:
        return download(repo, True)
    except LocalEntryNotFoundError:
        if offline:
            raise
    if not hub_reachable():
        raise unavailable(value, repo, "the hub cannot be reached (no network)")
    return download(repo, False)


def unavailable(value: str, repo: str, why: str) -> PretrainedWeightsError:
    return PretrainedWeightsError(
        f"pretrained={value}: the weights {repo} are not in the Hugging Face cache {hub_cache_dir()} "
        f"(looked for {' or '.join(WEIGHT_FILES)}) and {why}. Run once with the hub reachable (e.g. the Kaggle "
        f"training notebook with internet on) to cache them, or put the weights file on this machine and set "
        f"pretrained_path=<file> (or pretrained=none for random initialization)")


def hub_weights(model_config):
    """(cached weights file, repo) for config.model.pretrained and this config's backbone, or (None, "")."""
    from kit.models.backbones import resolve_backbone

    return fetch_hub_weights(model_config.pretrained, *resolve_backbone(model_config.backbone))


def fetch_hub_weights(value: str, kind: str, arch: str):
    """(path of the cached weights file, repo) for config.model.pretrained, or (None, "") for random
    initialization. `auto` falls back with a warning; anything else explicit raises PretrainedWeightsError."""
    repo = hub_source(value, kind, arch)
    if repo is None:
        return None, ""
    EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError = hub_errors(
        "EntryNotFoundError", "HfHubHTTPError", "LocalEntryNotFoundError", "RepositoryNotFoundError")

    offline = hub_offline()
    try:
        return _cached_or_downloaded(value, repo, offline), repo
    except LocalEntryNotFoundError as exc:
        error = unavailable(value, repo, "the machine is offline (HF_HUB_OFFLINE=1)" if offline else
                            f"the hub cannot be reached ({type(exc).__name__})")
    except RepositoryNotFoundError:
        error = PretrainedWeightsError(f"pretrained={value}: no model {repo!r} on the Hugging Face hub (or it "
                                       f"is private): check the name, e.g. hf-hub:timm/efficientnet_b0.ra_in1k")
    except EntryNotFoundError:
        error = PretrainedWeightsError(f"pretrained={value}: the hub repo {repo} has none of {WEIGHT_FILES}: "
                                       f"not a timm weights repo; download its weights and set pretrained_path=")
    except (HfHubHTTPError, OSError) as exc:
        error = unavailable(value, repo, f"the download failed ({type(exc).__name__}: {str(exc)[:200]})")
    except PretrainedWeightsError as exc:
        error = exc
    if value == "auto":
        warnings.warn(f"{error} -- so {arch} trains from random initialization (pretrained=auto falls back; "
                      f"pretrained=imagenet would stop here)", UserWarning, stacklevel=3)
        return None, ""
    raise error
