"""Ensembles: the shared front-end equals the member-by-member path (torch and ONNX Runtime), label lists aligned
by name, other sample rates / feature configs grouped; int8 export + predict round trip with its agreement
report; bad int8 files and empty calibration sets; the members-that-fit estimate and its benchmark."""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import infer_helpers as H  # noqa: E402
from kit.config import InferConfig  # noqa: E402
from kit.infer.predict import predict_soundscapes  # noqa: E402


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    """m0, m1: one config (labels a b c); m2: other features (16 mels); m3: 16 kHz and labels a b d."""
    folder = tmp_path_factory.mktemp("ens")
    return [H.tiny_checkpoint(folder / "m0.ckpt", seed=0), H.tiny_checkpoint(folder / "m1.ckpt", seed=1),
            H.tiny_checkpoint(folder / "m2.ckpt", seed=2, sets=["n_mels=16", "n_mfcc=16"]),
            H.tiny_checkpoint(folder / "m3.ckpt", seed=3, labels=("a", "b", "d"), sets=["sample_rate_hz=16000"])]


@pytest.fixture(scope="module")
def sound(shared_data, tmp_path_factory):
    return H.field_folder(tmp_path_factory.mktemp("sound"), shared_data, ("birds_10s.ogg", "aru_1.ogg"))


def _values(frame, cols):
    return frame[cols].to_numpy(np.float64)


def test_shared_frontend_equals_member_by_member_torch(ckpts, sound):
    from kit.infer import Runner, load_members

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        members = load_members(ckpts, "cpu")
        shared = predict_soundscapes(members, sound, device="cpu")
        separate = predict_soundscapes(members, sound, device="cpu", shared=False)
    label_notes = [str(w.message) for w in caught if "label lists differ" in str(w.message)]
    assert len(label_notes) == 1 and "m3.ckpt lacks 1 (c)" in label_notes[0] and "m0.ckpt lacks 1 (d)" in label_notes[0]
    cols = ["a", "b", "c", "d"]
    assert list(shared.columns) == ["row_id"] + cols and len(shared) == 4
    assert np.abs(_values(shared, cols) - _values(separate, cols)).max() <= 1e-5
    # each label is the mean over the members that have it: c over m0..m2, d from m3 alone
    alone = [predict_soundscapes([m], sound, device="cpu") for m in members]
    assert np.abs(_values(shared, ["c"]) - np.mean([_values(f, ["c"]) for f in alone[:3]], axis=0)).max() <= 1e-5
    assert np.abs(_values(shared, ["d"]) - _values(alone[3], ["d"])).max() <= 1e-5
    assert np.abs(_values(alone[0], ["a"]) - _values(alone[1], ["a"])).max() > 1e-4  # members differ
    tta = InferConfig(tta="shift")  # both views' features are shared too
    assert np.abs(_values(predict_soundscapes(members, sound, tta, device="cpu"), cols)
                  - _values(predict_soundscapes(members, sound, tta, device="cpu", shared=False), cols)).max() <= 1e-5
    groups = Runner(members[:3], 4, "cpu").groups()  # m0 + m1 share a front-end; m2's has other mels
    assert [[m.path for m in g] for g in groups] == [[str(ckpts[0]), str(ckpts[1])], [str(ckpts[2])]]
    assert len(Runner(members[:3], 4, "cpu", shared=False).groups()) == 3


def test_shared_frontend_equals_member_by_member_onnx(ckpts, sound):
    from kit.infer import load_members

    members = load_members(ckpts[:2], "cpu", runtime="onnx")
    assert members[0].frontend is members[1].frontend  # one front-end graph for the group
    assert type(members[0].model).__name__ == "OnnxNetwork"
    shared = predict_soundscapes(members, sound, device="cpu")
    separate = predict_soundscapes(members, sound, device="cpu", shared=False)
    eager = predict_soundscapes(ckpts[:2], sound, device="cpu", shared=False)
    cols = ["a", "b", "c"]
    assert np.abs(_values(shared, cols) - _values(separate, cols)).max() <= 1e-5
    assert np.abs(_values(shared, cols) - _values(eager, cols)).max() <= 1e-5


