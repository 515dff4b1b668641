"""Export a checkpoint to ONNX: raw waveform (batch, samples) in, probabilities (batch, classes) out.

The mel front-end is inside the graph. The legacy exporter (dynamo=False, opset 17) cannot export
`torch.stft(return_complex=True)`, so while tracing, the front-end's `mel_step` is an equivalent mel
spectrogram of exportable ops (kit.features.stft: `fft`, the default, a factorized FFT of MatMul/Mul ops;
`onnx`, ONNX's STFT operator; `dft`, a conv1d). The front-end graph runs in an ONNX Loop, one window at a
time (its STFT then stays in cache), and the network graph on the whole batch; `frontend_loop=False` traces
one flat graph instead.
OpenVINO is used when that package is installed (it is optional).

    python -m kit export --checkpoint best.ckpt --out model.onnx [--openvino] [--check AUDIO] [--no-frontend-loop]
    python -m kit export --checkpoint best.ckpt --out best.int8.onnx --precision int8 --calibrate AUDIO_OR_DIR
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

OPSET = 17


class WaveformModel(nn.Module):
    """(batch, samples) waveform -> (batch, classes) probabilities, one crop per row."""

    def __init__(self, model: nn.Module, frontend: nn.Module = None):
        super().__init__()
        self.model, self.frontend = model, frontend

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = wave[:, None, :]
        if self.frontend is not None:
            x = self.frontend(x)
        return torch.sigmoid(self.model(x))


class FeaturesToProbs(nn.Module):
    """(batch, C, H, T) features -> (batch, classes) probabilities: the KitModel after its front-end."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        from kit.models import pool_crops

        m = self.model
        return torch.sigmoid(pool_crops(m._crop_logits(feats[:, None]), m.crop_pool, m.pool_over))


def waveform_model(checkpoint) -> tuple:
    """(WaveformModel on CPU in eval mode, Checkpoint)."""
    from kit.checkpoint import load_model
    from kit.features import FeatureExtractor

    model, ckpt = load_model(checkpoint, "cpu")
    ckpt.config = ckpt.config.for_inference()  # the graph takes the inference input length
    if ckpt.config.audio.mirror_placement == "spectrogram":
        raise ValueError(f"{checkpoint}: mirror_placement='spectrogram' needs per-window valid lengths, which "
                         f"the waveform-only ONNX graph does not take; use the eager path (python -m kit predict)")
    frontend = None if ckpt.config.model.features_in_model else FeatureExtractor(ckpt.config.audio,
                                                                                 ckpt.config.features)
    return WaveformModel(model, frontend).eval(), ckpt


def _trace(module: nn.Module, example: torch.Tensor, path: Path, input_name: str, output_name: str) -> Path:
    """Legacy (TorchScript) exporter, opset 17, dynamic batch."""
    kwargs = dict(input_names=[input_name], output_names=[output_name], opset_version=OPSET,
                  dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}})
    with torch.no_grad():
        try:
            torch.onnx.export(module, (example,), str(path), dynamo=False, **kwargs)
        except TypeError:  # torch < 2.5 has no dynamo argument (legacy exporter is the default)
            torch.onnx.export(module, (example,), str(path), **kwargs)
    return path


