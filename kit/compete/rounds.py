"""`python -m kit train --pseudo CSV`: pseudo-label rounds in one call (self-training, as the 2025 winner's loop).

Round 1 trains on the labelled recordings and CSV's windows, starting from the teacher that made CSV
(kit.train.pseudo.start_from_teacher). Each further round re-labels the same recordings with the previous
round's best.ckpt, with the settings CSV records (power, threshold, top-k, min-confidence, shift, runtime:
kit.infer.pseudo_label, the submission path), and trains again from that round's weights:

    OUT/round_1/              round 1 (an ordinary run folder), ..., OUT/round_<R-1>/
    OUT/pseudo_round_<k>.csv  round k's labels (k >= 2), made by round k-1's best.ckpt
    OUT/                      the last round: OUT/best.ckpt is the model to submit, as with one round

`--rounds` defaults to 2 where the run starts from its teacher (README, "Two rounds in one call": on the `short`
and `esc50-mixed` proxies two rounds lift top-1 and ROC-AUC more than one; on `esc50`, whose teacher is near its
ceiling, rounds cost both: --rounds 1 there) and to 1 otherwise (a student of another backbone being distilled,
`pseudo_init=scratch`, `--folds`, torchrun). A finished round is kept when the command runs again (its
config.json must match: another config is refused, naming the folder); `--resume` continues the round that
stopped; `--stop-after` counts the epochs of this call over all its rounds.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

DEFAULT_ROUNDS = 2  # rounds of a self-training run (README: "Two rounds in one call")


class RoundsError(ValueError):
    """A rounds folder cannot be (re)used; the message names it."""


def self_training(config) -> bool:
    """True when a run with config.data.pseudo_csv starts from the teacher's weights (same model and front-end)."""
    from kit.train import start_from_teacher

    if not config.data.pseudo_csv:
        return False
    return start_from_teacher(config, lambda *_: None).model.pretrained_path != config.model.pretrained_path


def default_rounds(config, folds=None) -> int:
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    return DEFAULT_ROUNDS if self_training(config) and not folds and not distributed else 1


def _finished(run_dir: Path):
    """run.json's result when the run in run_dir trained all its epochs (config.json's), else None."""
    from kit.config import Config

    if not (run_dir / "run.json").is_file() or not (run_dir / "config.json").is_file():
        return None
    result = json.loads((run_dir / "run.json").read_text())
    epochs = Config.load(run_dir / "config.json").train.epochs
    return result if len(result.get("history", [])) >= epochs else None


def _check_kept(run_dir: Path, config) -> None:
    """Refuse a finished round made with another config (its config.json against this round's)."""
    from kit.config import Config
    from kit.train import start_from_teacher

    expected = start_from_teacher(config, lambda *_: None)
    changed = expected.differences(Config.load(run_dir / "config.json"))
    if changed:
        raise RoundsError(f"{run_dir}: holds a finished round of another config ({', '.join(sorted(changed))} "
                          f"differ); use a new --out folder, or the same settings to continue")


def relabel(checkpoint: Path, previous_csv, out_csv: Path, device: str = "auto") -> Path:
    """Label the recordings of previous_csv again with `checkpoint`, with the settings it records; kept when
    out_csv already holds that checkpoint's labels (newer than it)."""
    from kit.infer import pseudo_label
    from kit.softlabels import read_soft_labels

    checkpoint = Path(os.path.abspath(checkpoint))
    if out_csv.is_file() and out_csv.stat().st_mtime >= checkpoint.stat().st_mtime:
        if read_soft_labels(out_csv)[0].get("checkpoints") == [str(checkpoint)]:
            return out_csv
    provenance, frame = read_soft_labels(previous_csv)
    sources = provenance.get("sources")
    if not sources:  # a CSV of a kit before `sources` was recorded: the recordings it holds windows of
        root = Path(provenance.get("root", "."))
        sources = sorted({str(root / name) for name in frame["filename"]})
    missing = [s for s in sources if not Path(s).exists()]
    if missing:
        raise FileNotFoundError(f"{previous_csv}: the recordings it labelled are gone ({missing[0]}"
                                f"{f' and {len(missing) - 1} more' if len(missing) > 1 else ''}); cannot label them "
                                f"again for the next round")
    settings = {k: provenance[k] for k in ("power", "threshold", "top_k", "min_confidence", "shift_s", "runtime")
                if k in provenance}
    pseudo_label([checkpoint], sources, out_csv, device=device, **settings)
    return out_csv