@pytest.fixture(scope="module")
def comp(sound, tmp_path_factory):
    """A mini-competition of the two soundscapes (4 windows) with a solution.csv."""
    folder = tmp_path_factory.mktemp("comp")
    (folder / "test_soundscapes").mkdir()
    for f in sound.iterdir():
        (folder / "test_soundscapes" / f.name).symlink_to(f.resolve())
    pd.DataFrame({"row_id": ["x_5"], "a": [0.0], "b": [0.0], "c": [0.0]}).to_csv(folder / "sample_submission.csv",
                                                                                 index=False)
    ids = ["aru_1_5", "birds_10s_5", "birds_10s_10", "birds_10s_15"]
    pd.DataFrame({"row_id": ids, "a": [1, 0, 0, 1], "b": [0, 1, 0, 0], "c": [0, 0, 1, 0]}).to_csv(
        folder / "solution.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def int8_file(ckpts, shared_data, comp):
    """`kit export --precision int8` of m0 to m0.int8.onnx beside m0.ckpt (calibrated on the field recordings,
    scored on the mini-competition): (path, what it printed)."""
    import contextlib
    import io

    from kit.cli import main
    from kit.export import int8_path_for

    path = int8_path_for(ckpts[0])
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(["export", "--checkpoint", str(ckpts[0]), "--out", str(path), "--precision", "int8", "--calibrate",
                     str(shared_data / "field"), "--calib-windows", "4", "--competition", str(comp)]) == 0
    return path, printed.getvalue()


def test_int8_export_and_predict_round_trip(ckpts, int8_file, comp, tmp_path):
    from kit.cli import main

    path, printed = int8_file
    assert path.name == "m0.int8.onnx" and path.is_file()
    assert "top-1 agreement with fp32: " in printed and "on 4 held-out windows" in printed
    assert "percentile calibration" in printed and _metadata(path)["kit_calibrate_method"] == "percentile"
    assert "on 4 calibration windows" in printed and "mini-competition (4 windows): padded cmAP fp32" in printed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["predict", "--checkpoint", str(ckpts[0]), "--data", str(comp), "--out", str(tmp_path / "q.csv"),
                     "--precision", "int8", "--device", "cpu"]) == 0
    assert not [w for w in caught if "quantized on load" in str(w.message)]  # the file beside the checkpoint
    q = pd.read_csv(tmp_path / "q.csv")
    fp32 = predict_soundscapes([ckpts[0]], comp / "test_soundscapes", device="cpu")
    assert q.row_id.tolist() == fp32.row_id.tolist() and len(q) == 4
    diff = np.abs(_values(q, ["a", "b", "c"]) - _values(fp32, ["a", "b", "c"])).max()
    assert 0 < diff < 0.2  # int8, not the fp32 graph; close to it
    from kit.export import make_bundle

    bundled = make_bundle([ckpts[0]], tmp_path / "bundle")["checkpoints"][0]
    assert bundled.with_suffix(".int8.onnx").read_bytes() == path.read_bytes()  # the int8 file travels along


def test_int8_agreement_below_the_bar_warns(ckpts, shared_data, tmp_path, monkeypatch):
    from kit.infer import int8 as quantize
    from kit.infer import quantize_checkpoint as export_int8

    monkeypatch.setattr(quantize, "AGREEMENT_WARN", 1.01)  # any agreement is below it
    with pytest.warns(UserWarning, match="int8 top-1 agreement with float32 is"):
        export_int8(ckpts[0], tmp_path / "w.int8.onnx", [shared_data / "field" / "aru_1.ogg"], 2)


def test_bad_int8_files_and_empty_calibration(ckpts, int8_file, comp, tmp_path, capsys):
    from badfiles import assert_cli_error, run_cli

    from kit.checkpoint import load_checkpoint
    from kit.export import Int8Error
    from kit.infer import load_int8
    from kit.infer import quantize_checkpoint as export_int8

    path, _ = int8_file
    corrupt = tmp_path / "corrupt.int8.onnx"
    corrupt.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(Int8Error, match=r"corrupt.int8.onnx: not a readable ONNX model"):
        load_int8(corrupt, ckpts[0], load_checkpoint(ckpts[0]))
    beside = ckpts[2].with_suffix(".int8.onnx")  # what predict --precision int8 finds beside m2.ckpt
    beside.write_bytes(b"not onnx at all")
    try:
        assert_cli_error(["predict", "--checkpoint", ckpts[2], "--data", comp, "--out", tmp_path / "x.csv",
                          "--precision", "int8"], capsys, "m2.int8.onnx", "not a readable ONNX model")
    finally:
        beside.unlink()
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(Int8Error, match=r"m0.int8.onnx: quantized from another checkpoint than .*m1.ckpt"):
        load_int8(path, ckpts[1], load_checkpoint(ckpts[1]))  # another fold: same labels, other weights
    with pytest.raises(Int8Error, match=r"m0.int8.onnx: its 3 labels are not .*m3.ckpt's"):
        load_int8(path, ckpts[3], load_checkpoint(ckpts[3]))
    (tmp_path / "silent_folder").mkdir()
    out = tmp_path / "empty.int8.onnx"
    for calibration in ([], [tmp_path / "silent_folder"]):
        with pytest.raises(Int8Error, match="empty.int8.onnx .*the calibration set is empty"):
            export_int8(ckpts[0], out, calibration, 4)
    assert not out.exists() and not list(tmp_path.glob(".empty.int8.onnx*"))  # nothing half-written
    assert_cli_error(["export", "--checkpoint", ckpts[0], "--out", out, "--precision", "int8"], capsys,
                     "empty.int8.onnx", "calibration set is empty", "--calibrate")
    assert not out.exists()
    # Kaggle's public re-run: no test soundscape, nothing to calibrate on, no int8 file: the fallback rows
    public = tmp_path / "public"
    (public / "test_soundscapes").mkdir(parents=True)
    (public / "sample_submission.csv").write_text("row_id,a,b,c\nx_5,0,0,0\n")
    with pytest.warns(UserWarning, match="empty or missing"):
        rc, _, _ = run_cli(["predict", "--checkpoint", ckpts[1], "--data", public, "--out", public / "s.csv",
                            "--precision", "int8"], capsys)
    assert rc == 0 and len(pd.read_csv(public / "s.csv")) == 1


