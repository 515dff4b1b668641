"""BirdCLEF+ 2026 as it is (tests/birdclef_years.py's 2026 folder): labels as text everywhere, the labelled train
soundscapes read (duplicates counted, every bad input named by file and row), trained on beside train_audio,
validated on (`--valid soundscapes`), left out of the pseudo labels; train -> predict -> a submission whose
header is sample_submission.csv's byte for byte."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import badfiles as B  # noqa: E402
from birdclef_years import SEGMENTS_2026, TAXONOMY_2026, TRAIN_SOUNDSCAPES_2026, make_year  # noqa: E402
from train_data import TINY  # noqa: E402

from kit.checkpoint import load_checkpoint  # noqa: E402
from kit.config import Config, ConfigError  # noqa: E402
from kit.train import DataError, read_labels, train  # noqa: E402
from kit.train.soundscape_labels import parse_clock, read_soundscape_labels  # noqa: E402

ONE_EPOCH = TINY + ["epochs=1", "batch_size=4", "device=cpu", "amp=false"]
LABELS = [p for p, _, _ in TAXONOMY_2026]
HEADER = "filename,start,end,primary_label\n"


def _config(sets=()) -> Config:
    return Config().override(ONE_EPOCH + list(sets))


@pytest.fixture(scope="module")
def y2026(tmp_path_factory):
    """The 2026 folder, a run on it (train_audio + labelled soundscapes) and a run validated on the soundscapes."""
    root = tmp_path_factory.mktemp("y2026")
    folder = make_year(root / "data", 2026)
    return folder, train(_config(), folder, root / "run"), train(_config(["valid_set=soundscapes"]), folder,
                                                                 root / "valid")


def test_2026_reads_as_it_is_labels_stay_text(y2026):
    folder, _, _ = y2026
    table = read_labels(folder)
    assert table.labels == LABELS == sorted(LABELS) and "0412345" in table.labels   # the sample's string order
    assert all(isinstance(label, str) for label in table.labels)
    assert set(table.frame["primary_label"]) >= {"0412345", "1161364", "116570", "grekis"}
    assert table.frame["inat_taxon_id"][0] == "1161364" and table.frame["class_name"][0] == "Insecta"
    secondary = dict(zip(table.frame["path"].map(lambda p: Path(p).stem), table.frame["secondary_labels"]))
    assert secondary["XC308716"] == ["rufhor2", "1161364"] and secondary["iNat553311"] == []
    windows = read_soundscape_labels(folder / "train_soundscapes_labels.csv", table.labels, _config().audio)
    assert windows.summary == {"rows": 30, "duplicates": 15, "merged": 0, "windows": 15, "files": 2, "empty": 0}
    first = windows.targets[(windows.windows == 0) & (windows.paths == str(folder / "train_soundscapes" /
                                                                          TRAIN_SOUNDSCAPES_2026[0]))][0]
    assert [LABELS[j] for j in np.flatnonzero(first)] == ["22961", "23158", "24321", "517063", "65380"]


def test_2026_trains_on_audio_and_soundscapes_and_submits_the_sample_header(y2026, tmp_path):
    from kit.infer import predict_competition

    folder, result, _ = y2026
    log = (Path(result["best"]).parent / "train.log").read_text()
    assert "30 rows -> 15 labelled windows of 2 soundscapes (15 duplicated rows removed" in log
    assert "15 windows train beside the recordings (weight 1)" in log
    assert "3 of them no training recording: ['24321', '47158son01', '47158son02']" in log
    # 12 recordings, valid_frac=0.2 -> 9 train + the 15 windows = 24 items = 6 steps of 4
    assert "train 9, valid 3" in log and "6 steps/epoch" in log
    ckpt = load_checkpoint(result["best"])
    assert ckpt.labels == LABELS and all(isinstance(label, str) for label in ckpt.labels)
    out = tmp_path / "submission.csv"
    predict_competition([result["best"]], folder, out, device="cpu")
    assert out.read_bytes().split(b"\n")[0] == (folder / "sample_submission.csv").read_bytes().split(b"\n")[0]
    written = pd.read_csv(out, dtype=str)
    stem = "BC2026_Test_0001_S05_20250227_010002"
    assert list(written.columns[1:]) == LABELS
    assert written["row_id"].tolist() == [f"{stem}_{e}" for e in range(5, 61, 5)]
    values = written[LABELS].astype(float).to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()


def test_2026_validates_on_the_labelled_soundscapes(y2026):
    folder, _, result = y2026
    log = (Path(result["best"]).parent / "train.log").read_text()
    assert "validating on 15 windows of 2 soundscapes; 0 windows of the others train; every recording trains" in log
    assert "train 12, valid 0" in log and "3 steps/epoch" in log   # the 12 recordings only
    metrics = result["metrics"]
    assert {"cmap", "roc_auc", "loss"} <= set(metrics) and 0 <= metrics["roc_auc"] <= 1
    assert load_checkpoint(result["best"]).config.data.valid_set == "soundscapes"


def test_part_of_the_soundscapes_validates_and_the_others_train(y2026):
    from kit.train.soundscapes import plan_soundscapes

    folder, _, _ = y2026
    said = []
    plan = plan_soundscapes(_config(["valid_set=soundscapes", "soundscape_valid_frac=0.5"]), folder,
                            read_labels(folder), said.append)
    assert len(plan.valid.files()) == 1 and len(plan.train.files()) == 1
    assert len(plan.valid) + len(plan.train) == 15 and not set(plan.valid.files()) & set(plan.train.files())
    assert any(f"validating on {len(plan.valid)} windows of 1 soundscapes; {len(plan.train)} windows" in s
               for s in said)
    plan = plan_soundscapes(_config(["valid_set=soundscapes", "soundscape_labels=false"]), folder,
                            read_labels(folder), said.append)
    assert plan.train is None and len(plan.valid) == 15


def test_soundscape_windows_are_the_inference_windows(y2026):
    """A labelled window's item holds the samples the submission path reads for that window, its target the
    file's labels, its weight soundscape_weight; with augmentation off the training item is the same."""
    from kit.audio import AudioCache, load_audio, windows_from_array
    from kit.train.soundscapes import SoundscapeDataset

    folder, _, _ = y2026
    config = _config(["soundscape_weight=2.5"])
    windows = read_soundscape_labels(folder / "train_soundscapes_labels.csv", LABELS, config.audio)
    path = str(folder / "train_soundscapes" / TRAIN_SOUNDSCAPES_2026[0])
    expected = np.concatenate([b.crops for b in windows_from_array(load_audio(path, 32000), config.audio)])
    for train_mode in (False, True):
        data = SoundscapeDataset(windows, config, 0, AudioCache(64), lambda c, v: c, train_mode, 2.5)
        for i in np.flatnonzero(windows.paths == path):
            crops, valid, target, weight = data[i]
            np.testing.assert_array_equal(crops[0], expected[windows.windows[i]])
            assert valid[0] == config.audio.crop_samples and weight == np.float32(2.5)
            np.testing.assert_array_equal(target, windows.targets[i])
    segment = dict(((f, w), labels) for f, w, labels in SEGMENTS_2026)
    for i in range(len(windows)):
        f = TRAIN_SOUNDSCAPES_2026.index(Path(windows.paths[i]).name)
        assert sorted(LABELS[j] for j in np.flatnonzero(windows.targets[i])) == \
            sorted(segment[(f, int(windows.windows[i]))].split(";"))


