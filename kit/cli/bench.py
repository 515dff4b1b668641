"""`python -m kit bench {features,inference,quality}`: the benchmarks' command lines (kit.bench)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from kit.utils import shared_data_dir

BENCHES = ("features", "inference", "quality")


def _doc(function) -> str:
    """The docstring of the module that defines `function` (the benchmark's description)."""
    import inspect

    return inspect.getmodule(function).__doc__ or ""


def main(argv) -> int:
    if not argv or argv[0] not in BENCHES:
        print(f"usage: python -m kit bench {{{','.join(BENCHES)}}} [options]  (--help after the subcommand)")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    return {"features": features, "inference": inference, "quality": quality}[argv[0]](argv[1:])


def features(argv) -> int:
    from kit.bench import format_results, run_features_bench

    parser = argparse.ArgumentParser(prog="python -m kit bench features", description=_doc(run_features_bench),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(shared_data_dir()))
    parser.add_argument("--crops", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    results = run_features_bench(args.data, args.crops, args.repeats)
    print(f"features benchmark: {args.crops} real 5 s crops at 32 kHz, 128 mels, n_fft 2048, hop 500; "
          f"median of {args.repeats}; torch threads {torch.get_num_threads()}")
    print(format_results(results))
    return 0


def inference(argv) -> int:
    from kit.bench import bench_inference, inference_report

    parser = argparse.ArgumentParser(prog="python -m kit bench inference",
                                     description=_doc(bench_inference).split("\n")[0])
    parser.add_argument("--data", default=str(shared_data_dir()))
    parser.add_argument("--backbone", default="efficientnet_b0")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model-batches", type=int, default=4, help="batches timed for model-only and ONNX")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra config overrides")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--members", type=int, help="an ensemble of N members (ONNX Runtime): shared front-end vs "
                                                    "separate, int8 vs fp32, members that fit (kit.bench.ensemble)")
    parser.add_argument("--precision", choices=["fp32", "int8"], default="fp32", help="with --members: the "
                                                                                     "members' networks")
    parser.add_argument("--test-windows", type=int, default=52_800, help="with --members: test size (default: "
                                                                         "2024's 52,800 windows)")
    parser.add_argument("--budget-min", type=float, default=90.0, help="with --members: time budget (default 90)")
    parser.add_argument("--rounds", type=int, default=2, help="with --members: end-to-end rounds (default 2)")
    parser.add_argument("--calibrate", action="append", metavar="PATH", help="with --members: int8 calibration "
                        "audio (file or folder, repeatable; default: the shared field recordings), e.g. the trained "
                        "member's D/train_audio as kit export --calibrate")
    parser.add_argument("--holdout", action="append", metavar="PATH", help="with --members: audio whose windows "
                        "measure int8's top-1 agreement (default: every other shared ESC-50 clip), e.g. "
                        "D/test_soundscapes")
    args = parser.parse_args(argv)
    if args.members:
        from kit.bench import bench_ensemble, ensemble_report

        results = bench_ensemble(args.data, args.backbone, args.members, args.minutes, args.precision,
                                 args.batch_size, sets=args.set, test_windows=args.test_windows,
                                 budget_min=args.budget_min, rounds=args.rounds,
                                 model_batches=min(args.model_batches, 2), calibrate=args.calibrate,
                                 holdout=args.holdout)
        print(ensemble_report(results))
    else:
        results = bench_inference(args.data, args.backbone, args.minutes, args.batch_size, args.model_batches,
                                  sets=args.set)
        print(inference_report(results))
    if args.json:
        from kit.utils import atomic_write_text

        atomic_write_text(args.json, json.dumps(results, indent=2))
    return 0


def quality(argv) -> int:
    from kit.bench import ABLATION, bench_quality, markdown, parse_round_variant, parse_variant
    from kit.config import Config
    from kit.infer import MIN_CONFIDENCE

    parser = argparse.ArgumentParser(prog="python -m kit bench quality",
                                     description=_doc(bench_quality).split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/quality", help="output folder (results resume from it)")
    parser.add_argument("--data", default=str(shared_data_dir()), help="shared data folder (esc50/ inside)")
    parser.add_argument("--proxies", default="esc50,short", help="comma-separated: esc50, esc50-mixed, short, "
                                                                 "xc-reed, xc-reed-field (these two need --birds)")
    parser.add_argument("--birds", help="folder of real bird recordings for xc-reed* (docs/real-birds.md)")
    parser.add_argument("--seeds", default="0,1", help="comma-separated seeds (split + training)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=key=value,...",
                        help="a variant: the defaults plus these overrides (repeatable); 'defaults' is always run")
    parser.add_argument("--ablation", action="store_true", help="add the built-in ablation (each recipe part off)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override applied to every variant (e.g. epochs=5 for a quick look)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the logistic-regression baseline")
    parser.add_argument("--pseudo-rounds", type=int, default=0, metavar="N",
                        help="after the defaults, N rounds of pseudo-label train_soundscapes/ -> train --pseudo "
                             "(proxies that have unlabeled soundscapes: short)")
    parser.add_argument("--pseudo-power", type=float, default=1.0, help="sharpening of the pseudo labels")
    parser.add_argument("--pseudo-top-k", type=int, default=0, help="keep each window's k highest (0: all)")
    parser.add_argument("--pseudo-threshold", type=float, default=0.0, help="zero pseudo labels below this")
    parser.add_argument("--pseudo-min-confidence", type=float, default=MIN_CONFIDENCE,
                        help=f"leave out windows whose top probability is below this (default {MIN_CONFIDENCE}, "
                             f"kit pseudo-label's)")
    parser.add_argument("--pseudo-variant", action="append", default=[], metavar="NAME=key=value,...",
                        help="one pseudo round from the defaults' model with these settings (repeatable): "
                             "power/threshold/top_k/min_confidence (pseudo-label), any config key "
                             "(pseudo_init=scratch, pseudo_epoch_frac=0.5, ...)")
    parser.add_argument("--student", default="", metavar="key=value,...",
                        help="distillation: train this student (defaults + these overrides) with and without the "
                             "teacher's soft labels (the defaults' model and its pseudo rounds)")
    args = parser.parse_args(argv)
    variants = [("defaults", [])] + [parse_variant(v) for v in args.variant]
    if args.ablation:
        variants += [(n, a) for n, a in ABLATION if n not in dict(variants)]
    Config().override(args.set)
    summary = bench_quality(args.out, args.proxies.split(","), [int(s) for s in args.seeds.split(",")], variants,
                            args.set, Path(args.data), not args.no_baseline, args.pseudo_rounds,
                            dict(power=args.pseudo_power, top_k=args.pseudo_top_k, threshold=args.pseudo_threshold,
                                 min_confidence=args.pseudo_min_confidence),
                            parse_variant(f"student={args.student}")[1] if args.student else [],
                            [parse_round_variant(v) for v in args.pseudo_variant], args.birds)
    print(markdown(summary))
    print(f"wrote {Path(args.out) / 'summary.md'}, summary.png, results.csv")
    return 0
