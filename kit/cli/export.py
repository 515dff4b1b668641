"""`python -m kit export`: a checkpoint -> an ONNX graph (kit.export), checked against eager on real audio
(kit.infer.parity); `--precision int8` writes the int8 network and its accuracy report (kit.infer.quantize_checkpoint).
"""
from __future__ import annotations

import argparse
from pathlib import Path

DESCRIPTION = "Export a checkpoint to ONNX (waveform in, probabilities out), or its int8 network."


def main(argv) -> int:
    from kit.export import CALIBRATE_METHODS

    parser = argparse.ArgumentParser(prog="python -m kit export", description=DESCRIPTION)
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
    from kit.export import export_onnx, export_openvino
    from kit.infer import parity

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
    from kit.infer import quantize_checkpoint

    r = quantize_checkpoint(args.checkpoint, args.out, args.calibrate, args.calib_windows, args.competition,
                    args.calibrate_method)  # Int8Error: printed by kit.cli as `error: ...`
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
