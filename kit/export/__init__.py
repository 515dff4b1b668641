"""Stage 5, export: a checkpoint -> an ONNX graph (waveform in, probabilities out; OpenVINO IR when that
optional package is installed), and the Kaggle bundle (kit source + checkpoints as a dataset, the submission
notebook as a kernel).

`onnx` traces the model with the front-end's exportable `mel_step` (kit.features.stft), runs the front-end in
an ONNX Loop, and wraps ONNX Runtime / OpenVINO sessions as drop-in members for kit.infer (`OnnxModel`);
`bundle` writes and uploads the Kaggle folders, never with credentials. Imports nothing from training.
"""
from kit.export.bundle import BundleError, make_bundle
from kit.export.onnx import (OnnxModel, OpenVinoModel, export_onnx, export_openvino, in_runs, onnx_probs, onnx_session,
                             parity, waveform_model)

__all__ = ["export_onnx", "export_openvino", "waveform_model", "parity", "onnx_session", "onnx_probs", "in_runs",
           "OnnxModel", "OpenVinoModel", "make_bundle", "BundleError"]