def test_soundscape_weight_reaches_the_loss(tmp_path):
    folder = make_year(tmp_path / "data", 2026)
    losses = [train(_config([f"soundscape_weight={w}", "valid_frac=0"]), folder, tmp_path / f"w{w}")
              ["history"][0]["train_loss"] for w in (1, 4)]
    assert losses[0] != losses[1]
    off = train(_config(["soundscape_labels=false", "valid_frac=0"]), folder, tmp_path / "off")
    assert "not used (soundscape_labels=false)" in (tmp_path / "off" / "train.log").read_text()
    assert off["history"][0]["train_loss"] not in losses


def test_pseudo_labels_leave_out_the_labelled_and_validation_windows(y2026, tmp_path):
    """Pseudo labels of every train soundscape window (the labels as text in the CSV's columns): the windows
    the file labels are left out (true labels win); validating on the soundscapes leaves out their files."""
    from kit.infer.pseudo import pseudo_label
    from kit.softlabels import read_soft_labels

    folder, result, _ = y2026
    csv = tmp_path / "pseudo.csv"
    pseudo_label([result["best"]], [folder / "train_soundscapes"], csv, device="cpu", min_confidence=0)
    assert list(read_soft_labels(csv)[1].columns[2:]) == LABELS           # "0412345" kept as written
    sets = [f"pseudo_csv={csv}", "pseudo_init=scratch", "pseudo_ratio=10"]
    train(_config(sets), folder, tmp_path / "run")
    log = (tmp_path / "run" / "train.log").read_text()
    assert "left out 15 window(s) that train_soundscapes_labels.csv labels and 0 window(s) of the validation " \
           "soundscapes; 21 kept" in log                                  # 3 soundscapes x 12 windows - 15
    train(_config(sets + ["valid_set=soundscapes"]), folder, tmp_path / "valid")
    assert "left out 0 window(s) that train_soundscapes_labels.csv labels and 24 window(s) of the validation " \
           "soundscapes; 12 kept" in (tmp_path / "valid" / "train.log").read_text()


# ---- the labels file: every bad input named by file and row ---------------------------------------------
@pytest.fixture(scope="module")
def sounds(tmp_path_factory):
    """A folder with train_soundscapes/a.ogg (20 s) and b.ogg (10 s)."""
    root = tmp_path_factory.mktemp("sounds")
    B.write(root / "train_soundscapes" / "a.ogg", B.tone(20.0))
    B.write(root / "train_soundscapes" / "b.ogg", B.tone(10.0))
    return root