def train_rounds(config, data, out_dir, rounds: int, resume: bool = False, log_path=None, stop_after=None) -> dict:
    """`rounds` pseudo-label rounds into out_dir (module docstring); returns the last round's train() result,
    with "rounds": [best.ckpt of each round] (a round that stopped early, --stop-after, ends the call)."""
    from kit.train import train

    if rounds < 1:
        raise ValueError(f"--rounds {rounds}: need at least 1")
    if rounds > 1 and not config.data.pseudo_csv:
        raise ValueError(f"--rounds {rounds} needs --pseudo CSV (the first round's labels)")
    if stop_after is not None and stop_after < 1:
        raise ValueError(f"--stop-after {stop_after}: need at least 1 epoch")
    out_dir, csv, bests, left = Path(out_dir), config.data.pseudo_csv, [], stop_after
    for k in range(1, rounds + 1):
        if left is not None and left <= 0:
            break
        run_dir = out_dir if k == rounds else out_dir / f"round_{k}"
        if k > 1:
            csv = str(relabel(bests[-1], csv, out_dir / f"pseudo_round_{k}.csv", config.train.device))
        round_config = config.override([f"pseudo_csv={csv}"])
        result = _finished(run_dir) if k < rounds else None
        if result is not None:
            _check_kept(run_dir, round_config)
            print(f"round {k}/{rounds}: kept the finished run in {run_dir}")
        else:
            go_on = resume and (run_dir / "last.ckpt").is_file()
            done_before = len(json.loads((run_dir / "run.json").read_text()).get("history", [])) \
                if go_on and (run_dir / "run.json").is_file() else 0
            print(f"round {k}/{rounds}: training into {run_dir} with {csv}")
            result = train(round_config, data, run_dir, resume=go_on, log_path=log_path, stop_after=left)
            if left is not None:
                left -= len(result.get("history", [])) - done_before
            if _finished(run_dir) is None:  # stopped early: --resume continues this round
                break
        bests.append(run_dir / "best.ckpt")
    return dict(result, rounds=[str(b) for b in bests])


def cli(argv) -> int:
    """`python -m kit train`: kit.train.loop's command line plus --rounds."""
    from kit.train import build_parser, command_config, run_command

    parser = build_parser()
    parser.add_argument("--teacher-embeddings", metavar="NPZ", help="also distil a foreign teacher's embeddings "
                        "(kit pseudo-label --teacher writes them; sets data.teacher_embeddings, kit.train.distill)")
    parser.add_argument("--rounds", type=int, metavar="R",
                        help=f"with --pseudo: R pseudo-label rounds in this call (default {DEFAULT_ROUNDS} when the "
                             f"run starts from the CSV's teacher, else 1); rounds 1..R-1 in OUT/round_<k>/")
    args = parser.parse_args(argv)
    if args.teacher_embeddings:
        args.set.append(f"teacher_embeddings={Path(args.teacher_embeddings).resolve()}")
    config = command_config(args)
    if args.rounds is not None and args.rounds > 1 and args.folds:
        raise ValueError(f"--rounds {args.rounds} with --folds: train the folds, pseudo-label with them, then run "
                         f"the rounds without --folds")
    rounds = default_rounds(config, args.folds) if args.rounds is None else args.rounds
    if rounds == 1:
        return run_command(args)
    result = train_rounds(config, args.data, args.out, rounds, args.resume, args.log, args.stop_after)
    print(f"best checkpoint: {result['best']} (round {len(result['rounds'])} of {rounds})")
    return 0


__all__ = ["cli", "train_rounds", "relabel", "default_rounds", "self_training", "DEFAULT_ROUNDS", "RoundsError"]
