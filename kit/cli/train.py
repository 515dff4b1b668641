"""`python -m kit train`: one run, K fold models (--folds) or pseudo-label rounds (--pseudo CSV), as
kit.pipeline.train_command does them."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from kit.cli.common import add_config_arguments, config_from_args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kit train", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a model; writes OUT/best.ckpt, last.ckpt, curves.png, config.json (the config that ran),\n"
                    "train.log, run.json and a row of the experiment log.\n"
                    "Multi-GPU: torchrun --nproc_per_node N -m kit train ... (batch_size is the global batch)")
    parser.add_argument("--data", required=True, help="BirdCLEF-layout folder or a filename,label CSV")
    parser.add_argument("--out", required=True, help="run folder")
    parser.add_argument("--resume", action="store_true", help="continue OUT/last.ckpt (same config and labels)")
    parser.add_argument("--log", help="experiment log CSV (default: OUT/../experiments.csv, + .md)")
    parser.add_argument("--folds", type=int, metavar="K", help="train K models on K folds (grouped by group_column, "
                                                             "stratified by label); writes OUT/fold_<k>/, oof.csv")
    parser.add_argument("--pseudo", metavar="CSV", help="also train on these pseudo-labelled windows (python -m kit "
                                                        "pseudo-label; sets pseudo_csv)")
    parser.add_argument("--valid", choices=["split", "soundscapes"],
                        help="validate on the held-out recordings (split) or on the labelled train soundscapes "
                             "(soundscapes: train_soundscapes_labels.csv, BirdCLEF+ 2026; sets valid_set)")
    parser.add_argument("--teacher-embeddings", metavar="NPZ", help="also distil a foreign teacher's embeddings "
                        "(kit pseudo-label --teacher writes them; sets teacher_embeddings, kit.train.distill)")
    parser.add_argument("--rounds", type=int, metavar="R",
                        help="with --pseudo: R pseudo-label rounds in this call (pseudo_rounds; default 2 when the run "
                             "starts from the CSV's teacher, else 1); rounds 1..R-1 in OUT/round_<k>/")
    parser.add_argument("--stop-after", type=int, metavar="EPOCHS",
                        help="stop this call after EPOCHS epochs (time-boxed sessions); --resume continues")
    add_config_arguments(parser)
    return parser


def main(argv) -> int:
    from kit.pipeline import train_command

    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    if args.pseudo:
        config = config.override([f"pseudo_csv={Path(args.pseudo).resolve()}"])
    if args.teacher_embeddings:
        config = config.override([f"teacher_embeddings={Path(args.teacher_embeddings).resolve()}"])
    if args.valid:
        config = config.override([f"valid_set={args.valid}"])
    if args.rounds is not None and args.rounds < 1:
        raise ValueError(f"--rounds {args.rounds}: need at least 1")
    if args.rounds is not None and args.rounds > 1 and not config.pseudo.pseudo_csv:
        raise ValueError(f"--rounds {args.rounds} needs --pseudo CSV (the first round's labels)")
    if args.stop_after is not None and args.stop_after < 1:
        raise ValueError(f"--stop-after {args.stop_after}: need at least 1 epoch")
    result = train_command(config, args.data, args.out, folds=args.folds, rounds=args.rounds, resume=args.resume,
                           stop_after=args.stop_after, log_path=args.log)
    if os.environ.get("RANK", "0") != "0":
        return 0
    if args.folds:
        print("fold checkpoints: " + ", ".join(str(Path(args.out) / f"fold_{k}" / "best.ckpt")
                                               for k in range(args.folds)))
    elif "rounds" in result:
        print(f"best checkpoint: {result['best']} (round {len(result['rounds'])})")
    else:
        print(f"best checkpoint: {result['best']}")
    return 0