def per_window_frontend(frontend, network):
    """One ONNX graph: a Loop runs the front-end graph on one waveform row at a time (its STFT then stays in
    cache: ~2x faster per window in ONNX Runtime than the whole batch at once), stacks the features, and the
    network graph runs on the whole batch. frontend: waveform -> features; network: features -> probabilities."""
    import onnx
    from onnx import TensorProto, compose, helper

    fe, net = compose.add_prefix(frontend, "frontend/"), compose.add_prefix(network, "network/")
    fe_in, fe_out = fe.graph.input[0].name, fe.graph.output[0].name
    i64 = lambda name, values: helper.make_node(  # noqa: E731
        "Constant", [], [name], value=helper.make_tensor(name, TensorProto.INT64, [len(values)], values))
    body = helper.make_graph(
        [i64("axis0", [0]), i64("one", [1]),
         helper.make_node("Unsqueeze", ["row", "axis0"], ["start"]),
         helper.make_node("Add", ["start", "one"], ["stop"]),
         helper.make_node("Slice", ["waveform", "start", "stop", "axis0"], [fe_in]),
         *fe.graph.node, helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "frontend_one_row",
        [helper.make_tensor_value_info("row", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info(fe_out, TensorProto.FLOAT, None)],
        initializer=list(fe.graph.initializer))
    true = helper.make_tensor("true", TensorProto.BOOL, [], [True])
    nodes = [helper.make_node("Shape", ["waveform"], ["shape"], start=0, end=1),
             helper.make_node("Squeeze", ["shape"], ["rows"]),
             helper.make_node("Constant", [], ["cond"], value=true),
             helper.make_node("Loop", ["rows", "cond"], ["stacked"], body=body),   # (rows, 1, C, H, T)
             i64("axis1", [1]),
             helper.make_node("Squeeze", ["stacked", "axis1"], [net.graph.input[0].name]),
             *net.graph.node,
             helper.make_node("Identity", [net.graph.output[0].name], ["probabilities"])]
    wave, probs = onnx.ValueInfoProto(), onnx.ValueInfoProto()
    wave.CopyFrom(frontend.graph.input[0])
    probs.CopyFrom(network.graph.output[0])
    graph = helper.make_graph(nodes, "kit_waveform_to_probabilities", [wave], [probs],
                              initializer=list(net.graph.initializer))
    model = helper.make_model(graph, opset_imports=list(net.opset_import), ir_version=net.ir_version,
                              producer_name="kit")
    return model


def export_onnx(checkpoint, out_path, batch_size: int = 2, stft: str = "auto", frontend_loop: bool = True) -> Path:
    """Write the ONNX graph (dynamic batch) and return its path; the file is written then renamed.

    stft: "fft", "onnx" (ONNX's STFT operator), "dft" (conv1d), or "auto" (fft, falling back to dft).
    frontend_loop: run the front-end one window at a time inside the graph (faster on CPUs); False traces the
    whole model on the batch at once."""
    import tempfile

    from kit.utils import atomic_write_bytes

    with tempfile.TemporaryDirectory(prefix="kit-export-") as tmp_name:
        tmp = Path(tmp_name)
        if not frontend_loop:
            data = _with_stft(stft, lambda s: _export_flat(checkpoint, tmp, batch_size, s)).read_bytes()
        else:
            import onnx

            parts = export_parts(checkpoint, tmp, batch_size, stft)
            model = per_window_frontend(onnx.load(str(parts["frontend"])), onnx.load(str(parts["network"])))
            model.graph.output[0].type.tensor_type.shape.dim[1].dim_value = len(parts["checkpoint"].labels)
            onnx.checker.check_model(model)
            data = model.SerializeToString()
        atomic_write_bytes(out_path, data)
    return Path(out_path)


def _with_stft(stft: str, export):
    """export(stft) with stft="auto" meaning fft, falling back to the DFT conv1d on an exporter too old."""
    if stft != "auto":
        return export(stft)
    try:
        return export("fft")
    except Exception as exc:  # an exporter too old for the ops used
        warnings.warn(f"factorized-FFT front-end did not export ({type(exc).__name__}: {exc}); using the DFT conv1d")
        return export("dft")


def _export_flat(checkpoint, folder: Path, batch_size: int, stft: str) -> Path:
    from kit.features import mel_step_of

    wrapper, ckpt = waveform_model(checkpoint)
    example = torch.zeros(batch_size, ckpt.config.audio.crop_samples)
    with mel_step_of(wrapper, stft):
        return _trace(wrapper, example, folder / "m.onnx", "waveform", "probabilities")


def export_parts(checkpoint, folder, batch_size: int = 2, stft: str = "auto", frontend: bool = True) -> dict:
    """The two graphs of a member in `folder`: {"frontend": waveform (batch, samples) -> features (batch, C, H,
    T), "network": features -> probabilities (batch, classes), "checkpoint": the Checkpoint}. Members whose
    audio and feature configs are equal share one front-end (kit.infer); int8 quantizes the network only.
    frontend=False skips the front-end (its tracing is most of an export's time: ~5 s even for a tiny model)."""
    return _with_stft(stft, lambda s: _export_parts(checkpoint, Path(folder), batch_size, s, frontend))


def _export_parts(checkpoint, folder: Path, batch_size: int, stft: str, with_frontend: bool) -> dict:
    from kit.features import mel_step_of

    wrapper, ckpt = waveform_model(checkpoint)
    example = torch.zeros(batch_size, ckpt.config.audio.crop_samples)
    folder.mkdir(parents=True, exist_ok=True)
    with mel_step_of(wrapper, stft):
        frontend = (wrapper.frontend or wrapper.model.frontend).eval()  # (batch, samples) -> features
        with torch.no_grad():
            feats = frontend(example[:1])
        saved, wrapper.model.frontend = wrapper.model.frontend, None
        try:
            net = _trace(FeaturesToProbs(wrapper.model).eval(), feats.expand(batch_size, *feats.shape[1:]),
                         folder / "network.onnx", "features", "probabilities")
        finally:
            wrapper.model.frontend = saved
        fe = _trace(frontend, example[:1], folder / "frontend.onnx", "waveform", "features") if with_frontend else None
    return {"frontend": fe, "network": net, "checkpoint": ckpt}


def onnx_session(onnx_path, threads: int = 0, spin: bool = True):
    """ONNX Runtime CPU session. spin=False stops its threads spin-waiting after a run (when other work, such
    as decoding, needs the cores in between)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


ROWS_PER_RUN = 4  # ONNX Runtime on the CPU runs an efficientnet_b0 ~1.4x faster per window on 4 rows at a time
#                  than on 32 (the activations stay in cache); README, Submission.


def in_runs(run, waves: np.ndarray, rows_per_run: int = ROWS_PER_RUN) -> np.ndarray:
    """run((rows, samples) float32) -> (rows, classes), called on `rows_per_run` rows at a time."""
    waves = np.ascontiguousarray(waves, dtype=np.float32)
    if len(waves) <= rows_per_run:
        return run(waves)
    return np.concatenate([run(waves[i:i + rows_per_run]) for i in range(0, len(waves), rows_per_run)])


def onnx_probs(session, waves: np.ndarray, rows_per_run: int = ROWS_PER_RUN) -> np.ndarray:
    """(batch, samples) waveforms -> (batch, classes) probabilities, run `rows_per_run` rows at a time."""
    return in_runs(lambda w: session.run(None, {"waveform": w})[0], waves, rows_per_run)


class OnnxModel:
    """Stands in for a member's torch model in kit.infer (`predict --runtime onnx`): the checkpoint exported
    to ONNX in a temporary folder (deleted once loaded) and run by ONNX Runtime on the CPU."""

    outputs_probabilities = True

    def __init__(self, checkpoint, spin: bool = False):
        import tempfile

        with tempfile.TemporaryDirectory(prefix="kit-onnx-") as tmp:
            self._load(export_onnx(checkpoint, Path(tmp) / "model.onnx"), spin)

    def _load(self, onnx_path: Path, spin: bool) -> None:
        self.session = session = onnx_session(onnx_path, spin=spin)
        self.run = lambda w: session.run(None, {"waveform": w})[0]

    def __call__(self, x: torch.Tensor, valid_samples=None) -> torch.Tensor:
        """x (batch, 1, samples) -> (batch, classes) probabilities (valid_samples: unused, one crop per row)."""
        return torch.from_numpy(in_runs(self.run, x.reshape(x.shape[0], -1).cpu().numpy()))


class OnnxFrontend:
    """The front-end graph of `export_parts` as a callable for kit.infer's shared front-end: x (batch, 1, samples)
    -> features (batch, 1, C, H, T), one window per run (its STFT stays in cache, as in the Loop graph)."""

    def __init__(self, onnx_path, spin: bool = False):
        self.session = onnx_session(onnx_path, spin=spin)

    def __call__(self, x: torch.Tensor, valid_samples=None) -> torch.Tensor:
        waves = np.ascontiguousarray(x.reshape(x.shape[0], -1).cpu().numpy(), dtype=np.float32)
        feats = np.concatenate([self.session.run(None, {"waveform": waves[i:i + 1]})[0] for i in range(len(waves))])
        return torch.from_numpy(feats)[:, None]


class OnnxNetwork:
    """The network graph of `export_parts` (fp32, or int8 from kit.export.quantize): features (batch, 1, C, H,
    T) -> probabilities (batch, classes), `rows_per_run` rows per ONNX Runtime run."""

    outputs_probabilities = True
    takes_features = True

    def __init__(self, onnx_path, spin: bool = False, session=None):
        self.path = str(onnx_path)
        self.session = session or onnx_session(onnx_path, spin=spin)
        name = self.session.get_inputs()[0].name
        self.run = lambda f: self.session.run(None, {name: f})[0]

    def __call__(self, feats: torch.Tensor, valid_samples=None) -> torch.Tensor:
        flat = feats.reshape(feats.shape[0], *feats.shape[-3:]).cpu().numpy()
        return torch.from_numpy(in_runs(self.run, flat))


class OpenVinoModel(OnnxModel):
    """`predict --runtime openvino`: the exported graph compiled by OpenVINO for the CPU (an optional package).
    In float32: OpenVINO's default on CPUs with bfloat16 units is bfloat16 (here 1.4x faster, probabilities
    7e-5 off), which would break "the submission reproduces the validation path"."""

    def _load(self, onnx_path: Path, spin: bool) -> None:
        ov = _openvino()
        compiled = ov.Core().compile_model(ov.convert_model(str(onnx_path)), "CPU",
                                           {"INFERENCE_PRECISION_HINT": "f32"})
        self.run = lambda w: compiled([w])[0]


def _openvino():
    try:
        import openvino as ov
    except ImportError as exc:
        raise RuntimeError("OpenVINO skipped: the `openvino` package is not installed (pip install openvino to "
                           "enable it; ONNX export and --runtime onnx do not need it)") from exc
    return ov


def export_openvino(onnx_path, out_xml) -> Path:
    """Convert the ONNX file to OpenVINO IR; a clear error when openvino is not installed."""
    ov = _openvino()
    ov.save_model(ov.convert_model(str(onnx_path)), str(out_xml))
    return Path(out_xml)


def parity(checkpoint, onnx_path, audio_path, n_windows: int = 2) -> float:
    """Max |eager - ONNX| probability on the first windows of a real recording."""
    from kit.audio import iter_windows

    wrapper, ckpt = waveform_model(checkpoint)
    batch = next(iter(iter_windows(audio_path, ckpt.config.audio, n_windows)))
    with torch.inference_mode():
        eager = wrapper(torch.from_numpy(batch.crops)).numpy()
    return float(np.abs(eager - onnx_probs(onnx_session(onnx_path), batch.crops)).max())


def cli(argv) -> int:
    from kit.export.quantize import CALIBRATE_METHODS

    parser = argparse.ArgumentParser(prog="python -m kit export", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out", required=True, help="ONNX file to write, e.g. model.onnx (int8: best.int8.onnx "
                                                     "beside best.ckpt is where predict --precision int8 looks)")
    parser.add_argument("--openvino", action="store_true", help="also write OpenVINO IR (<out>.xml) if installed")
    parser.add_argument("--stft", choices=["auto", "fft", "onnx", "dft"], default="auto",
                        help="STFT in the graph: factorized FFT as matmuls, ONNX's STFT operator, a DFT conv1d, "
                             "or auto (fft, else dft)")
    parser.add_argument("--no-frontend-loop", dest="frontend_loop", action="store_false",
                        help="trace one flat graph (front-end on the whole batch) instead of running the front-end "
                             "one window at a time in an ONNX Loop (faster on CPUs)")
    parser.add_argument("--check", metavar="AUDIO", help="report max |eager - ONNX| on this recording's windows")
    parser.add_argument("--precision", choices=["fp32", "int8"], default="fp32",
                        help="int8: the network only (features in), ONNX Runtime static quantization calibrated on "
                             "--calibrate's windows; reports its top-1 agreement with fp32")
    parser.add_argument("--calibrate", action="append", metavar="AUDIO_OR_DIR", help="int8 calibration audio")
    parser.add_argument("--calib-windows", type=int, default=128, help="int8: calibration windows (as many held out)")
    parser.add_argument("--calibrate-method", choices=CALIBRATE_METHODS, default=CALIBRATE_METHODS[0],
                        help="int8 activation ranges: the 99.999th percentile of the calibration values (default) "
                             "or their min/max (faster to quantize, lower agreement)")
    parser.add_argument("--competition", metavar="DIR", help="int8: also score fp32 and int8 on this "
                                                             "mini-competition (test_soundscapes/ + solution.csv)")
    args = parser.parse_args(argv)
    if args.precision == "int8":
        return _cli_int8(args)
    path = export_onnx(args.checkpoint, args.out, stft=args.stft, frontend_loop=args.frontend_loop)
    print(f"wrote {path} (waveform (batch, samples) -> probabilities)")
    if args.check:
        print(f"parity on {args.check}: max |eager - onnx| = {parity(args.checkpoint, path, args.check):.2e}")
    if args.openvino:
        try:
            print(f"wrote {export_openvino(path, Path(args.out).with_suffix('.xml'))}")
        except RuntimeError as exc:
            print(exc)
    return 0


def _cli_int8(args) -> int:
    from kit.export.quantize import export_int8

    r = export_int8(args.checkpoint, args.out, args.calibrate, args.calib_windows, args.competition,  # Int8Error:
                    args.calibrate_method)
    #   a ValueError, printed by kit.cli as `error: ...` (exit 2)
    hold = "-" if r["top1_agreement_holdout"] is None else f"{r['top1_agreement_holdout']:.3f}"
    print(f"wrote {r['out']} (int8 network: features (batch, C, H, T) -> probabilities; "
          f"{r['calibrate_method']} calibration)\n"
          f"  top-1 agreement with fp32: {hold} on {r['holdout_windows']} held-out windows, "
          f"{r['top1_agreement_calibration']:.3f} on {r['calibration_windows']} calibration windows; "
          f"max |fp32 - int8| = {r['max_abs_diff']:.3f}")
    if "cmap_delta" in r:
        print(f"  mini-competition ({r['competition_windows']} windows): padded cmAP fp32 {r['cmap_fp32']:.4f}, "
              f"int8 {r['cmap_int8']:.4f}, delta {r['cmap_delta']:+.4f}")
    return 0
