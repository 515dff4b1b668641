"""ONNX export: front-end in the graph, parity with eager on real audio; the DFT STFT; the benchmark runs."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import infer_helpers as H  # noqa: E402

pytest.importorskip("kit.models")
pytest.importorskip("onnxruntime")
from kit import export  # noqa: E402
from kit.features import hann_window, power_spectrogram  # noqa: E402


@pytest.mark.parametrize("impl", ["fft", "dft", "onnx"])
@pytest.mark.parametrize("pad_mode", ["constant", "reflect"])
def test_exportable_stfts_match_torch_stft(shared_data, pad_mode, impl):
    from kit.audio import load_audio

    x = torch.from_numpy(load_audio(shared_data / "field" / "birds_10s.ogg", 32000, duration_s=2.0))[None]
    ref = power_spectrogram(x, 2048, 500, hann_window(2048), pad_mode)
    got = export.STFT_IMPLS[impl](x, 2048, 500, hann_window(2048), pad_mode)
    assert got.shape == ref.shape
    assert float((got - ref).abs().max() / ref.abs().max()) < 1e-5


def test_onnx_matches_eager_on_real_audio(shared_data, tmp_path, capsys):
    from kit.cli import main

    ckpt = H.tiny_checkpoint(tmp_path / "m.ckpt", sets=["n_mels=64", "n_mfcc=64", "kind=mel+mfcc"])
    audio = shared_data / "field" / "field_1min.ogg"
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m.onnx"), "--check", str(audio),
                 "--openvino"]) == 0
    out = capsys.readouterr().out
    assert "parity" in out and ("OpenVINO" in out or "m.xml" in out)
    assert export.parity(ckpt, tmp_path / "m.onnx", audio, n_windows=3) <= 1e-4
    for stft in ("fft", "onnx", "dft"):  # every graph, explicitly (auto picks fft, falls back to dft)
        path = export.export_onnx(ckpt, tmp_path / f"m_{stft}.onnx", stft=stft)
        assert export.parity(ckpt, path, audio, n_windows=3) <= 1e-4
    # dynamic batch: a different batch size than the export example runs too
    wave = np.random.default_rng(0).standard_normal((5, 160000)).astype(np.float32) * 0.1
    probs = export.onnx_probs(export.onnx_session(tmp_path / "m.onnx"), wave)
    assert probs.shape == (5, 3) and ((probs > 0) & (probs < 1)).all()


def test_openvino_missing_gives_a_clear_message(tmp_path):
    try:
        import openvino  # noqa: F401
        pytest.skip("openvino is installed here")
    except ImportError:
        pass
    with pytest.raises(RuntimeError, match="openvino. package is not installed"):
        export.export_openvino(tmp_path / "m.onnx", tmp_path / "m.xml")


def test_inference_benchmark_reports_rates(shared_data):
    from kit.bench import _report, bench_inference

    r = bench_inference(shared_data, backbone="cnn", minutes=0.5, batch_size=4, model_batches=2, num_classes=3,
                        sets=H.TINY_SETS)
    assert r["windows"] == 6 and min(r["end_to_end_wps"], r["model_only_wps"], r["eager_wps"], r["onnx_wps"]) > 0
    assert r["peak_rss_1min_mb"] <= r["peak_rss_mb"]
    assert r["onnx_max_abs_diff"] <= 1e-4 and r["peak_rss_mb"] >= r["rss_before_mb"] > 0
    assert "end to end / model only" in _report(r)
