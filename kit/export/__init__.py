"""Stage 5, export: a checkpoint -> graphs (waveform in, probabilities out, ONNX; OpenVINO IR when that optional
package is installed; int8 networks), and the Kaggle bundle (kit source + checkpoints as a dataset, the
submission notebook as a kernel). This stage writes files; running the graphs is kit.infer's (kit.infer.runtimes,
kit.infer.int8).

`onnx` traces the model with the front-end's exportable `mel_step` (kit.features.stft) and runs the front-end in
an ONNX Loop (`export_onnx`), or writes the front-end and the network as two graphs (`export_parts`); `quantize`
writes int8 networks (ONNX Runtime static quantization, calibrated on real windows); `merge` puts K networks in
one graph (measured against K sessions); `bundle` writes and uploads the Kaggle folders, never with
credentials. Imports nothing from training or inference.
"""
from kit.export.bundle import BundleError, make_bundle, upload
from kit.export.merge import merge_networks, write_merged
from kit.export.onnx import export_onnx, export_openvino, export_parts, openvino_module, waveform_model
from kit.export.quantize import (AGREEMENT_WARN, CALIB_WINDOWS, CALIBRATE_METHODS, INT8_SUFFIX, Int8Error,
                                 audio_sources, file_sha256, int8_metadata, int8_path_for, quantize_network,
                                 window_features)

__all__ = ["export_onnx", "export_openvino", "export_parts", "waveform_model", "openvino_module", "make_bundle",
           "BundleError", "upload", "INT8_SUFFIX", "Int8Error", "CALIBRATE_METHODS", "CALIB_WINDOWS", "AGREEMENT_WARN",
           "int8_path_for", "quantize_network", "window_features", "merge_networks", "write_merged", "audio_sources",
           "int8_metadata", "file_sha256"]
