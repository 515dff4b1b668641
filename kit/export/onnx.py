"""Export a checkpoint to ONNX: raw waveform (batch, samples) in, probabilities (batch, classes) out.

The mel front-end is inside the graph. The legacy exporter (dynamo=False, opset 17) cannot export
`torch.stft(return_complex=True)`, so while tracing, the front-end's `mel_step` is an equivalent mel
spectrogram of exportable ops (kit.features.stft: `fft`, the default, a factorized FFT of MatMul/Mul ops;
`onnx`, ONNX's STFT operator; `dft`, a conv1d). The front-end graph runs in an ONNX Loop, one window at a
time (its STFT then stays in cache), and the network graph on the whole batch; `frontend_loop=False` traces
one flat graph instead.
OpenVINO IR is written when that package is installed (it is optional). Running the graphs is kit.infer's
(kit.infer.runtimes).

    python -m kit export --checkpoint best.ckpt --out model.onnx [--openvino] [--check AUDIO] [--no-frontend-loop]
    python -m kit export --checkpoint best.ckpt --out best.int8.onnx --precision int8 --calibrate AUDIO_OR_DIR
"""
from __future__ import annotations

import warnings
from pathlib import Path

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


def openvino_module():
    try:
        import openvino as ov
    except ImportError as exc:
        raise RuntimeError("OpenVINO skipped: the `openvino` package is not installed (pip install openvino to "
                           "enable it; ONNX export and --runtime onnx do not need it)") from exc
    return ov


def export_openvino(onnx_path, out_xml) -> Path:
    """Convert the ONNX file to OpenVINO IR; a clear error when openvino is not installed."""
    ov = openvino_module()
    ov.save_model(ov.convert_model(str(onnx_path)), str(out_xml))
    return Path(out_xml)


__all__ = ["WaveformModel", "FeaturesToProbs", "waveform_model", "per_window_frontend", "export_onnx", "export_parts",
           "export_openvino", "openvino_module", "OPSET"]
