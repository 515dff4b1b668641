"""`python -m kit bench quality`: what the defaults train, measured on real audio, against baselines and an
ablation — a benchmark script, not a timed test.

For each proxy mini-competition (kit.compete.proxies: ESC-50 clips as they are, the same mixed over noise,
short calls in mostly-silent soundscapes) and each seed (a seed draws the held-out sources and the training
randomness), every variant trains with `kit.train.train` exactly as `python -m kit train --data D` would
(defaults plus the variant's overrides), predicts the test soundscapes with `kit.infer.predict_competition`
from best.ckpt (what a user submits), and is scored (top-1, macro ROC-AUC, padded cmAP). The logistic
regression on mean+std log-mel is scored beside them. Results land in OUT/results.csv (one row per run,
rewritten atomically after each run: an interrupted bench resumes where it stopped), OUT/summary.md (means
over seeds) and OUT/summary.png.

    python -m kit bench quality --out runs/quality [--proxies esc50,short] [--seeds 0,1] [--ablation]
        [--variant NAME=key=value,key=value ...] [--set key=value ...] [--pseudo-rounds N]
        [--pseudo-variant NAME=min_confidence=0.2,pseudo_epoch_frac=0.5 ...] [--student key=value,...]
"""
from __future__ import annotations

import functools
import time
from pathlib import Path

import pandas as pd

from kit.bench.reuse import predict_and_score, reuse_run, same_training
from kit.config import Config
from kit.utils import atomic_write_csv, atomic_write_text, shared_data_dir

METRICS = (("accuracy", "top-1"), ("roc_auc", "ROC-AUC"), ("cmap", "cmAP"))


def split_variant(text: str) -> tuple:
    """'name=key=value,key=value' -> (name, ['key=value', ...]); 'defaults' alone -> ('defaults', []). The name
    is what comes before the first '=' (so it cannot hold one); a piece without '=' continues the value before it
    (cnn_channels=8,16,32)."""
    name, _, rest = text.partition("=")
    assignments = []
    for piece in (p.strip() for p in rest.split(",") if p.strip()):
        if "=" in piece or not assignments:
            assignments.append(piece)
        else:
            assignments[-1] += "," + piece
    if not name or any("=" not in a for a in assignments):
        raise ValueError(f"--variant {text!r}: use NAME=key=value,key=value (or NAME alone for the defaults)")
    return name, assignments


def parse_variant(text: str) -> tuple:
    """split_variant, with the overrides checked against the config now, not after an hour of training."""
    name, assignments = split_variant(text)
    Config().override(assignments)
    return name, assignments


def parse_round_variant(text: str) -> tuple:
    """A --pseudo-variant: split_variant, checked with split_round_settings."""
    name, assignments = split_variant(text)
    split_round_settings(assignments)
    return name, assignments


def _done(results: pd.DataFrame, proxy: str, variant: str, seed: int) -> bool:
    if results.empty:
        return False
    hit = (results["proxy"] == proxy) & (results["variant"] == variant) & (results["seed"] == seed)
    return bool(hit.any())


def run_one(comp: Path, run_dir: Path, variant: str, assignments: list, seed: int, extra: list) -> dict:
    """Train (defaults + extra + the variant's overrides, seeded) as `kit train` does (one run), predict from
    best.ckpt, score: one row."""
    from kit.pipeline import train_run

    config = Config().override([*extra, *assignments, f"seed={seed}", f"split_seed={seed}"])
    if config.pseudo.pseudo_csv and config.pseudo.pseudo_rounds == 0:
        config = config.override(["pseudo_rounds=1"])  # one round per row (run_pseudo_rounds runs several)
    start = time.perf_counter()
    result = train_run(config, comp, run_dir, log_path=run_dir.parent / "experiments.csv")
    train_s = time.perf_counter() - start
    return {"variant": variant, "seed": seed, **predict_and_score(comp, [result["best"]], run_dir / "submission.csv",
                                                                   config.infer),
            "train_s": train_s, "best_epoch": result["best_epoch"], "changes": " ".join(assignments)}