def _read(root: Path, rows: str, labels=("1161364", "47158son01", "0412345")):
    (root / "train_soundscapes_labels.csv").write_text(HEADER + rows, encoding="utf-8")
    return read_soundscape_labels(root / "train_soundscapes_labels.csv", list(labels), _config().audio)


@pytest.mark.parametrize("rows,words", [
    ("a.ogg,00:00:00,00:00:05,1161364\na.ogg,00:00:05,00:00:10,1161364;zzz\n", ["row 3", "'zzz'", "label list"]),
    ("a.ogg,00:00:10,00:00:05,1161364\n", ["row 2", "end 00:00:05 is not after start 00:00:10"]),
    ("a.ogg,00:00:05,00:00:05,1161364\n", ["row 2", "not after start"]),
    ("a.ogg,00:00:02,00:00:07,1161364\n", ["row 2", "start 00:00:02", "5 s grid"]),
    ("a.ogg,00:00:00,00:00:07,1161364\n", ["row 2", "end 00:00:07", "5 s grid"]),
    ("a.ogg,0:0:5:1,00:00:10,1161364\n", ["row 2", "start '0:0:5:1'", "hh:mm:ss"]),
    ("a.ogg,00:00:75,00:01:20,1161364\n", ["row 2", "60 or more"]),
    ("a.ogg,00:00:00,00:00:05,1161364\nmissing.ogg,00:00:00,00:00:05,1161364\n", ["row 3", "missing.ogg"]),
    ("b.ogg,00:00:10,00:00:15,1161364\n", ["row 2", "past the end", "b.ogg"]),
    ("../a.ogg,00:00:00,00:00:05,1161364\n", ["row 2", "escapes"]),
    (",00:00:00,00:00:05,1161364\n", ["row 2", "empty filename"]),
])
def test_bad_soundscape_labels_name_the_file_and_row(sounds, rows, words):
    with pytest.raises(DataError) as caught:
        _read(sounds, rows)
    message = str(caught.value)
    assert str(sounds / "train_soundscapes_labels.csv") in message
    for word in words:
        assert word in message, message


def test_missing_column_is_named(sounds):
    (sounds / "train_soundscapes_labels.csv").write_text("filename,start,end\na.ogg,0,5\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"missing column\(s\) \['primary_label'\]"):
        read_soundscape_labels(sounds / "train_soundscapes_labels.csv", ["x"], _config().audio)


def test_duplicates_merges_long_segments_and_empty_windows_are_counted(sounds):
    rows = ("a.ogg,00:00:00,00:00:10,1161364;0412345\n"       # two windows
            "a.ogg,00:00:00,00:00:10,0412345;1161364\n"       # the same labels in another order: a duplicate
            "a.ogg,00:00:05,00:00:10,47158son01\n"            # merged into window 1
            "b.ogg,0,5,\n"                                    # seconds; an empty label: a window with nothing
            "b.ogg,00:05,00:00:10, 0412345 ; \n")             # mm:ss, spaces and an empty part
    windows = _read(sounds, rows)
    assert windows.summary == {"rows": 5, "duplicates": 1, "merged": 1, "windows": 4, "files": 2, "empty": 1}
    got = {(Path(p).name, int(w)): sorted(np.asarray(["1161364", "47158son01", "0412345"])[t > 0])
           for p, w, t in zip(windows.paths, windows.windows, windows.targets)}
    assert got == {("a.ogg", 0): ["0412345", "1161364"], ("a.ogg", 1): ["0412345", "1161364", "47158son01"],
                   ("b.ogg", 0): [], ("b.ogg", 1): ["0412345"]}
    assert "1 duplicated rows removed, 1 rows merged" in windows.describe()
    assert parse_clock("01:02:03.5", "f", 2, "start") == 3723.5


def test_valid_soundscapes_needs_the_file_and_refuses_folds(tmp_path, capsys):
    from kit.cli import main

    folder = make_year(tmp_path / "y2025", 2025)
    err = B.assert_cli_error(["train", "--data", folder, "--out", tmp_path / "run", "--valid", "soundscapes"]
                             + sum([["--set", s] for s in ONE_EPOCH], []), capsys,
                             "train_soundscapes_labels.csv", "--valid split")
    assert "Traceback" not in err
    folder = make_year(tmp_path / "y2026", 2026)
    assert main(["train", "--data", str(folder), "--out", str(tmp_path / "f"), "--folds", "2",
                 "--set", "valid_set=soundscapes"] + sum([["--set", s] for s in ONE_EPOCH], [])) == 2
    assert "--folds" in capsys.readouterr().err
    for bad in ("soundscape_weight=0", "valid_set=test", "soundscape_valid_frac=0"):
        with pytest.raises(ConfigError, match=bad.split("=")[0]):
            Config().override([bad])
