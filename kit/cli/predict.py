"""`python -m kit predict`: checkpoints + a competition's test_soundscapes -> submission.csv (kit.infer)."""
from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from kit.cli.common import add_inference_arguments, add_teacher_arguments, apply_inference_arguments, teacher_options
from kit.config import InferConfig

DESCRIPTION = "Write submission.csv for a competition's test_soundscapes (preprocessing from the checkpoints)."


def fit_members(args, teacher) -> None:
    """--fit-members: keep the first members that fit the test in the budget (the teacher's cost counted)."""
    from kit.infer import estimate_members, foreign_s_per_window, members_that_fit

    est = estimate_members(args.checkpoint, Path(args.data) / "test_soundscapes", args.budget_min,
                           args.test_windows, args.runtime, args.precision, probe_s=60.0)
    foreign_s = foreign_s_per_window(teacher, Path(args.data) / "test_soundscapes") if teacher else 0.0
    fit = members_that_fit(est.fixed_s_per_window + foreign_s, est.member_s_per_window, args.test_windows,
                           60 * args.budget_min) if teacher else est.members_that_fit
    keep = max(1, min(len(args.checkpoint), fit))
    print(f"members that fit {args.test_windows} windows in {args.budget_min:g} min here: "
          f"{fit} ({1e3 * est.fixed_s_per_window:.2f} ms per window decode + front-end, "
          f"{1e3 * est.member_s_per_window:.2f} ms per member"
          + (f", {1e3 * foreign_s:.1f} ms per window for the teacher" if teacher else "")
          + f"); using {keep} of {len(args.checkpoint)}")
    args.checkpoint = args.checkpoint[:keep]


def main(argv) -> int:
    from kit.checkpoint import load_checkpoint
    from kit.infer import infer_config_from, predict_competition

    parser = argparse.ArgumentParser(prog="python -m kit predict", description=DESCRIPTION)
    parser.add_argument("--checkpoint", action="append", required=True, help="checkpoint (repeat for an ensemble)")
    parser.add_argument("--data", required=True, help="competition folder with test_soundscapes/ and "
                                                      "sample_submission.csv (wide, or BirdCLEF 2022's long "
                                                      "row_id,target with scored_birds.json / test.csv)")
    parser.add_argument("--out", default="submission.csv", help="submission CSV to write (default: %(default)s)")
    parser.add_argument("--budget-min", type=float, default=90.0, help="time budget in minutes (default 90)")
    parser.add_argument("--runtime", choices=["torch", "onnx", "openvino"], default="torch",
                        help="torch; or onnx / openvino: each checkpoint exported and run by ONNX Runtime / OpenVINO "
                             "on the CPU (~1.5x eager for efficientnet_b0 on 2 cores; needs onnx + onnxruntime "
                             "[+ openvino])")
    parser.add_argument("--precision", choices=["fp32", "int8"], default="fp32",
                        help="int8: each member's network quantized (ONNX Runtime; <checkpoint>.int8.onnx from kit "
                             "export --precision int8, else quantized on load on windows of the soundscapes)")
    parser.add_argument("--separate", action="store_true", help="each member computes its own front-end (the "
                                                                "member-by-member path; default: shared per group)")
    parser.add_argument("--fit-members", action="store_true",
                        help="measure the members on a minute of the test soundscapes first and keep the first M that "
                             "fit --test-windows windows in --budget-min (kit.infer.estimate_members)")
    parser.add_argument("--test-windows", type=int, default=52_800,
                        help="with --fit-members: the test's windows (default: BirdCLEF 2024's 52,800)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override an InferConfig key: " + ", ".join(f.name for f in
                                                                         fields(InferConfig)))
    add_teacher_arguments(parser, blend=True)
    add_inference_arguments(parser)
    args = parser.parse_args(argv)
    apply_inference_arguments(args)
    infer = infer_config_from(load_checkpoint(args.checkpoint[0]).config.infer, args.set)
    teacher = None
    if args.teacher:  # a foreign model blended in (kit.infer.foreign_member)
        from kit.infer import load_foreign_blend

        teacher = load_foreign_blend(args.teacher, args.teacher_labels, args.data, args.teacher_weight,
                                     not args.no_genus, args.out, **teacher_options(args))
    if args.fit_members:
        fit_members(args, teacher)
    if teacher is not None:
        print(teacher.describe(len(args.checkpoint)))
    frame = predict_competition(args.checkpoint, args.data, args.out, args.budget_min, infer, args.device,
                                runtime=args.runtime, shared=not args.separate, precision=args.precision,
                                decode=args.decode, teacher=teacher)
    shape = "row_id,target" if list(frame.columns) == ["row_id", "target"] else f"{len(frame.columns) - 1} labels"
    print(f"wrote {args.out}: {len(frame)} rows x {shape}")
    return 0