def run_pseudo_rounds(comp: Path, runs: Path, seed: int, extra: list, rounds: int, sharpen: dict, results,
                      record) -> None:
    """The pseudo-label rounds after the defaults' run, as `kit train --pseudo CSV --rounds N` runs them
    (kit.pipeline.train_rounds, into runs/rounds<N>_seed<S>/): the defaults' model labels train_soundscapes/
    with the `sharpen` settings, then the rounds. Each round k is scored as a row "defaults + k pseudo round(s)"
    and, with the models of the rounds before it, as "ensemble of rounds 0-k" (record(row) stores them); rows
    already in `results` are skipped, finished rounds kept."""
    from kit.infer import pseudo_label
    from kit.pipeline import train_rounds

    proxy, teacher = comp.name.rsplit("_seed", 1)[0], runs / f"defaults_seed{seed}" / "best.ckpt"
    names = [f"defaults + {r} pseudo round{'s' if r > 1 else ''}" for r in range(1, rounds + 1)]
    if all(_done(results, proxy, n, seed) for n in names):
        return
    out = runs / f"rounds{rounds}_seed{seed}"
    csv = out / "pseudo_round_1.csv"
    if not csv.is_file():
        pseudo_label([teacher], [comp / "train_soundscapes"], csv, device="cpu", **sharpen)
    config = Config().override([*extra, f"seed={seed}", f"split_seed={seed}", f"pseudo_csv={csv}",
                                f"pseudo_rounds={rounds}"])
    start = time.perf_counter()
    bests = train_rounds(config, comp, out, log_path=runs / "experiments.csv")["rounds"]
    train_s = (time.perf_counter() - start) / max(1, len(bests))
    settings = ", ".join(f"{k} {v:g}" for k, v in sharpen.items())
    for r, best in enumerate(bests, start=1):
        if not _done(results, proxy, names[r - 1], seed):
            row = predict_and_score(comp, [best], Path(best).parent / "submission.csv")
            record({"variant": names[r - 1], "seed": seed, **row, "train_s": train_s, "best_epoch": 0,
                    "changes": f"round {r} of kit train --pseudo ({settings}) from {teacher}"})
        ensemble_name = f"ensemble of rounds 0-{r}"
        if not _done(results, proxy, ensemble_name, seed):
            members = [teacher] + [Path(b) for b in bests[:r]]
            scores = predict_and_score(comp, members, Path(best).parent / "ensemble_submission.csv")
            record({"variant": ensemble_name, "seed": seed, **scores, "train_s": 0.0, "best_epoch": 0,
                    "changes": "predict --checkpoint " + " --checkpoint ".join(map(str, members))})


PSEUDO_LABEL_KEYS = {"power": float, "threshold": float, "top_k": int, "min_confidence": float, "shift_s": float}


def split_round_settings(assignments: list) -> tuple:
    """A pseudo variant's 'key=value' list -> (pseudo-label keyword arguments, the training overrides): power /
    threshold / top_k / min_confidence / shift_s go to kit pseudo-label, the rest (pseudo_init, pseudo_epoch_frac,
    any config key) are config overrides, checked now."""
    label_kwargs, rest = {}, []
    for text in assignments:
        key, _, value = text.partition("=")
        if key.strip() in PSEUDO_LABEL_KEYS:
            label_kwargs[key.strip()] = PSEUDO_LABEL_KEYS[key.strip()](value)
        else:
            rest.append(text)
    Config().override(rest)
    return label_kwargs, rest


def run_round_variants(comp: Path, runs: Path, seed: int, extra: list, variants: list, results, record) -> None:
    """One pseudo round from the defaults' model per (name, assignments) variant (split_round_settings); rows
    'round 1: NAME'."""
    from kit.infer import pseudo_label

    teacher = runs / f"defaults_seed{seed}" / "best.ckpt"
    for name, assignments in variants:
        row_name = f"round 1: {name}"
        if _done(results, comp.name.rsplit("_seed", 1)[0], row_name, seed):
            continue
        label_kwargs, rest = split_round_settings(assignments)
        run_dir = runs / f"round_{name.replace(' ', '_')}_seed{seed}"
        csv = pseudo_label([teacher], [comp / "train_soundscapes"], run_dir / "pseudo.csv", device="cpu",
                           **label_kwargs)
        rest = [f"pseudo_csv={run_dir / 'pseudo.csv'}"] + rest  # starts from the teacher: pseudo_init's default
        row = run_one(comp, run_dir, row_name, rest, seed, extra)
        row["changes"] = f"{len(csv)} pseudo windows; " + " ".join(assignments)
        record(row)


def _ms_per_window(checkpoints: list) -> float:
    """Milliseconds per 5 s window of an ensemble on the CPU (the sum of its members', measured back to back)."""
    from kit.pipeline import infer_ms_per_window

    return sum(infer_ms_per_window(path, "cpu") for path in checkpoints)


