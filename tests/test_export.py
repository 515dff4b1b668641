"""ONNX export: front-end in the graph, parity with eager on real audio; the DFT STFT; the benchmark runs."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import infer_helpers as H  # noqa: E402
from kit import export, infer  # noqa: E402
from kit.features.stft import MEL_IMPLS, frames_by_blocks, half_grid_filterbank  # noqa: E402
from kit.features.frontend import hann_window, mel_power  # noqa: E402


@pytest.mark.parametrize("impl", ["fft", "dft", "onnx"])
@pytest.mark.parametrize("pad_mode", ["constant", "reflect"])
def test_exportable_mels_match_torch_stft(shared_data, pad_mode, impl):
    from kit.audio import load_audio

    x = torch.from_numpy(load_audio(shared_data / "field" / "birds_10s.ogg", 32000, duration_s=2.0))[None]
    fb = torch.rand(1025, 64, generator=torch.Generator().manual_seed(0))
    ref = mel_power(x, 2048, 500, hann_window(2048), pad_mode, fb)
    got = MEL_IMPLS[impl](x, 2048, 500, hann_window(2048), pad_mode, fb)
    assert got.shape == ref.shape
    assert float((got - ref).abs().max() / ref.abs().max()) < 1e-5


@pytest.mark.parametrize("n_fft,hop", [(2048, 500), (1024, 320), (1000, 250), (512, 512), (2000, 160), (97, 40)])
def test_factorized_fft_mel_for_other_sizes(n_fft, hop):
    """Any n_fft (power of two, composite, prime: n1 = n) and hop; the half grid reaches every bin once."""
    x = torch.randn(3, 8000, generator=torch.Generator().manual_seed(1))
    fb = torch.rand(n_fft // 2 + 1, 16, generator=torch.Generator().manual_seed(2))
    for pad_mode in ("constant", "reflect"):
        ref = mel_power(x, n_fft, hop, hann_window(n_fft), pad_mode, fb)
        got = MEL_IMPLS["fft"](x, n_fft, hop, hann_window(n_fft), pad_mode, fb)
        assert got.shape == ref.shape
        assert float((got - ref).abs().max() / ref.abs().max()) < 1e-5, (n_fft, hop, pad_mode)
    grid = half_grid_filterbank(torch.eye(n_fft // 2 + 1), n_fft)
    assert torch.equal(grid.sum(0), torch.ones(n_fft // 2 + 1))  # each bin on exactly one row


def test_frames_by_blocks_equals_unfold():
    x = torch.arange(5000.0)[None].repeat(2, 1)
    for n_fft, hop in [(2048, 500), (400, 400), (300, 7), (1024, 1000)]:
        assert torch.equal(frames_by_blocks(x, n_fft, hop), x.unfold(-1, n_fft, hop))


def test_onnx_matches_eager_on_real_audio(shared_data, tmp_path, capsys):
    from kit.cli import main

    ckpt = H.tiny_checkpoint(tmp_path / "m.ckpt", sets=["n_mels=64", "n_mfcc=64", "kind=mel+mfcc"])
    audio = shared_data / "field" / "field_1min.ogg"
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m.onnx"), "--check", str(audio),
                 "--openvino"]) == 0
    out = capsys.readouterr().out
    assert "parity" in out and ("OpenVINO" in out or "m.xml" in out)
    assert infer.parity(ckpt, tmp_path / "m.onnx", audio, n_windows=3) <= 1e-4
    for stft in ("fft", "onnx", "dft"):  # every graph, explicitly (auto picks fft, falls back to dft)
        path = export.export_onnx(ckpt, tmp_path / f"m_{stft}.onnx", stft=stft)
        assert infer.parity(ckpt, path, audio, n_windows=3) <= 1e-4
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m_flat.onnx"),
                 "--no-frontend-loop"]) == 0  # no Loop: one traced graph
    assert infer.parity(ckpt, tmp_path / "m_flat.onnx", audio, n_windows=3) <= 1e-4
    import onnx

    ops = {path: {n.op_type for n in onnx.load(str(path)).graph.node} for path in (tmp_path / "m.onnx",
                                                                                tmp_path / "m_flat.onnx")}
    assert "Loop" in ops[tmp_path / "m.onnx"] and "Loop" not in ops[tmp_path / "m_flat.onnx"]
    outside = H.tiny_checkpoint(tmp_path / "outside.ckpt", sets=["features_in_model=false"])  # front-end not in
    assert infer.parity(outside, export.export_onnx(outside, tmp_path / "o.onnx"), audio, n_windows=3) <= 1e-4
    # dynamic batch: a different batch size than the export example runs too
    wave = np.random.default_rng(0).standard_normal((5, 160000)).astype(np.float32) * 0.1
    session = infer.onnx_session(tmp_path / "m.onnx")
    probs = infer.onnx_probs(session, wave)
    assert probs.shape == (5, 3) and ((probs > 0) & (probs < 1)).all()
    # a few rows per run (the default) or all at once: the same numbers, in the same order
    np.testing.assert_allclose(infer.onnx_probs(session, wave, rows_per_run=5), probs, atol=1e-6)
    np.testing.assert_allclose(infer.onnx_probs(session, wave[::-1], rows_per_run=2), probs[::-1], atol=1e-6)


def test_openvino_missing_gives_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if not installed (import raises ImportError)
    with pytest.raises(RuntimeError, match="openvino. package is not installed"):
        export.export_openvino(tmp_path / "m.onnx", tmp_path / "m.xml")
    from kit.infer.members import load_members

    with pytest.raises(RuntimeError, match="openvino. package is not installed"):
        load_members([H.tiny_checkpoint(tmp_path / "m.ckpt")], "cpu", runtime="openvino")


def test_predict_with_openvino_runtime_matches_torch(shared_data, tmp_path):
    pytest.importorskip("openvino", reason="openvino is optional (not in requirements.txt)")
    from kit.infer.predict import predict_soundscapes

    ckpt = H.tiny_checkpoint(tmp_path / "m.ckpt")
    folder = shared_data / "field"
    torch_frame = predict_soundscapes([ckpt], folder / "birds_10s.ogg", device="cpu")
    ov_frame = predict_soundscapes([ckpt], folder / "birds_10s.ogg", device="cpu", runtime="openvino")
    assert ov_frame.row_id.tolist() == torch_frame.row_id.tolist()
    np.testing.assert_allclose(ov_frame[["a", "b", "c"]].to_numpy(), torch_frame[["a", "b", "c"]].to_numpy(),
                               atol=1e-5)  # float32 forced (OpenVINO's bfloat16 default was 2e-4 off here)


def test_inference_benchmark_reports_rates(shared_data):
    from kit.bench.inference import bench_inference, inference_report

    r = bench_inference(shared_data, backbone="cnn", minutes=0.5, batch_size=4, model_batches=2, num_classes=3,
                        sets=H.TINY_SETS)
    assert r["windows"] == 6 and min(r["end_to_end_wps"], r["model_only_wps"], r["eager_wps"], r["onnx_wps"]) > 0
    assert r["peak_rss_short_mb"] <= r["peak_rss_mb"] and r["onnx_end_to_end_wps"] > 0
    assert r["onnx_max_abs_diff"] <= 1e-4 and r["peak_rss_mb"] >= r["rss_before_mb"] > 0
    assert "end to end / model only" in inference_report(r)


def test_predict_with_onnx_runtime_matches_torch(shared_data, tmp_path):
    """`predict --runtime onnx`: the same submission as torch to 1e-5; a checkpoint that cannot be exported
    (spectrogram mirroring) stays on torch with a warning instead of failing the submission."""
    import pandas as pd

    from kit.cli import main
    from kit.infer.predict import load_members, predict_soundscapes

    ckpt = H.tiny_checkpoint(tmp_path / "m.ckpt")
    comp = tmp_path / "comp"
    (comp / "test_soundscapes").mkdir(parents=True)
    for name in ("field_1min.ogg", "birds_10s.ogg"):
        (comp / "test_soundscapes" / name).symlink_to(shared_data / "field" / name)
    pd.DataFrame({"row_id": ["x_5"], "a": [0.0], "b": [0.0], "c": [0.0]}).to_csv(comp / "sample_submission.csv",
                                                                                 index=False)
    for runtime in ("torch", "onnx"):
        assert main(["predict", "--checkpoint", str(ckpt), "--data", str(comp), "--out",
                     str(tmp_path / f"{runtime}.csv"), "--runtime", runtime, "--device", "cpu"]) == 0
    torch_sub, onnx_sub = (pd.read_csv(tmp_path / f"{r}.csv") for r in ("torch", "onnx"))
    assert torch_sub.row_id.tolist() == onnx_sub.row_id.tolist() and len(torch_sub) == 15
    np.testing.assert_allclose(onnx_sub[["a", "b", "c"]].to_numpy(), torch_sub[["a", "b", "c"]].to_numpy(),
                               atol=1e-5)
    assert type(load_members([ckpt], "cpu", "onnx", shared=False)[0].model).__name__ == "OnnxModel"

    mirrored = H.tiny_checkpoint(tmp_path / "mirror.ckpt", sets=["pad_mode=mirror", "mirror_placement=spectrogram"])
    with pytest.warns(UserWarning, match="does not export to ONNX; this member runs on torch"):
        frame = predict_soundscapes([mirrored], comp / "test_soundscapes", device="cpu", runtime="onnx")
    assert len(frame) == 15
    with pytest.raises(ValueError, match="runtime='tensorrt'"):
        load_members([ckpt], "cpu", "tensorrt")
