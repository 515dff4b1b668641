"""Pseudo-label rounds in one call (`python -m kit train --pseudo CSV`; self-training, as the 2025 winner's loop).

Round 1 trains on the labelled recordings and CSV's windows, starting from the teacher that made CSV
(kit.train.resolve_config). Each further round labels the same recordings again with the previous round's
best.ckpt, with the labelling keys of the run's config (pseudo_min_confidence, pseudo_power, pseudo_threshold,
pseudo_top_k, pseudo_shift_s: those CSV was made with; kit.infer.pseudo_label, the submission path), and
trains again from that round's weights:

    OUT/round_1/              round 1 (an ordinary run folder), ..., OUT/round_<R-1>/
    OUT/pseudo_round_<k>.csv  round k's labels (k >= 2), made by round k-1's best.ckpt
    OUT/                      the last round: OUT/best.ckpt is the model to submit, as with one round

The number of rounds is the config's pseudo_rounds (`--rounds`): 2 where the run starts from its teacher, 1
otherwise (a student of another backbone being distilled, pseudo_init=scratch; docs/pseudo-labels.md, "Two
rounds in one call": on the `short` and `esc50-mixed` proxies two rounds lift top-1 and ROC-AUC more than one;
on `esc50`, whose teacher is near its ceiling, rounds cost both). A finished round is kept when the command runs
again (its config.json must match: another config is refused, naming the folder); `resume` continues the round
that stopped; `stop_after` counts the epochs of this call over all its rounds.
"""
from __future__ import annotations

import json
import os
from pathlib import Path


class RoundsError(ValueError):
    """A rounds folder cannot be (re)used; the message names it."""


def _finished(run_dir: Path):
    """run.json's result when the run in run_dir trained all its epochs (config.json's), else None."""
    from kit.config import Config

    if not (run_dir / "run.json").is_file() or not (run_dir / "config.json").is_file():
        return None
    result = json.loads((run_dir / "run.json").read_text())
    epochs = Config.load(run_dir / "config.json").train.epochs
    return result if len(result.get("history", [])) >= epochs else None


def _check_kept(run_dir: Path, effective) -> None:
    """Refuse a finished round made with another config (its config.json against this round's)."""
    from kit.config import Config

    changed = effective.differences(Config.load(run_dir / "config.json"))
    if changed:
        raise RoundsError(f"{run_dir}: holds a finished round of another config ({', '.join(sorted(changed))} "
                          f"differ); use a new --out folder, or the same settings to continue")


def relabel(checkpoint: Path, previous_csv, out_csv: Path, config, device: str = "auto") -> Path:
    """Label the recordings of previous_csv again with `checkpoint`, with the config's labelling keys
    (PseudoConfig.labelling) and the CSV's runtime; kept when out_csv already holds that checkpoint's labels."""
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
    pseudo_label([checkpoint], sources, out_csv, device=device, runtime=provenance.get("runtime", "torch"),
                 **config.pseudo.labelling())
    return out_csv


def _round(k: int, rounds: int, config, data, out_dir: Path, csv, resume, log_path, left):
    """(result, epochs trained by this call, finished?) of round k (kept, resumed or trained)."""
    from kit.pipeline.run import train_run
    from kit.train import resolve_config

    run_dir = out_dir if k == rounds else out_dir / f"round_{k}"
    round_config = config.override([f"pseudo_csv={csv}"])
    result = _finished(run_dir) if k < rounds else None
    if result is not None:
        _check_kept(run_dir, resolve_config(round_config, lambda *_: None))
        print(f"round {k}/{rounds}: kept the finished run in {run_dir}")
        return result, 0, True
    go_on = resume and (run_dir / "last.ckpt").is_file()
    done_before = len(json.loads((run_dir / "run.json").read_text()).get("history", [])) \
        if go_on and (run_dir / "run.json").is_file() else 0
    print(f"round {k}/{rounds}: training into {run_dir} with {csv}")
    result = train_run(round_config, data, run_dir, resume=go_on, log_path=log_path, stop_after=left)
    return result, len(result.get("history", [])) - done_before, _finished(run_dir) is not None


def train_rounds(config, data, out_dir, resume: bool = False, log_path=None, stop_after=None) -> dict:
    """The pseudo-label rounds of a config with pseudo_csv into out_dir (module docstring); returns the last
    round's result with "rounds": [best.ckpt of each round] (a round that stopped early ends the call)."""
    from kit.train import resolve_config

    if not config.pseudo.pseudo_csv:
        raise ValueError("pseudo-label rounds need --pseudo CSV (the first round's labels)")
    if stop_after is not None and stop_after < 1:
        raise ValueError(f"--stop-after {stop_after}: need at least 1 epoch")
    effective = resolve_config(config, lambda *_: None)
    rounds = effective.pseudo.pseudo_rounds
    config = config.override([f"pseudo_rounds={rounds}"] + [f"{k}={getattr(effective.pseudo, k)}" for k in
                              ("pseudo_min_confidence", "pseudo_power", "pseudo_threshold", "pseudo_top_k",
                               "pseudo_shift_s")])
    out_dir, csv, bests, left, result = Path(out_dir), config.pseudo.pseudo_csv, [], stop_after, {}
    for k in range(1, rounds + 1):
        if left is not None and left <= 0:
            break
        if k > 1:
            csv = str(relabel(bests[-1], csv, out_dir / f"pseudo_round_{k}.csv", config, config.train.device))
        result, trained, finished = _round(k, rounds, config, data, out_dir, csv, resume, log_path, left)
        left = None if left is None else left - trained
        if not finished:  # stopped early: --resume continues this round
            break
        bests.append(out_dir / f"round_{k}" / "best.ckpt" if k < rounds else out_dir / "best.ckpt")
    return dict(result, rounds=[str(b) for b in bests])


__all__ = ["train_rounds", "relabel", "RoundsError"]
