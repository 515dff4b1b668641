"""Config: JSON round trip, overrides, and invalid configs rejected with a message that says what to change."""
import argparse
from dataclasses import fields

import pytest

from kit.cli.common import add_config_arguments, config_from_args
from kit.config import Config, ConfigError, all_keys


def test_json_round_trip_default_and_changed():
    for cfg in (Config(), Config().override(["crop_s=10", "head_hidden=1024,512", "f_max_hz=15000",
                                             "kind=mel+mfcc", "pad_mode=mirror", "top_db=none"])):
        again = Config.from_json(cfg.to_json())
        assert again == cfg
        assert again.to_json() == cfg.to_json()


def test_override_types_and_sections():
    cfg = Config().override(["audio.crop_s=10", "lr=3e-4", "amp=false", "head_hidden=1024,1024,512",
                             "f_max_hz=none", "smooth_weights=0.25,0.5,0.25"])
    assert cfg.audio.crop_s == 10.0 and isinstance(cfg.audio.crop_s, float)
    assert cfg.train.lr == 3e-4 and cfg.train.amp is False
    assert cfg.model.head_hidden == (1024, 1024, 512)
    assert cfg.features.f_max_hz is None
    assert cfg.infer.smooth_weights == (0.25, 0.5, 0.25)
    assert set(cfg.differences()) == {"audio.crop_s", "train.lr", "train.amp", "model.head_hidden",
                                      "infer.smooth_weights"}


def test_keys_are_unique_across_sections():
    keys = all_keys()
    assert len(keys) == sum(len(type(getattr(Config(), f.name)).__dataclass_fields__) for f in fields(Config))


@pytest.mark.parametrize("overrides, words", [
    (["hop_length=512"], ["312.5 hops", "hop_length"]),
    (["crop_s=7.3", "hop_length=500"], ["hops", "crop_s"]),
    (["pad_mode=zeros"], ["pad_mode", "wrap"]),
    (["kind=mel+mfcc", "n_mfcc=20"], ["n_mfcc=128"]),
    (["kind=mfcc", "n_mfcc=200"], ["n_mfcc", "n_mels"]),  # (kind=mel does not use n_mfcc)
    (["mirror_placement=spectrogram"], ["pad_mode=mirror"]),
    (["crops_per_recording=0"], ["crops_per_recording"]),
    (["crop_s=1.00001"], ["whole number of samples"]),
    (["f_min_hz=9000", "f_max_hz=8000"], ["f_min_hz"]),
    (["head_dropout=1.5"], ["head_dropout"]),
    (["no_such_key=1"], ["unknown config key"]),
    (["crop=5"], ["did you mean", "crop_s"]),
    (["lr=fast"], ["lr='fast'", "float"]),
    (["crop_s"], ["key=value"]),
])
def test_invalid_configs_are_rejected_with_a_message(overrides, words):
    with pytest.raises(ConfigError) as info:
        Config().override(overrides)
    for word in words:
        assert word in str(info.value)


def test_from_dict_rejects_unknown_sections_and_keys():
    with pytest.raises(ConfigError, match="unknown config section"):
        Config.from_dict({"audoi": {}})
    with pytest.raises(ConfigError, match="unknown key"):
        Config.from_dict({"audio": {"sample_rate": 32000}})


def test_cli_arguments_list_every_key_with_default(tmp_path):
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    for name in all_keys():
        assert f".{name} = " in parser.epilog
    path = tmp_path / "c.json"
    path.write_text(Config().override(["crop_s=10"]).to_json())
    args = parser.parse_args(["--config", str(path), "--set", "lr=0.01"])
    cfg = config_from_args(args)
    assert cfg.audio.crop_s == 10 and cfg.train.lr == 0.01
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json"):
        config_from_args(parser.parse_args(["--config", str(tmp_path / "bad.json")]))


def test_configs_are_frozen():
    with pytest.raises(Exception):
        Config().audio.crop_s = 3.0
