"""Long, weakly labelled recordings in training (kit.train.longrec through RecordingDataset): items per epoch from
the recording's length, crop placement (start, energy, independent crops), quiet crops' targets, validation on
inference windows — and with item_every_s=0 + uniform placement the crops of kit 0.2 exactly."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

sys.path.insert(0, str(Path(__file__).parent))
from train_data import PLAIN, TINY  # noqa: E402

from kit.audio import load_crops, windows_from_array  # noqa: E402
from kit.config import Config, ConfigError  # noqa: E402
from kit.train.data import RecordingDataset, read_labels  # noqa: E402
from kit.train.longrec import items_per_recording, validation_windows  # noqa: E402

SR = 32000
NO_AUG = PLAIN + ["crop_s=1"]


def _burst_recording(folder: Path, name: str, seconds: float, burst_s: tuple, seed: int = 0) -> str:
    """Faint low hum (below the 1-10 kHz band) with a loud 3 kHz call between burst_s[0] and burst_s[1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.05 * np.sin(2 * np.pi * 200 * t) + 0.001 * rng.standard_normal(len(t))
    on = (t >= burst_s[0]) & (t < burst_s[1])
    x[on] += 0.5 * np.sin(2 * np.pi * 3000 * t[on])
    path = folder / f"{name}.ogg"
    sf.write(str(path), x.astype(np.float32), SR)
    return path.name


def _table(tmp_path, lengths_s=(2.0, 20.0, 60.0)):
    rows = [(_burst_recording(tmp_path, f"r{i}", s, (s * 0.7, s * 0.7 + 0.8), seed=i), f"lab{i % 2}")
            for i, s in enumerate(lengths_s)]
    pd.DataFrame(rows, columns=["filename", "label"]).to_csv(tmp_path / "labels.csv", index=False)
    return read_labels(tmp_path / "labels.csv")


def _dataset(table, sets, train=True, seed=0):
    return RecordingDataset(table, np.arange(len(table)), Config().override(NO_AUG + sets), train=train, seed=seed)


def test_items_per_epoch_follow_the_recordings_length_within_bounds(tmp_path):
    assert items_per_recording(np.array([2.0, 20.0, 60.0, 600.0]), 10.0, 5).tolist() == [1, 2, 5, 5]
    assert items_per_recording(np.array([2.0, 600.0]), 0.0, 5).tolist() == [1, 1]
    table = _table(tmp_path)
    assert len(_dataset(table, [])) == 6                                   # default: one item per 15 s (>= 1)
    assert len(_dataset(table, ["item_every_s=0"])) == 3                   # 0: one item per recording
    ds = _dataset(table, ["item_every_s=10", "max_items_per_recording=4"])
    assert ds.items[:, 0].tolist() == [0, 1, 1, 2, 2, 2, 2] and len(ds) == 7
    first, second = ds[3][0], ds[4][0]                                     # two items of the 60 s recording
    assert not np.array_equal(first, second)                               # each its own crop
    np.testing.assert_array_equal(ds[3][0], first)                         # seeded by (seed, epoch, item)
    with pytest.raises(ConfigError, match="item_every_s"):
        Config().override(["item_every_s=-1"])


def test_uniform_crops_are_unchanged_by_the_item_plan(tmp_path):
    table = _table(tmp_path)
    ds = _dataset(table, ["crops_per_recording=2", "item_every_s=0", "crop_placement=uniform"], seed=5)
    ds.set_epoch(3)
    for j in range(len(table)):
        rng = np.random.default_rng([5, 3, j])
        expected, valid = load_crops(table.frame["path"][j], ds.config.audio, rng)
        np.testing.assert_array_equal(ds[j][0], expected)
        np.testing.assert_array_equal(ds[j][1], valid)


def _holds_burst(start: int, length: int, burst_s: tuple) -> bool:
    return start < burst_s[1] * SR and start + length > burst_s[0] * SR


def test_energy_placement_finds_the_call_and_start_placement_opens_the_recording(tmp_path):
    name = _burst_recording(tmp_path, "long", 60.0, (40.0, 41.0))
    pd.DataFrame([(name, "a"), (name.replace("long", "other"), "b")], columns=["filename", "label"]).to_csv(
        tmp_path / "labels.csv", index=False)
    _burst_recording(tmp_path, "other", 6.0, (1.0, 2.0))
    table = read_labels(tmp_path / "labels.csv")
    hits = {}
    for placement in ("uniform", "energy"):
        ds = _dataset(table, [f"crop_placement={placement}", "item_every_s=0.5", "max_items_per_recording=60"])
        crops = [ds[k][0][0] for k in range(len(ds)) if ds.items[k][0] == 0]
        hits[placement] = np.mean([np.abs(c).max() > 0.3 for c in crops])   # the call is in the crop
    assert hits["energy"] > 0.8 and hits["uniform"] < 0.3
    start = _dataset(table, ["crop_placement=start"])
    expected, _ = load_crops(table.frame["path"][0], start.config.audio, rng=None)
    np.testing.assert_array_equal(start[0][0], expected)                   # offset 0, like validation


def test_independent_crops_are_placed_apart(tmp_path):
    table = _table(tmp_path, lengths_s=(60.0, 60.0))
    ds = _dataset(table, ["crops_per_recording=3", "independent_crops=true", "crop_placement=uniform"])
    from kit.train.longrec import training_starts

    rng = np.random.default_rng(0)
    starts = [training_starts(60 * SR, None, ds.config.audio, ds.config.data, rng) for _ in range(20)]
    assert all(len(s) == 3 and s.min() >= 0 and s.max() <= 59 * SR for s in starts)
    assert any(np.any(np.diff(s) != SR) for s in starts)                    # not one run of consecutive crops
    crops, valid, _, _ = ds[0]
    assert crops.shape == (3, SR) and valid.tolist() == [SR, SR, SR]


def test_quiet_crops_get_the_scaled_target_and_loud_ones_keep_theirs(tmp_path):
    name = _burst_recording(tmp_path, "long", 30.0, (0.0, 1.0))
    _burst_recording(tmp_path, "short", 0.8, (0.0, 0.8))
    pd.DataFrame([(name, "a"), ("short.ogg", "b")], columns=["filename", "label"]).to_csv(
        tmp_path / "labels.csv", index=False)
    table = read_labels(tmp_path / "labels.csv")
    sets = ["item_every_s=0.5", "max_items_per_recording=60", "crop_placement=uniform", "quiet_crop_db=20",
            "quiet_target_scale=0.25"]
    ds = _dataset(table, sets)
    seen = {}
    for k in range(len(ds)):
        crops, _, target, _ = ds[k]
        loud = np.abs(crops).max() > 0.3
        seen.setdefault((int(ds.items[k][0]), loud), set()).add(float(target.max()))
    assert seen[(0, True)] == {1.0} and seen[(0, False)] == {0.25}         # the call's crop vs the hum's
    assert seen[(1, True)] == {1.0}                                        # a recording shorter than a crop
    off = _dataset(table, sets[:3])
    assert {float(off[k][2].max()) for k in range(len(off))} == {1.0}      # quiet_crop_db=0: off


def test_validation_windows_are_the_inference_windows(tmp_path):
    assert validation_windows(60 * SR, Config().audio, 3).tolist() == [0, 6, 11]
    assert validation_windows(7 * SR, Config().audio, 3).tolist() == [0, 1]
    table = _table(tmp_path, lengths_s=(60.0, 7.0))
    ds = _dataset(table, ["valid_windows=3", "crop_s=5", "crops_per_recording=2"], train=False)
    assert ds.items.tolist() == [[0, 0], [0, 6], [0, 11], [1, 0], [1, 1]]
    from kit.audio import load_audio

    windows = np.concatenate([b.crops for b in windows_from_array(load_audio(table.frame["path"][1], SR),
                                                                  ds.config.audio)])
    crops, valid, target, _ = ds[4]
    np.testing.assert_array_equal(crops[0], windows[1])                    # the partial last window, padded
    assert valid.tolist() == [2 * SR, 0] and target.max() == 1.0           # one real crop; the other left out
    assert len(_dataset(table, ["crop_s=5"], train=False)) == 2            # default: one item per recording


def test_training_runs_with_every_long_recording_key(tmp_path):
    from kit.train import train

    rows = [(_burst_recording(tmp_path, f"r{i}", 4.0 + 3 * i, (1.0 + 0.5 * i, 1.5 + 0.5 * i), seed=i), f"l{i % 2}")
            for i in range(6)]
    pd.DataFrame(rows, columns=["filename", "label"]).to_csv(tmp_path / "labels.csv", index=False)
    sets = TINY + ["epochs=2", "item_every_s=3", "crop_placement=energy", "crops_per_recording=2",
                   "independent_crops=true", "quiet_crop_db=20", "valid_windows=2", "crop_pool=max"]
    result = train(Config().override(sets), tmp_path / "labels.csv", tmp_path / "run")
    log = (tmp_path / "run" / "train.log").read_text()
    assert "2 steps/epoch" in log        # > 8 items from <= 6 recordings: one item each would be 1 step
    assert result["best_epoch"] >= 1 and np.isfinite(result["history"][-1]["valid_loss"])
