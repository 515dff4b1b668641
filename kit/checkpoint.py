"""Checkpoints: weights + every config + label list + kit version + metrics, written atomically.

Loaded with torch.load(weights_only=True): a checkpoint holding pickled Python objects is refused.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import kit
from kit.config import Config
from kit.utils import atomic_torch_save

FORMAT = 1  # layout of the saved dict; a checkpoint of another format is refused on load
# Versions whose checkpoints this kit loads: their audio and feature preprocessing is the same (golden tensors in
# tests/golden pin it). Keys they lack get the value that reproduces how they were built (LEGACY_VALUES).
COMPATIBLE_VERSIONS = ("0.1.0", "0.2.0")  # 0.2.0's keys renamed or moved since are read (kit.config.aliases)
LEGACY_VALUES = {"model.head": "mlp", "model.drop_path_rate": 0.0, "audio.short_placement": "start",
                 "data.item_every_s": 0.0, "data.crop_placement": "uniform", "model.pretrained": "none"}


VERSION_CHECK = {"allow_mismatch": False}  # allow_version_mismatch(True): `--allow-version-mismatch`


def allow_version_mismatch(allowed: bool) -> None:
    """Load checkpoints of other kit versions too (process-wide; entry points and notebooks set it)."""
    VERSION_CHECK["allow_mismatch"] = bool(allowed)


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, unsafe or incompatible; the message names the file."""


@dataclass
class Checkpoint:
    config: Config
    labels: list
    state_dict: dict
    metrics: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)   # epoch, optimizer, scheduler, rng, history ... (resume)
    kit_version: str = kit.__version__
    path: str = ""


def save_checkpoint(path, ckpt: Checkpoint) -> Path:
    payload = {"format": FORMAT, "kit_version": kit.__version__, "config": ckpt.config.to_dict(),
               "labels": list(ckpt.labels), "state_dict": ckpt.state_dict, "metrics": dict(ckpt.metrics),
               "extra": dict(ckpt.extra)}
    return atomic_torch_save(payload, path)


def _check_zip_crc(path: Path) -> None:
    """torch.load does not verify the zip CRCs: an edited weight byte would load silently. Check them here."""
    import zipfile

    if not zipfile.is_zipfile(str(path)):
        return  # legacy / garbage: torch.load gives the error below
    try:
        with zipfile.ZipFile(str(path)) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({type(exc).__name__}: {exc})") from exc
    if bad is not None:
        raise CheckpointError(f"{path}: entry {bad} fails its CRC check: the checkpoint was edited or damaged")


def with_legacy_values(config: dict) -> dict:
    """A checkpoint's config dict with LEGACY_VALUES filled in where an older kit did not write the key."""
    out = {section: dict(values) for section, values in config.items()}
    for key, value in LEGACY_VALUES.items():
        section, name = key.split(".")
        out.setdefault(section, {}).setdefault(name, value)
    return out


def load_checkpoint(path, map_location="cpu", check_version: bool = True) -> Checkpoint:
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    _check_zip_crc(path)
    try:
        raw = torch.load(str(path), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(f"{path}: holds pickled Python objects, refused (weights_only=True): {exc}") from exc
    except Exception as exc:
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(raw, dict) or "kit_version" not in raw or "state_dict" not in raw:
        raise CheckpointError(f"{path}: not a kit checkpoint (no kit_version / state_dict)")
    if raw.get("format", FORMAT) != FORMAT:
        raise CheckpointError(f"{path}: checkpoint format {raw.get('format')!r}, this kit reads format {FORMAT}; "
                              f"load it with the kit version that wrote it ({raw.get('kit_version')})")
    version = raw["kit_version"]
    known = version == kit.__version__ or version in COMPATIBLE_VERSIONS
    if check_version and not known and not VERSION_CHECK["allow_mismatch"]:
        raise CheckpointError(
            f"{path}: written by kit {version}, this is kit {kit.__version__}. Preprocessing may differ: use "
            f"kit {version} (bundle it with the checkpoint) or retrain; --allow-version-mismatch overrides.")
    try:
        config = Config.from_dict(with_legacy_values(raw["config"]))
    except Exception as exc:
        raise CheckpointError(f"{path}: config inside the checkpoint is invalid: {exc}") from exc
    labels = raw.get("labels")
    if not isinstance(labels, list) or not labels or len(set(labels)) != len(labels):
        raise CheckpointError(f"{path}: label list is missing, empty or has duplicates")
    return Checkpoint(config=config, labels=labels, state_dict=raw["state_dict"], metrics=raw.get("metrics", {}),
                      extra=raw.get("extra", {}), kit_version=version, path=str(path))


def load_model(path, device="cpu"):
    """(model in eval mode on `device`, Checkpoint). The model's preprocessing comes from the checkpoint."""
    from kit.models import create_model

    ckpt = load_checkpoint(path, map_location="cpu")
    model = create_model(ckpt.config, num_classes=len(ckpt.labels), pretrained=False)  # weights come from ckpt
    try:
        model.load_state_dict(ckpt.state_dict)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit the model its config builds: {exc}") from exc
    return model.to(device).eval(), ckpt