def run_students(comp: Path, runs: Path, seed: int, extra: list, student: list, rounds: int, results,
                 record) -> None:
    """Distillation: the teacher (the defaults' model and its pseudo rounds, as one ensemble) labels every window
    of train_soundscapes/ and train_audio/; a student (defaults + `student` overrides) trains on those soft labels
    beside the true ones. Rows 'student (labels only)' (the same student without the teacher) and 'student
    (distilled)'; the changes column holds the teacher's and the student's ms per window, measured back to back."""
    from kit.infer import pseudo_label

    teacher = [runs / f"defaults_seed{seed}" / "best.ckpt"]
    rounds_dir = runs / f"rounds{rounds}_seed{seed}"
    teacher += [rounds_dir / f"round_{r}" / "best.ckpt" for r in range(1, rounds)] + [rounds_dir / "best.ckpt"] * (
        rounds > 0)
    for name, folder in (("student (labels only)", "student"), ("student (distilled)", "distilled")):
        if _done(results, comp.name.rsplit("_seed", 1)[0], name, seed):
            continue
        run_dir, assignments = runs / f"{folder}_seed{seed}", list(student)
        if folder == "distilled":
            sources = [s for s in (comp / "train_soundscapes", comp / "train_audio") if s.is_dir()]
            pseudo_label(teacher, sources, run_dir / "teacher.csv", device="cpu")
            assignments.append(f"pseudo_csv={run_dir / 'teacher.csv'}")
        row = run_one(comp, run_dir, name, assignments, seed, extra)
        teacher_ms, student_ms = _ms_per_window(teacher), _ms_per_window([run_dir / "best.ckpt"])
        row["changes"] = (f"{' '.join(student)}; teacher: {len(teacher)} model(s), {teacher_ms:.2f} ms/window; "
                          f"student {student_ms:.2f} ms/window")
        record(row)


def run_baseline_row(comp: Path, out_csv: Path, seed: int) -> dict:
    from kit.compete import run_baseline

    row = run_baseline(comp, out_csv, seed=seed)
    return {"variant": "logreg baseline", "seed": seed, "accuracy": row["accuracy"], "roc_auc": row["roc_auc"],
            "cmap": row["cmap"], "train_s": 60 * row["train_min"], "best_epoch": 0, "changes": ""}


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per (variant, proxy): one row per variant, columns '<proxy> <metric>' and train_s."""
    grouped = results.groupby(["variant", "proxy"], sort=False)
    means = grouped[[m for m, _ in METRICS] + ["train_s"]].mean()
    seeds = grouped["seed"].nunique()
    table = {}
    for (variant, proxy), row in means.iterrows():
        cells = table.setdefault(variant, {"variant": variant})
        for metric, title in METRICS:
            cells[f"{proxy} {title}"] = row[metric]
        cells[f"{proxy} train s"] = row["train_s"]
        cells["seeds"] = min(cells.get("seeds", 99), int(seeds[(variant, proxy)]))
    return pd.DataFrame(list(table.values()))


def markdown(summary: pd.DataFrame) -> str:
    cols = list(summary.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in summary.iterrows():
        cells = [f"{v:.3f}" if isinstance(v, float) and "train s" not in c else
                 (f"{v:.0f}" if isinstance(v, float) else str(v)) for c, v in row.items()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_summary(summary: pd.DataFrame, proxies: list, out_png: Path) -> Path:
    """One panel per proxy: top-1 and ROC-AUC bars per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(proxies), figsize=(5 * len(proxies), 0.35 * len(summary) + 1.5), squeeze=False)
    y = np.arange(len(summary))
    for ax, proxy in zip(axes[0], proxies):
        for offset, (title, color) in zip((-0.2, 0.2), (("top-1", "tab:blue"), ("ROC-AUC", "tab:orange"))):
            column = f"{proxy} {title}"
            if column in summary:
                ax.barh(y + offset, summary[column], height=0.4, color=color, label=title)
        ax.set_yticks(y, summary["variant"])
        ax.set_xlim(0, 1)
        ax.set_title(proxy)
        ax.invert_yaxis()
    axes[0][0].legend(loc="lower right")
    fig.tight_layout()
    buffer = __import__("io").BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    from kit.utils import atomic_write_bytes

    return atomic_write_bytes(out_png, buffer.getvalue())


