"""Frozen configuration dataclasses, saved inside every checkpoint.

The submission path reads `audio` and `features` from the checkpoint and never declares them again.
Every field name is unique across sections, so `--set crop_s=10` and `--set audio.crop_s=10` both work.
The sections live in kit.config.sections; this module holds `Config` (JSON, overrides, --set parsing).
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from kit.config.aliases import flat_alias, migrate
from kit.config.sections import (FEATURE_KINDS, FLAVOURS, HEADS, LOSSES, MIRROR_PLACEMENTS, NORMALIZATIONS,
                                 PAD_MODES, PLACEMENTS, SECTIONS, AudioConfig, AugmentConfig, ConfigError,
                                 DataConfig, FeatureConfig, InferConfig, ModelConfig, PseudoConfig, TrainConfig)


@dataclass(frozen=True)
class Config:
    audio: AudioConfig = field(default_factory=AudioConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
    pseudo: PseudoConfig = field(default_factory=PseudoConfig)
    infer: InferConfig = field(default_factory=InferConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self):
        crop, window = self.audio.crop_samples, self.audio.window_samples
        infer = int(round((self.audio.infer_crop_s or self.audio.crop_s) * self.audio.sample_rate_hz))
        for name, n in (("crop_s", crop), ("window_s", window), ("infer_crop_s", infer)):
            if n % self.features.hop_length:
                frames = n / self.features.hop_length
                raise ConfigError(
                    f"{name}={n / self.audio.sample_rate_hz} s is {frames:g} hops of {self.features.hop_length} "
                    f"samples: choose hop_length dividing {n} (e.g. 500 or 640 at 32 kHz for 5 s) "
                    f"or a length that is a whole number of hops")

    def for_inference(self) -> "Config":
        """The config the submission path windows with: one crop of infer_crop_s (when set) per window."""
        if self.audio.infer_crop_s is None or self.audio.infer_crop_s == self.audio.crop_s:
            return self
        audio = replace(self.audio, crop_s=self.audio.infer_crop_s, crops_per_recording=1, infer_crop_s=None)
        return replace(self, audio=audio)

    # ---- dict / JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict, warn_old_keys: bool = False) -> "Config":
        """The config of a dict; keys of earlier kits are read (kit.config.aliases), with a FutureWarning
        naming the new key when warn_old_keys (config files, --set), silently otherwise (checkpoints)."""
        data = migrate(data, warn_old_keys)
        unknown = set(data) - set(SECTIONS)
        if unknown:
            raise ConfigError(f"unknown config section(s) {sorted(unknown)}; known: {sorted(SECTIONS)}")
        return cls(**{name: _section_from_dict(SECTIONS[name], data.get(name, {})) for name in SECTIONS})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, warn_old_keys: bool = False) -> "Config":
        return cls.from_dict(json.loads(text), warn_old_keys)

    @classmethod
    def load(cls, path) -> "Config":
        try:
            return cls.from_json(Path(path).read_text(), warn_old_keys=True)
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc

    # ---- overrides ---------------------------------------------------------------------------
    def override(self, assignments: typing.Iterable[str]) -> "Config":
        """Apply `key=value` strings (`crop_s=10`, `audio.crop_s=10`, `head_hidden=1024,512`)."""
        data = self.to_dict()
        for item in assignments:
            key, sep, text = item.partition("=")
            if not sep:
                raise ConfigError(f"override {item!r} must look like key=value")
            key, text = _current_name(key.strip(), text)
            if key is None:
                continue
            section, name = resolve_key(key)
            ftype = _field_types(SECTIONS[section])[name]
            data[section][name] = parse_value(text.strip(), ftype, key)
        return Config.from_dict(data)

    def differences(self, base: "Config | None" = None) -> dict:
        """Flat {section.key: value} of values that differ from `base` (default: the defaults)."""
        ours, theirs = self.to_dict(), (base or Config()).to_dict()
        return {f"{s}.{k}": v for s in ours for k, v in ours[s].items() if theirs[s][k] != v}


def _current_name(key: str, text: str) -> tuple:
    """(key, text) with an old key name replaced by its current one (a FutureWarning says so); (None, None) for
    an old key that now means nothing (validate_on_train=false)."""
    import warnings

    alias = flat_alias(key)
    if alias is None:
        return key, text
    new, value_if_true = alias
    if value_if_true is None:
        warnings.warn(f"config key {key} is now {new} (the old name is still read)", FutureWarning, stacklevel=4)
        return new, text
    if parse_value(text.strip(), bool, key):
        warnings.warn(f"config key {key}=true is {new}={value_if_true} (the key is dropped)", FutureWarning,
                      stacklevel=4)
        return new, str(value_if_true)
    warnings.warn(f"config key {key} is dropped (false was the default)", FutureWarning, stacklevel=4)
    return None, None


def _field_types(cls) -> dict:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _section_from_dict(cls, values: dict):
    types = _field_types(cls)
    unknown = set(values) - set(types)
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)} in {cls.__name__}; known: {sorted(types)}")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**kwargs)


def all_keys() -> dict:
    """{name: (section, type, default)} for every config key (used by --help)."""
    out = {}
    for section, cls in SECTIONS.items():
        types = _field_types(cls)
        defaults = cls()
        for f in fields(cls):
            out[f.name] = (section, types[f.name], getattr(defaults, f.name))
    return out


def resolve_key(key: str) -> tuple:
    if "." in key:
        section, _, name = key.partition(".")
        if section not in SECTIONS or name not in _field_types(SECTIONS[section]):
            raise ConfigError(f"unknown config key {key!r}; see --help for the list")
        return section, name
    keys = all_keys()
    if key not in keys:
        close = [k for k in keys if key.lower() in k.lower() or k.lower() in key.lower()]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"unknown config key {key!r}{hint}; see --help for the list")
    return keys[key][0], key


def parse_value(text: str, ftype, key: str = "value"):
    """Parse a command-line string into the field's type."""
    origin = typing.get_origin(ftype)
    args = typing.get_args(ftype)
    if origin is typing.Union:  # Optional[X]
        if text.lower() in ("none", "null", ""):
            return None
        ftype = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(ftype), typing.get_args(ftype)
    try:
        if origin is tuple:
            inner = args[0]
            return tuple(inner(p) for p in text.replace("(", "").replace(")", "").split(",") if p.strip())
        if ftype is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if ftype is int:
            return int(text)
        if ftype is float:
            return float(text)
        return text
    except ValueError as exc:
        raise ConfigError(f"{key}={text!r} is not a valid {getattr(ftype, '__name__', ftype)}") from exc


__all__ = ["AudioConfig", "FeatureConfig", "ModelConfig", "TrainConfig", "DataConfig", "PseudoConfig", "InferConfig",
           "AugmentConfig", "Config", "ConfigError", "SECTIONS", "replace", "all_keys", "resolve_key", "parse_value",
           "PAD_MODES", "MIRROR_PLACEMENTS", "FEATURE_KINDS", "NORMALIZATIONS", "FLAVOURS", "HEADS", "LOSSES",
           "PLACEMENTS"]
