"""Stage 5, export: a checkpoint -> an ONNX graph (waveform in, probabilities out; OpenVINO IR when that
optional package is installed), and the Kaggle bundle (kit source + checkpoints as a dataset, the submission
notebook as a kernel).

`onnx` traces the model with the front-end's exportable `mel_step` (kit.features.stft), runs the front-end in
an ONNX Loop, and wraps ONNX Runtime / OpenVINO sessions as drop-in members for kit.infer (`OnnxModel`);
`quantize` makes int8 networks (ONNX Runtime static quantization, calibrated on real windows) with their
accuracy report, and the (front-end, network) pair of an ONNX member (`onnx_member`); `merge` puts K
networks in one graph (measured against K sessions); `bundle` writes and
uploads the Kaggle folders, never with credentials. Imports nothing from training.
"""
from kit.export.bundle import BundleError, make_bundle
from kit.export.merge import merge_networks, write_merged
from kit.export.onnx import (OnnxFrontend, OnnxModel, OnnxNetwork, OpenVinoModel, export_onnx, export_openvino,
                             export_parts, in_runs, onnx_probs, onnx_session, parity, waveform_model)
from kit.export.quantize import (INT8_SUFFIX, Int8Error, audio_sources, export_int8, int8_metadata, int8_path_for,
                                 load_int8, onnx_member, quantize_network, top1_agreement, window_features)

__all__ = ["export_onnx", "export_openvino", "export_parts", "waveform_model", "parity", "onnx_session", "onnx_probs",
           "in_runs", "OnnxModel", "OnnxFrontend", "OnnxNetwork", "OpenVinoModel", "make_bundle", "BundleError",
           "INT8_SUFFIX", "Int8Error", "export_int8", "int8_path_for", "load_int8", "onnx_member", "quantize_network",
           "top1_agreement", "window_features", "merge_networks", "write_merged", "audio_sources", "int8_metadata"]