def bench_quality(out_dir, proxies: list, seeds: list, variants: list, extra: list = (), shared=None,
                  baseline: bool = True, pseudo_rounds: int = 0, sharpen: dict = None,
                  student: list = (), round_variants: list = (), birds=None) -> pd.DataFrame:
    """Run every (proxy, seed, variant) not yet in OUT/results.csv, then the pseudo-label rounds and the
    students when asked; returns the summary table."""
    from kit.compete import build_proxy

    out_dir = Path(out_dir)
    results_csv = out_dir / "results.csv"
    state = {"results": pd.read_csv(results_csv) if results_csv.is_file() else pd.DataFrame()}

    def record(proxy: str, seed: int, row: dict) -> None:
        state["results"] = pd.concat([state["results"], pd.DataFrame([{"proxy": proxy, **row}])], ignore_index=True)
        atomic_write_csv(state["results"], results_csv)
        print(f"[quality] {proxy} seed {seed} {row['variant']}: top-1 {row['accuracy']:.3f} ROC-AUC "
              f"{row['roc_auc']:.3f} cmAP {row['cmap']:.3f} ({row['train_s']:.0f} s)", flush=True)

    for proxy in proxies:
        for seed in seeds:
            comp = build_proxy(proxy, shared or shared_data_dir(), out_dir / "data", seed, birds=birds)
            todo = ([("logreg baseline", None)] if baseline else []) + list(variants)
            for name, assignments in todo:
                if _done(state["results"], proxy, name, seed):
                    continue
                run_dir = out_dir / "runs" / proxy / f"{name}_seed{seed}"
                shared_run = same_training(out_dir, comp, name, seed) if assignments is not None else None
                record(proxy, seed, run_baseline_row(comp, run_dir / "submission.csv", seed) if assignments is None
                       else reuse_run(comp, run_dir, shared_run, state["results"]) if shared_run
                       else run_one(comp, run_dir, name, assignments, seed, list(extra)))
            if pseudo_rounds and (comp / "train_soundscapes").is_dir():
                run_pseudo_rounds(comp, out_dir / "runs" / proxy, seed, list(extra), pseudo_rounds, dict(sharpen or {}),
                                  state["results"], functools.partial(record, proxy, seed))
            if round_variants and (comp / "train_soundscapes").is_dir():
                run_round_variants(comp, out_dir / "runs" / proxy, seed, list(extra), list(round_variants),
                                   state["results"], functools.partial(record, proxy, seed))
            if student:
                run_students(comp, out_dir / "runs" / proxy, seed, list(extra), list(student), pseudo_rounds,
                             state["results"], functools.partial(record, proxy, seed))
    results = state["results"]
    rounds = [name for r in range(1, pseudo_rounds + 1)
              for name in (f"defaults + {r} pseudo round{'s' if r > 1 else ''}", f"ensemble of rounds 0-{r}")]
    rounds += [f"round 1: {name}" for name, _ in round_variants]
    rounds += ["student (labels only)", "student (distilled)"] if student else []
    wanted = ["logreg baseline"] * baseline + [n for n, _ in variants] + rounds
    results = results[results["variant"].isin(wanted) & results["proxy"].isin(proxies) & results["seed"].isin(seeds)]
    summary = summarize(results)
    summary["order"] = summary["variant"].map({n: i for i, n in enumerate(wanted)})
    summary = summary.sort_values("order").drop(columns="order").reset_index(drop=True)
    atomic_write_text(out_dir / "summary.md", markdown(summary))
    plot_summary(summary, proxies, out_dir / "summary.png")
    return summary


# (name, overrides): kit 0.1's defaults, then each part of the recipe off or swapped in turn
KIT_01 = ["pad_mode=wrap", "short_placement=start", "epochs=8", "ema_decay=0", "mixup_p=0", "noise_p=0", "shift_p=0",
          "empty_p=0", "specaug_p=0", "valid_frac=0.2"]
PLAIN = ["noise_p=0", "shift_p=0", "empty_p=0", "specaug_p=0", "ema_decay=0"]
ABLATION: list = [
    ("kit 0.1 defaults", KIT_01),
    ("mixup 0.5", ["mixup_p=0.5"]), ("no SpecAugment", ["specaug_p=0"]), ("no time shift", ["shift_p=0"]),
    ("no noise", ["noise_p=0"]), ("no empty items", ["empty_p=0"]), ("no EMA", ["ema_decay=0"]),
    ("20 % held out", ["valid_frac=0.2"]), ("pad wrap", ["pad_mode=wrap"]),
    ("short at start", ["short_placement=start"]),
    ("CE loss", ["loss=ce"]), ("focal loss", ["loss=focal"]), ("bce+ce loss", ["loss=bce+ce"]),
    ("SED head", ["head=sed"]), ("20 epochs", ["epochs=20"]), ("plain (no augmentation or EMA)", PLAIN),
]

__all__ = ["bench_quality", "parse_variant", "parse_round_variant", "summarize", "markdown", "ABLATION"]