def test_members_that_fit_and_the_estimate(ckpts, sound, comp, tmp_path, capsys):
    from kit.cli import main
    from kit.infer import estimate_members, members_that_fit, split_costs

    assert members_that_fit(0.01, 0.02, test_windows=1000, budget_s=100, safety=0.9) == 4
    assert members_that_fit(0.2, 0.02, test_windows=1000, budget_s=100, safety=0.9) == 0
    fixed, member = split_costs(10.0, 25.0, 4, 100)
    assert (round(fixed, 6), round(member, 6)) == (0.05, 0.05)
    est = estimate_members(ckpts[:2], sound, budget_min=1.0, test_windows=60, probe_s=10)
    assert est.probe_windows == 2 and est.member_s_per_window > 0 and est.fixed_s_per_window >= 0
    expected = members_that_fit(est.fixed_s_per_window, est.member_s_per_window, 60, 60.0)
    assert est.members_that_fit == expected >= 1
    # predict --fit-members: a test far too big for the budget keeps the first member only
    assert main(["predict", "--checkpoint", str(ckpts[0]), "--checkpoint", str(ckpts[1]), "--data", str(comp),
                 "--out", str(tmp_path / "fit.csv"), "--fit-members", "--test-windows", "10000000", "--budget-min",
                 "1", "--device", "cpu"]) == 0
    assert "using 1 of 2" in capsys.readouterr().out and len(pd.read_csv(tmp_path / "fit.csv")) == 4


def test_ensemble_benchmark_writes_its_keys(shared_data, tmp_path):
    import json

    from kit.cli import main

    out = tmp_path / "b.json"
    sets = [a for s in H.TINY_SETS for a in ("--set", s)]
    assert main(["bench", "inference", "--backbone", "cnn", "--members", "2", "--minutes", "0.25", "--batch-size",
                 "4", "--precision", "int8", "--rounds", "1", "--json", str(out)] + sets) == 0
    r = json.loads(out.read_text())
    for key in ("members", "shared_member_windows_per_s", "separate_member_windows_per_s", "int8_speedup",
                "int8_top1_agreement", "members_that_fit", "peak_rss_mb", "merged_over_k_sessions"):
        assert key in r, key
    assert r["members"] == 2 and r["windows"] == 3 and r["shared_member_windows_per_s"] > 0
    assert r["separate_member_windows_per_s"] > 0 and r["today_member_windows_per_s"] > 0
    assert 0 <= r["int8_top1_agreement"] <= 1 and r["int8_speedup"] > 0 and r["members_that_fit"] >= 0
    assert 0 <= r["fp32_noise_top1_agreement"] <= 1 and r["int8_agreement_windows"] > 0
    assert r["int8_calibrate_method"] == "percentile"  # the default, read back from the int8 file
    assert r["int8_holdout"] == "ESC-50 clips" and r["int8_calibration"] == str(shared_data / "field")


