"""Keys of earlier kits, still read: renamed keys, keys moved to another section, and keys that duplicated
another (dropped, their meaning mapped onto the key that stays).

Checkpoints of kit 0.1/0.2 are read silently (their config is what they are); a config file or `--set` that uses
an old name works too, with a FutureWarning naming the new one.
"""
from __future__ import annotations

import warnings

# old "section.key" -> new "section.key"
MOVED = {
    "audio.melspecs_per_audio": "audio.crops_per_recording",   # it counts waveform crops, not spectrograms
    "data.data_percentage": "data.data_fraction",               # a fraction in (0, 1], not a percentage
    **{f"data.{k}": f"pseudo.{k}" for k in ("pseudo_csv", "pseudo_ratio", "pseudo_mixup_p", "pseudo_init",
                                            "pseudo_epoch_frac", "pseudo_jitter_s")},
}
# old flat names (--set NAME=...) whose name changed
RENAMED = {old.split(".")[1]: new.split(".")[1] for old, new in MOVED.items()
           if old.split(".")[1] != new.split(".")[1]}
# dropped keys: old "section.key" -> what a true value means now
DROPPED = {"data.validate_on_train": ("data.valid_frac", 0.0)}  # validating on a training slice is valid_frac=0


def note(message: str, warn: bool) -> None:
    if warn:
        warnings.warn(message, FutureWarning, stacklevel=4)


def migrate(data: dict, warn: bool = False) -> dict:
    """A config dict ({section: {key: value}}) with old keys moved to their current names."""
    out = {section: dict(values) for section, values in data.items() if isinstance(values, dict)}
    out.update({section: values for section, values in data.items() if not isinstance(values, dict)})
    for old, new in MOVED.items():
        (old_section, old_key), (new_section, new_key) = old.split("."), new.split(".")
        if old_key not in out.get(old_section, {}):
            continue
        value = out[old_section].pop(old_key)
        target = out.setdefault(new_section, {})
        if new_key in target and target[new_key] != value:
            from kit.config.sections import ConfigError

            raise ConfigError(f"{old} = {value!r} and {new} = {target[new_key]!r} both given: {old} is the old "
                              f"name of {new}; keep only {new}")
        target.setdefault(new_key, value)
        note(f"config key {old} is now {new} (the old name is still read)", warn)
    for old, (new, value_if_true) in DROPPED.items():
        section, key = old.split(".")
        if key not in out.get(section, {}):
            continue
        if out[section].pop(key):
            new_section, new_key = new.split(".")
            out.setdefault(new_section, {})[new_key] = value_if_true
            note(f"config key {old}=true is {new}={value_if_true} (the key is dropped)", warn)
        else:
            note(f"config key {old} is dropped (false was the default; nothing to do)", warn)
    return out


def flat_alias(key: str):
    """(current key, value rewrite or None) for an old flat or dotted name, else None. `validate_on_train=X`
    becomes `valid_frac=0` (X true) or nothing (X false)."""
    name = key.split(".")[-1]
    if name in RENAMED:
        return RENAMED[name], None
    dotted = [old for old in MOVED if key == old]
    if dotted:
        return MOVED[dotted[0]], None
    if name == "validate_on_train":
        return DROPPED["data.validate_on_train"][0], DROPPED["data.validate_on_train"][1]
    return None


__all__ = ["MOVED", "RENAMED", "DROPPED", "migrate", "flat_alias"]
