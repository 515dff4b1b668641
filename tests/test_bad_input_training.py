"""Bad-input table, training side: label CSVs, bad files in training data (skip with a summary, or stop),
the train CLI, and the shared edge-case files through the dataset and the soundscape predictor."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from kit.audio import AudioError

sys.path.insert(0, str(Path(__file__).parent))
import badfiles as B  # noqa: E402

run_cli, assert_cli_error = B.run_cli, B.assert_cli_error


@pytest.fixture
def clips(tmp_path):
    return B.make_clip_folder(tmp_path / "clips", labels=("a", "b"), per_label=3, seconds=2.0)


# ---- training data: read_labels, check_files, RecordingDataset -------------------------------------
@pytest.mark.parametrize("secondary", ["['b'", "[1, 2]", "{'b': 1}", "b c", "[['b']]"])
def test_malformed_secondary_labels_named(tmp_path, secondary):
    import kit.train.data as data
    folder = B.birdclef_folder(tmp_path / "bc", secondary=secondary)
    with pytest.raises(ValueError, match="secondary_labels") as info:
        data.read_labels(folder)
    assert "train.csv" in str(info.value) and "row 2" in str(info.value)


def test_secondary_labels_fallbacks(tmp_path):
    """Well-formed variants parse; secondary labels outside the label list are dropped with a note."""
    import kit.train.data as data
    table = data.read_labels(B.birdclef_folder(tmp_path / "bc", secondary="['b', 'zz']"))
    assert table.frame["secondary_labels"].iloc[0] == ["b"] and any("zz" in n for n in table.notes)


@pytest.mark.parametrize("case", ["missing_columns", "non_utf8", "escaping", "no_csv", "unknown_label",
                                  "empty_folder"])
def test_read_labels_bad_csv(tmp_path, clips, case):
    import kit.train.data as data
    folder = clips.parent
    if case == "unknown_label":  # a primary label that sample_submission.csv (the label list) lacks
        source = B.birdclef_folder(tmp_path / "bc")
        B.sample_submission(source / "sample_submission.csv", ["a"], ["s_5"])
        words = ["not in the label list", "train.csv"]
    elif case == "empty_folder":
        source, words = tmp_path / "empty", ["no train_metadata.csv"]
        source.mkdir()
    else:
        source = {"missing_columns": lambda: B.csv_missing_columns(folder), "non_utf8": lambda: B.csv_non_utf8(folder),
                  "escaping": lambda: B.csv_escaping(folder), "no_csv": lambda: folder / "none.csv"}[case]()
        words = [source.name, {"missing_columns": "missing column", "non_utf8": "utf-8", "escaping": "escapes",
                               "no_csv": "not found"}[case]]
    with pytest.raises(ValueError) as info:
        data.read_labels(source)
    for word in words:
        assert word.lower() in str(info.value).lower(), str(info.value)


def test_duplicated_rows_dropped_with_a_warning(clips):
    import kit.train.data as data
    with pytest.warns(UserWarning, match="duplicated"):
        table = data.read_labels(B.csv_duplicated_rows(clips.parent, clips))
    assert len(table) == 6 and table.frame["path"].is_unique


def _table_with_bad_files(clips):
    folder = clips.parent / "clips"
    bad = [B.make_zero_byte(folder), B.make_text_as_ogg(folder), B.make_zero_samples(folder)]
    lines = clips.read_text().splitlines() + [f"clips/{p.name},a" for p in bad]
    clips.write_text("\n".join(lines) + "\n")
    return bad


def test_check_files_skip_lists_every_bad_file(clips):
    import kit.train.data as data
    bad = _table_with_bad_files(clips)
    table = data.read_labels(clips)
    with pytest.warns(UserWarning, match="skipping 3 bad audio file") as record:
        kept, skipped = data.check_files(table, "skip")
    message = str(record[0].message)
    assert all(p.name in message for p in bad) and len(kept) == 6 and len(skipped) == 3
    with pytest.raises(AudioError, match="bad_files=stop") as info:
        data.check_files(table, "stop")
    assert bad[0].name in str(info.value) or any(p.name in str(info.value) for p in bad)


@pytest.mark.parametrize("mode", ["skip", "stop"])
def test_dataset_bad_file_after_the_header_check(clips, mode):
    """A NaN WAV passes the header check; decoding it in the dataset skips it (warning) or stops."""
    import kit.train.data as data
    from kit.config import Config

    nan = B.make_nonfinite_wav(clips.parent / "clips")
    clips.write_text(clips.read_text() + f"clips/{nan.name},a\n")
    table = data.read_labels(clips)
    config = Config().override([f"bad_files={mode}"])  # 5 s crops: the 2 s file is read whole
    dataset = data.RecordingDataset(table, np.arange(len(table)), config, train=True)
    i = int(np.flatnonzero(table.frame["path"].str.endswith(nan.name))[0])
    if mode == "stop":
        with pytest.raises(AudioError, match="nan.wav"):
            dataset[i]
        return
    with pytest.warns(UserWarning, match="nan.wav"):
        crops, valid, target, weight = dataset[i]
    assert np.isfinite(crops).all() and dataset.skipped == [str(nan)] and target.sum() == 1 and weight == 1


# ---- train CLI ---------------------------------------------------------------------------------
TRAIN_ARGS = ["--set", "cnn_channels=4", "--set", "head_hidden=8", "--set", "n_mels=16", "--set", "n_mfcc=16",
              "--set", "n_fft=512", "--set", "crop_s=1", "--set", "epochs=1", "--set", "batch_size=4",
              "--set", "device=cpu", "--set", "amp=false"]


def _train(data, out, *extra):
    return ["train", "--data", data, "--out", out, "--log", Path(out).parent / "experiments.csv",
            *TRAIN_ARGS, *extra]


@pytest.mark.parametrize("case", ["missing_columns", "non_utf8", "escaping", "no_csv", "malformed_secondary",
                                  "unknown_label"])
def test_train_cli_bad_csv(tmp_path, clips, capsys, case):
    folder = clips.parent
    if case == "malformed_secondary":
        source, words = B.birdclef_folder(tmp_path / "bc", secondary="['b'"), ["train.csv", "secondary_labels"]
    elif case == "unknown_label":
        source = B.birdclef_folder(tmp_path / "bc")
        B.sample_submission(source / "sample_submission.csv", ["b"], ["s_5"])
        words = ["train.csv", "not in the label list"]
    else:
        source = {"missing_columns": lambda: B.csv_missing_columns(folder), "non_utf8": lambda: B.csv_non_utf8(folder),
                  "escaping": lambda: B.csv_escaping(folder), "no_csv": lambda: folder / "none.csv"}[case]()
        words = [source.name, {"missing_columns": "missing column", "non_utf8": "utf-8", "escaping": "escapes",
                               "no_csv": "not found"}[case]]
    assert_cli_error(_train(source, tmp_path / "runs" / "run"), capsys, *words)
    assert not (tmp_path / "runs" / "run" / "last.ckpt").exists()


def _clips_with_bad_files(clips) -> list:
    folder = clips.parent / "clips"
    bad = [B.make_zero_byte(folder), B.make_text_as_ogg(folder), B.make_nonfinite_wav(folder)]
    clips.write_text(clips.read_text() + "".join(f"clips/{p.name},{'ab'[i % 2]}\n" for i, p in enumerate(bad)))
    return bad


def test_train_skips_bad_files_and_keeps_a_summary(tmp_path, clips, capsys):
    """bad_files=skip (default): a warning lists them, training runs, train.log / run.json / the experiment
    log keep the summary. The NaN file passes the header check and is skipped when first decoded."""
    import json

    bad = _clips_with_bad_files(clips)
    out = tmp_path / "runs" / "run"
    with pytest.warns(UserWarning, match="skipping"):
        rc, stdout, err = run_cli(_train(clips, out, "--set", "valid_frac=0", "--set", "crop_s=5"),
                                  capsys)  # 5 s crops read the 2 s files whole, NaN samples included
    assert rc == 0, err
    log = (out / "train.log").read_text()
    summary = [line for line in log.splitlines() if line.startswith("skipped ")]
    assert summary and all(p.name in summary[-1] for p in bad), log
    assert len(json.loads((out / "run.json").read_text())["skipped"]) == 3
    assert "skipped_files" in (out.parent / "experiments.csv").read_text().splitlines()[0]


def test_train_stops_on_a_bad_file_when_asked(tmp_path, clips, capsys):
    bad = _clips_with_bad_files(clips)
    err = assert_cli_error(_train(clips, tmp_path / "runs" / "run", "--set", "bad_files=stop"), capsys,
                           "bad_files=stop")
    assert any(p.name in err for p in bad[:2])


# ---- the shared edge cases through the soundscape and training paths -------------------------------
def _linked_edge_cases(shared_data, folder: Path) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    for name in sorted(B.EDGE_CASES):
        (folder / name).symlink_to(shared_data / "edge_cases" / name)
    return sorted(B.EDGE_CASES)


def test_edge_cases_as_soundscapes(shared_data, tmp_path):
    """Each real edge case predicted as a soundscape: rows computed, or fallback rows with a warning."""
    import kit.infer.predict as inference
    from kit.config import InferConfig
    from kit.infer.submission import validate_submission

    names = _linked_edge_cases(shared_data, tmp_path / "test")
    infer = InferConfig(infer_batch_size=4, fallback_prob=0.5)
    with pytest.warns(UserWarning, match="empty_2c.wav"):
        frame = inference.predict_soundscapes([B.tiny_member()], tmp_path / "test", infer, device="cpu")
    validate_submission(frame)
    for name in names:
        rows = frame[frame.row_id.str.rsplit("_", n=1).str[0] == Path(name).stem][["a", "b", "c"]].to_numpy()
        if name == "empty_2c.wav":  # 0 frames = 0 windows: no rows (the warning names it)
            assert len(rows) == 0
            continue
        assert len(rows) >= 1, f"{name}: no rows"
        fallback = (rows == 0.5).all()
        assert fallback == (B.EDGE_CASES[name][0] == "error"), f"{name}: fallback={fallback}"


def test_edge_cases_as_training_recordings(shared_data, tmp_path):
    import kit.train.data as data
    from kit.config import Config

    names = _linked_edge_cases(shared_data, tmp_path / "clips")
    csv = tmp_path / "clips" / "labels.csv"
    csv.write_text("filename,label\n" + "".join(f"{n},{'ab'[i % 2]}\n" for i, n in enumerate(names)))
    with pytest.warns(UserWarning, match="empty_2c.wav"):
        table, bad = data.check_files(data.read_labels(csv), "skip")
    assert [Path(p).name for p, _ in bad] == ["empty_2c.wav"]
    dataset = data.RecordingDataset(table, np.arange(len(table)), Config(), train=True)
    for i in range(len(dataset)):
        crops, valid, target, weight = dataset[i]
        assert crops.shape == (1, 160000) and np.isfinite(crops).all() and valid[0] > 0 and target.sum() == weight == 1
    assert dataset.skipped == []