def test_ensemble_benchmark_calibrates_and_agrees_on_the_audio_it_is_given(shared_data, tmp_path, capsys):
    """--calibrate / --holdout (a trained member's train_audio and test soundscapes) replace the shared defaults."""
    import json

    from kit.cli import main

    (tmp_path / "holdout").mkdir()
    (tmp_path / "holdout" / "one.ogg").symlink_to(shared_data / "field" / "birds_10s.ogg")
    out = tmp_path / "b.json"
    sets = [a for s in H.TINY_SETS for a in ("--set", s)]
    assert main(["bench", "inference", "--backbone", "cnn", "--members", "2", "--minutes", "0.25", "--batch-size",
                 "4", "--precision", "int8", "--rounds", "1", "--json", str(out), "--holdout",
                 str(tmp_path / "holdout"), "--calibrate", str(shared_data / "field" / "aru_1.ogg")] + sets) == 0
    r = json.loads(out.read_text())
    from kit.audio import load_audio, window_count
    from kit.config import AudioConfig

    windows = window_count(len(load_audio(shared_data / "field" / "birds_10s.ogg", 32000)), AudioConfig())
    assert r["int8_agreement_windows"] == windows < 96 and r["int8_holdout"] == str(tmp_path / "holdout")
    assert r["int8_calibration"] == str(shared_data / "field" / "aru_1.ogg")
    assert main(["bench", "inference", "--backbone", "cnn", "--members", "2", "--holdout", str(tmp_path / "empty")]) == 2
    assert f"--holdout: no audio files in {tmp_path / 'empty'}" in capsys.readouterr().err


def test_calibration_folders_are_searched_recursively(shared_data, tmp_path):
    """A competition's train_audio/<label>/*.ogg calibrates (the folder of folders once gave an empty set)."""
    from kit.export.quantize import audio_sources

    (tmp_path / "train_audio" / "dog").mkdir(parents=True)
    for name in ("dog/x.ogg", "y.ogg", ".hidden.ogg"):
        (tmp_path / "train_audio" / name).symlink_to(shared_data / "field" / "aru_1.ogg")
    (tmp_path / "train_audio" / "notes.txt").write_text("not audio")
    found = audio_sources([tmp_path / "train_audio"])
    assert found == [tmp_path / "train_audio" / "dog" / "x.ogg", tmp_path / "train_audio" / "y.ogg"]


def _metadata(path) -> dict:
    import onnx

    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def _input_scale(path) -> float:
    """The scale of the first activation QuantizeLinear (the input of the first conv: the features, reshaped)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    node = next(n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] not in inits)
    return float(inits[node.input[1]])


def test_calibration_methods(ckpts, shared_data, tmp_path, monkeypatch):
    """percentile (the default) ignores one outlier that stretches minmax's range; the method is recorded in the
    file; an unknown method is refused; an onnxruntime with one-sided percentiles falls back to minmax."""
    from kit.checkpoint import load_checkpoint
    from kit.export import Int8Error, export_parts, int8_metadata, quantize_network, window_features
    from kit.export import quantize

    net = export_parts(ckpts[0], tmp_path / "parts", frontend=False)["network"]
    config = load_checkpoint(ckpts[0]).config.for_inference()
    one = window_features(config, [shared_data / "field" / "aru_1.ogg"], 1)
    n = -(-400_000 // one[0].size)  # enough values that one outlier is beyond the 99.999th percentile
    feats = np.random.default_rng(0).standard_normal((n, *one.shape[1:])).astype(np.float32)
    feats[0, 0, 0, 0] = 1000.0
    meta = int8_metadata(ckpts[0], load_checkpoint(ckpts[0]))
    scales, methods = {}, {}
    for method in ("percentile", "minmax"):
        out = quantize_network(net, feats, tmp_path / f"{method}.onnx", meta, calibrate_method=method)
        scales[method] = _input_scale(out)
        methods[method] = _metadata(out)["kit_calibrate_method"]
    assert methods == {"percentile": "percentile", "minmax": "minmax"}
    assert scales["minmax"] > 900 / 255  # the outlier sets the whole range
    assert scales["percentile"] < 10 / 255  # a standard normal's range, give or take
    with pytest.raises(Int8Error, match=r"bad.onnx: calibrate_method='kl' is not one of percentile, minmax"):
        quantize_network(net, feats, tmp_path / "bad.onnx", meta, calibrate_method="kl")
    assert not (tmp_path / "bad.onnx").exists()
    monkeypatch.setattr(quantize, "_two_sided_percentile", lambda: False)
    with pytest.warns(UserWarning, match="fb.onnx: this onnxruntime's percentile calibration clips negative"):
        out = quantize_network(net, feats[:4], tmp_path / "fb.onnx", meta)
    assert _metadata(out)["kit_calibrate_method"] == "minmax"


def test_two_sided_percentile_probe():
    """The installed onnxruntime (requirements.txt) has two-sided percentiles, so percentile is what runs."""
    from kit.export.quantize import _two_sided_percentile

    assert _two_sided_percentile() is True
