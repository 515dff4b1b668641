"""`python -m kit demo`: clips -> mini-competition -> train -> submission.csv -> score -> report, end to end.

With no arguments the clips are synthetic calls (kit.synth, 10 classes); `--clips CSV` uses real labelled
clips (`filename,label`) instead. The submission is written by kit.infer.predict_competition, the code
path of the submission notebook, and scored by kit.score against the competition's solution.csv. A
logistic-regression baseline (kit.baseline) is scored on the same windows. Everything lands in --out
(default ./demo_out): report.md, results.csv, per-class AP plots, training curves, checkpoints.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kit.config import Config
from kit.utils import atomic_write_csv


@dataclass(frozen=True)
class DemoPlan:
    n_classes: int = 10
    clips_per_class: int = 16
    clip_s: float = 5.0
    n_soundscapes: int = 4
    soundscape_s: float = 60.0
    epochs: int = 12
    cnn_channels: tuple = (16, 32, 64)
    n_mels: int = 64
    style: str = "kit"                # or birdclef2026: BirdCLEF+ 2026's layout (kit.compete.layout2026)
    labelled_soundscapes: int = 0     # train soundscapes with train_soundscapes_labels.csv rows (trained on)


QUICK = DemoPlan(n_classes=5, clips_per_class=12, n_soundscapes=4, soundscape_s=30.0, epochs=10,
                 cnn_channels=(8, 16, 32), n_mels=48)


def demo_config(plan: DemoPlan, backbone: str, seed: int, overrides=()) -> Config:
    """A small CPU-friendly config (5 s crops, tiny CNN, few epochs), then the user's --set overrides."""
    base = [f"backbone={backbone}", f"epochs={plan.epochs}", f"n_mels={plan.n_mels}",
            f"n_mfcc={min(plan.n_mels, 32)}", "n_fft=1024",
            "cnn_channels=" + ",".join(map(str, plan.cnn_channels)), "head_hidden=64", "rnn_hidden=64",
            "batch_size=8", "lr=1e-2", "warmup_frac=0.1", "valid_frac=0",
            f"seed={seed}", f"split_seed={seed}", "max_params_m=30", "over_budget=warn"]
    return Config().override(base + list(overrides))


def build(out_dir: Path, clips_csv, plan: DemoPlan, seed: int) -> Path:
    """Make (or reuse the given) clips, then the competition folder; returns it."""
    from kit.compete.competition import make_competition
    from kit.compete.synth import make_clip_set

    if clips_csv is None:
        clips_csv = make_clip_set(out_dir / "clips", plan.n_classes, plan.clips_per_class, plan.clip_s, seed=seed)
    comp_dir = out_dir / "competition"
    make_competition(clips_csv, comp_dir, plan.n_soundscapes, plan.soundscape_s, seed,
                     n_unlabeled=plan.labelled_soundscapes, style=plan.style, n_labelled=plan.labelled_soundscapes)
    return comp_dir


def train_and_submit(config: Config, comp_dir: Path, run_dir: Path) -> dict:
    """Train on comp_dir, write run_dir/submission.csv with predict_competition, score it; a result row."""
    from kit.compete.score import per_class_ap, score_files
    from kit.infer import predict_competition
    from kit.pipeline import train_run

    start = time.perf_counter()
    result = train_run(config, comp_dir, run_dir)
    train_s = time.perf_counter() - start
    submission = run_dir / "submission.csv"
    start = time.perf_counter()
    # the last epoch (end of the cosine schedule): with a handful of validation clips, "best" ties early
    frame = predict_competition([result["last"]], comp_dir, submission, infer=config.infer)
    infer_s = time.perf_counter() - start
    row = {"model": config.model.backbone, **score_files(submission, comp_dir / "solution.csv"),
           "train_min": train_s / 60, "windows_per_s": len(frame) / max(infer_s, 1e-9),
           "params": int(result.get("params", 0)), "valid_cmap": result["metrics"].get("cmap", float("nan")),
           "submission": str(submission), "checkpoint": str(result["last"])}
    from kit.compete.report import plot_per_class_ap

    plot_per_class_ap(per_class_ap(submission, comp_dir / "solution.csv"), run_dir / "per_class_ap.png",
                      f"per-class AP: {config.model.backbone}")
    return row


def chance_scores(comp_dir: Path) -> dict:
    """Scores of an uninformative submission: a constant one for cmAP / ROC-AUC, and the expected top-1 of
    a uniformly random guess (a constant's argmax would just pick the first column)."""
    from kit.compete.score import score_files

    solution = pd.read_csv(comp_dir / "solution.csv")
    truth = solution.drop(columns=["row_id"]).to_numpy()
    rows = truth.sum(axis=1) > 0
    scores = score_files(comp_dir / "sample_submission.csv", comp_dir / "solution.csv")
    scores["accuracy"] = float((truth[rows].sum(axis=1) / truth.shape[1]).mean()) if rows.any() else float("nan")
    return {"model": "chance", **scores}


def run_demo(out_dir="demo_out", clips_csv=None, quick: bool = False, backbones=("cnn",), seed: int = 0,
             overrides=(), baseline: bool = True, plan: DemoPlan = None) -> dict:
    """The whole loop; returns {"rows": [result dicts], "report": path, "competition": path}."""
    from kit.compete.baseline import run_baseline
    from kit.compete.report import write_report

    plan = plan or (QUICK if quick else DemoPlan())
    out_dir = Path(out_dir)
    start = time.perf_counter()
    comp_dir = build(out_dir, clips_csv, plan, seed)
    rows = [chance_scores(comp_dir)]
    if baseline:
        rows.append(run_baseline(comp_dir, out_dir / "baseline" / "submission.csv", seed=seed))
    images = {}
    for backbone in backbones:
        config = demo_config(plan, backbone, seed, overrides)
        run_dir = out_dir / "runs" / backbone.replace("/", "_").replace(":", "_")
        rows.append(train_and_submit(config, comp_dir, run_dir))
        images[f"training curves: {backbone}"] = run_dir / "curves.png"
        images[f"per-class AP: {backbone}"] = run_dir / "per_class_ap.png"
    info = json.loads((comp_dir / "competition.json").read_text())
    notes = [f"clips: {clips_csv or 'synthetic (kit.synth), ' + str(plan.n_classes) + ' classes'}; "
             f"{len(info['labels'])} labels, {len(info['train_clips'])} training clips, "
             f"{len(info['soundscape_clips'])} held-out clips in {plan.n_soundscapes} soundscapes of "
             f"{plan.soundscape_s:g} s", f"seed {seed}; total {(time.perf_counter() - start) / 60:.1f} min",
             "scores on the soundscape windows (solution.csv); train min includes validation; windows/s is "
             "predict_competition's throughput including decoding"]
    atomic_write_csv(pd.DataFrame(rows), out_dir / "results.csv")
    report = write_report(out_dir / "report.md", "kit demo", rows, images, notes)
    return {"rows": rows, "report": report, "competition": comp_dir}
