"""Bad-input table: every entry point fed every awkward file gives a clear error naming the file and the
problem, or the documented fallback (never NaN features, never a bare traceback from deep inside).

The cases and their expected behaviour live in tests/badfiles.py (AUDIO_CASES, EDGE_CASES).
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from kit.audio import AudioError, iter_windows, load_audio, load_crops
from kit.config import AudioConfig, FeatureConfig
from kit.features.frontend import extract

sys.path.insert(0, str(Path(__file__).parent))
import badfiles as B  # noqa: E402

AUDIO = AudioConfig(crop_s=2.0, window_s=2.0)
FEATURES = FeatureConfig(n_mels=32, n_fft=1024, n_mfcc=32)
ENTRY_POINTS = {
    "load_audio": lambda p: load_audio(p, AUDIO.sample_rate_hz),
    "load_crops": lambda p: load_crops(p, AUDIO, np.random.default_rng(0))[0],
    "iter_windows": lambda p: np.concatenate([b.crops for b in iter_windows(p, AUDIO, batch_windows=2)]),
}


def _assert_clear_error(exc: Exception, path: Path, words: str) -> None:
    message = str(exc)
    assert str(path) in message, f"error does not name the file: {message}"
    assert words.lower() in message.lower(), f"error does not say {words!r}: {message}"


def _assert_usable(samples: np.ndarray) -> None:
    assert samples.dtype == np.float32 and samples.size > 0
    assert np.isfinite(samples).all()
    feats = extract(samples.reshape(-1, samples.shape[-1])[:2], AUDIO, FEATURES)
    assert torch.isfinite(feats).all(), "features of a fallback input hold NaN/Inf"


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("case", B.AUDIO_CASES, ids=[c[0] for c in B.AUDIO_CASES])
def test_audio_entry_points(tmp_path, case, entry):
    case_id, maker, expected, words = case
    path = maker(tmp_path)
    if expected == "error":
        with pytest.raises(AudioError) as info:
            ENTRY_POINTS[entry](path)
        _assert_clear_error(info.value, path, words)
    else:
        _assert_usable(np.asarray(ENTRY_POINTS[entry](path)))


def test_fallbacks_are_the_documented_ones(tmp_path):
    """Channels are averaged, rates resampled, short files padded by the pad mode, silence stays finite."""
    stereo = load_audio(B.make_channels(tmp_path, 6), 32000)
    np.testing.assert_allclose(stereo, B.tone(2.0), atol=1e-4)  # 16-bit copies averaged = the tone
    for rate in (8000, 22050, 44100, 48000):
        x = load_audio(B.make_rate(tmp_path, rate), 32000)
        assert len(x) == 64000, f"{rate} Hz: 2 s should give 64000 samples at 32 kHz, got {len(x)}"
        assert np.isfinite(x).all() and np.abs(x).max() > 0.1
    for fmt, subtype in (("WAV", "PCM_24"), ("FLAC", "PCM_24"), ("FLAC", "PCM_16")):
        np.testing.assert_allclose(load_audio(B.make_subtype(tmp_path, fmt, subtype), 32000), B.tone(2.0),
                                   atol=1e-4 if subtype == "PCM_16" else 1e-6)
    short = B.make_shorter_than_hop(tmp_path, 100)
    crops, valid = load_crops(short, AUDIO)
    assert valid.tolist() == [100]
    assert crops[0, :100].any() and not crops[0, 100:].any()  # default pad mode: silence after the clip
    wrapped, _ = load_crops(short, dataclasses.replace(AUDIO, pad_mode="wrap"))
    np.testing.assert_array_equal(wrapped[0, 100:200], wrapped[0, :100])  # pad_mode=wrap repeats it
    silent = extract(load_crops(B.make_silent(tmp_path), AUDIO)[0], AUDIO, FEATURES)
    assert torch.isfinite(silent).all() and float(silent.abs().max()) == 0.0  # constant map, normalized to 0


def test_truncated_header_promise(tmp_path):
    """A WAV whose header promises more frames than the file holds streams only the frames that exist."""
    path = B.write(tmp_path / "cut.wav", B.tone(6.0), subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    windows = list(iter_windows(path, AUDIO, batch_windows=1))
    total = sum(int(b.valid.sum()) for b in windows)
    assert 0 < total <= 3 * 32000 + 10 and len(windows) == 2


@pytest.mark.parametrize("name", sorted(B.EDGE_CASES))
def test_shared_edge_cases(shared_data, name):
    path = shared_data / "edge_cases" / name
    assert path.is_file(), f"edge case {name} missing from {path.parent}"
    expected, words = B.EDGE_CASES[name]
    for entry, call in ENTRY_POINTS.items():
        if expected == "error":
            with pytest.raises(AudioError) as info:
                call(path)
            _assert_clear_error(info.value, path, words)
        else:
            _assert_usable(np.asarray(call(path)))


def test_every_edge_case_file_is_in_the_table(shared_data):
    on_disk = {p.name for p in (shared_data / "edge_cases").iterdir() if p.suffix in (".wav", ".mp3", ".ogg")}
    assert on_disk <= set(B.EDGE_CASES), f"add these to badfiles.EDGE_CASES: {sorted(on_disk - set(B.EDGE_CASES))}"


# ---------------------------------------------------------------------------------------------------
# command-line entry points: `error: <message naming the file and the problem>`, exit 2, no traceback
# ---------------------------------------------------------------------------------------------------
run_cli, assert_cli_error = B.run_cli, B.assert_cli_error


@pytest.fixture
def clips(tmp_path):
    return B.make_clip_folder(tmp_path / "clips", labels=("a", "b"), per_label=3, seconds=2.0)


def _competition_args(clips_csv, out):
    return ["make-competition", "--clips", clips_csv, "--out", out, "--soundscapes", "1", "--soundscape-s", "10"]


@pytest.mark.parametrize("case", ["no_csv", "missing_columns", "duplicated_rows", "non_utf8", "escaping",
                                  "missing_audio"])
def test_make_competition_bad_csv(tmp_path, clips, capsys, case):
    folder = clips.parent
    bad = {"no_csv": lambda: folder / "nope.csv",
           "missing_columns": lambda: B.csv_missing_columns(folder),
           "duplicated_rows": lambda: B.csv_duplicated_rows(folder, clips),
           "non_utf8": lambda: B.csv_non_utf8(folder),
           "escaping": lambda: B.csv_escaping(folder),
           "missing_audio": lambda: B.csv_escaping(folder, "clips/not_there.ogg")}[case]()
    words = {"no_csv": ["not found"], "missing_columns": ["missing column"], "duplicated_rows": ["twice"],
             "non_utf8": ["utf-8"], "escaping": ["escapes"], "missing_audio": ["not_there.ogg", "not found"]}[case]
    assert_cli_error(_competition_args(bad, tmp_path / "out"), capsys, bad.name if case != "escaping" else "passwd",
                     *words)


@pytest.mark.parametrize("maker", [B.make_zero_byte, B.make_text_as_ogg, B.make_nonfinite_wav],
                         ids=["zero_byte", "text", "nan"])
def test_make_competition_bad_clip(tmp_path, clips, capsys, maker):
    """A broken clip is named in a clear error, whichever side of the split it falls on."""
    bad = maker(clips.parent / "clips")
    lines = clips.read_text().splitlines() + [f"clips/{bad.name},a"]
    clips.write_text("\n".join(lines) + "\n")
    assert_cli_error(_competition_args(clips, tmp_path / "out"), capsys, bad.name)


def test_make_competition_with_awkward_clips(tmp_path, clips, capsys):
    """Stereo, 48 kHz, 24-bit FLAC and sub-hop clips are usable (channels averaged, resampled, padded)."""
    folder = clips.parent / "clips"
    extra = [B.make_channels(folder, 6), B.make_rate(folder, 48000), B.make_subtype(folder, "FLAC", "PCM_24"),
             B.make_shorter_than_hop(folder)]
    lines = clips.read_text().splitlines() + [f"clips/{p.name},{'ab'[i % 2]}" for i, p in enumerate(extra)]
    clips.write_text("\n".join(lines) + "\n")
    rc, out, err = run_cli(_competition_args(clips, tmp_path / "out"), capsys)
    assert rc == 0, err
    assert (tmp_path / "out" / "solution.csv").is_file()


# ---- score -------------------------------------------------------------------------------------
@pytest.fixture
def solution(tmp_path):
    path = tmp_path / "solution.csv"
    path.write_text("row_id,a,b\ns1_5,1,0\ns1_10,0,1\ns1_15,1,1\n")
    return path


SUBMISSIONS = {
    "missing_label_column": ("row_id,a\ns1_5,0.9\ns1_10,0.1\ns1_15,0.5\n", "missing 1 label column"),
    "unknown_label": ("row_id,a,b,zz\ns1_5,0.9,0.1,0\ns1_10,0.1,0.8,0\ns1_15,0.5,0.5,0\n", "not in the solution"),
    "no_row_id": ("id,a,b\ns1_5,0.9,0.1\n", "missing column(s) ['row_id']"),
    "duplicated_rows": ("row_id,a,b\ns1_5,0.9,0.1\ns1_5,0.9,0.1\ns1_10,0.1,0.8\ns1_15,0.5,0.5\n", "duplicate"),
    "missing_rows": ("row_id,a,b\ns1_5,0.9,0.1\n", "missing 2 row_id"),
    "nan_value": ("row_id,a,b\ns1_5,0.9,0.1\ns1_10,,0.8\ns1_15,0.5,0.5\n", "nan"),
    "text_value": ("row_id,a,b\ns1_5,0.9,0.1\ns1_10,high,0.8\ns1_15,0.5,0.5\n", "non-numeric"),
    "empty_file": ("", "not a readable csv"),
}


@pytest.mark.parametrize("case", sorted(SUBMISSIONS))
def test_score_bad_submission(tmp_path, solution, capsys, case):
    text, words = SUBMISSIONS[case]
    sub = tmp_path / "submission.csv"
    sub.write_text(text)
    assert_cli_error(["score", "--submission", sub, "--solution", solution], capsys, words,
                     "submission" if case != "empty_file" else sub.name)


def test_score_non_utf8_and_missing(tmp_path, solution, capsys):
    sub = tmp_path / "latin1.csv"
    sub.write_bytes("row_id,caf\u00e9,b\ns1_5,0.9,0.1\n".encode("latin-1"))
    assert_cli_error(["score", "--submission", sub, "--solution", solution], capsys, sub.name)
    assert_cli_error(["score", "--submission", tmp_path / "none.csv", "--solution", solution], capsys,
                     "none.csv", "not found")


def test_cli_error_in_a_real_process_has_no_traceback(tmp_path, solution):
    """The whole path through `python -m kit` (interpreter, dispatch, error printing)."""
    import os
    import subprocess

    sub = tmp_path / "submission.csv"
    sub.write_text(SUBMISSIONS["unknown_label"][0])
    done = subprocess.run([sys.executable, "-m", "kit", "score", "--submission", str(sub), "--solution",
                           str(solution)], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, TQDM_DISABLE="1"), cwd=str(Path(__file__).parents[1]))
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert str(sub) in done.stderr


# ---- predict -----------------------------------------------------------------------------------
TINY_MODEL = ["cnn_channels=4", "head_hidden=8", "n_mels=16", "n_mfcc=16", "n_fft=512"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from kit.checkpoint import Checkpoint, save_checkpoint
    from kit.config import Config

    import kit.models as models
    config = Config().override(TINY_MODEL)
    model = models.create_model(config, num_classes=2)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.ckpt"
    return save_checkpoint(path, Checkpoint(config=config, labels=["a", "b"], state_dict=model.state_dict()))


def _competition_dir(root: Path, labels=("a", "b"), soundscapes=("s1",)) -> Path:
    for k, stem in enumerate(soundscapes):
        B.make_ogg(root / "test_soundscapes", f"{stem}.ogg", 10.0, seed=k)
    B.sample_submission(root / "sample_submission.csv", labels, [f"{s}_{t}" for s in soundscapes for t in (5, 10)])
    return root


def _predict(checkpoint, data, out):
    return ["predict", "--checkpoint", checkpoint, "--data", data, "--out", out, "--device", "cpu"]


def test_predict_labels_the_model_lacks_get_the_fallback(tmp_path, checkpoint, capsys):
    import pandas as pd

    data = _competition_dir(tmp_path / "comp", labels=("b", "zz", "a"))
    with pytest.warns(UserWarning, match="zz"):
        rc, _, err = run_cli(_predict(checkpoint, data, tmp_path / "sub.csv") + ["--set", "fallback_prob=0.125"],
                             capsys)
    assert rc == 0, err
    sub = pd.read_csv(tmp_path / "sub.csv")
    assert list(sub.columns) == ["row_id", "b", "zz", "a"] and sub.row_id.tolist() == ["s1_5", "s1_10"]
    assert (sub["zz"] == 0.125).all() and not (sub["a"] == 0.125).all()


def test_predict_empty_test_folder_writes_the_sample_rows(tmp_path, checkpoint, capsys):
    import pandas as pd

    data = _competition_dir(tmp_path / "comp", soundscapes=("s1", "s2"))
    for p in (data / "test_soundscapes").iterdir():
        p.unlink()
    with pytest.warns(UserWarning, match="empty or missing"):
        rc, _, err = run_cli(_predict(checkpoint, data, tmp_path / "sub.csv"), capsys)
    assert rc == 0, err
    sub = pd.read_csv(tmp_path / "sub.csv")
    assert sub.row_id.tolist() == ["s1_5", "s1_10", "s2_5", "s2_10"] and (sub[["a", "b"]] == 0.0).all().all()


def test_predict_corrupt_soundscape_gets_fallback_rows(tmp_path, checkpoint, capsys):
    import pandas as pd

    data = _competition_dir(tmp_path / "comp")
    bad = B.make_text_as_ogg(data / "test_soundscapes")
    with pytest.warns(UserWarning, match=bad.name):
        rc, _, err = run_cli(_predict(checkpoint, data, tmp_path / "sub.csv"), capsys)
    assert rc == 0, err
    sub = pd.read_csv(tmp_path / "sub.csv")
    assert set(sub.row_id) == {"s1_5", "s1_10", f"{bad.stem}_5", f"{bad.stem}_10"}


@pytest.mark.parametrize("case", ["no_checkpoint", "truncated_checkpoint", "no_sample", "bad_sample",
                                  "non_utf8_sample", "infer_set_audio_key"])
def test_predict_bad_inputs(tmp_path, checkpoint, capsys, case):
    data = _competition_dir(tmp_path / "comp")
    ckpt, extra, words = checkpoint, [], []
    if case == "no_checkpoint":
        ckpt, words = tmp_path / "none.ckpt", ["none.ckpt", "not found"]
    elif case == "truncated_checkpoint":
        ckpt = tmp_path / "cut.ckpt"
        ckpt.write_bytes(Path(checkpoint).read_bytes()[:500])
        words = ["cut.ckpt", "corrupt"]
    elif case == "no_sample":
        (data / "sample_submission.csv").unlink()
        words = ["sample_submission.csv", "not found"]
    elif case == "bad_sample":
        (data / "sample_submission.csv").write_text("id,a,b\nx_5,0,0\n")
        words = ["sample_submission.csv", "row_id"]
    elif case == "non_utf8_sample":
        (data / "sample_submission.csv").write_bytes("row_id,caf\u00e9\ns1_5,0\n".encode("latin-1"))
        words = ["sample_submission.csv"]
    else:
        extra, words = ["--set", "crop_s=10"], ["crop_s", "checkpoint"]
    assert_cli_error(_predict(ckpt, data, tmp_path / "sub.csv") + extra, capsys, *words)
    assert not (tmp_path / "sub.csv").exists(), "a failed run must not leave a submission behind"
