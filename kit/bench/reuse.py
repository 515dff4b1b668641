"""`kit bench quality`: one training serving two proxies. The real-bird proxies xc-reed and xc-reed-field share
their split (the same training recordings; only the test setting differs), so a variant trained for one is scored
on the other's test without training again; its row says whose model it is."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from kit.config import Config


def training_data_key(comp: Path) -> str:
    """What a run trains on, hashed: train.csv (or train_metadata.csv), the label columns and every file of
    train_audio/ (names and bytes: the short proxy's clips carry the ESC-50 clips' names, cut to their events)."""
    digest = hashlib.sha1()
    meta = next((comp / n for n in ("train.csv", "train_metadata.csv") if (comp / n).is_file()), None)
    digest.update(meta.read_bytes() if meta else b"")
    if (comp / "sample_submission.csv").is_file():
        with open(comp / "sample_submission.csv") as handle:
            digest.update(handle.readline().encode())
    for path in sorted(p for p in (comp / "train_audio").rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(comp)).encode() + hashlib.sha1(path.read_bytes()).digest())
    return digest.hexdigest()


def same_training(out_dir: Path, comp: Path, name: str, seed: int):
    """(proxy, run dir) of this variant and seed already trained on another proxy with the same training data
    (xc-reed and xc-reed-field share their split: only their test differs), or None."""
    key = training_data_key(comp)
    for other in sorted((out_dir / "data").glob(f"*_seed{seed}")):
        proxy = other.name.rsplit("_seed", 1)[0]
        run_dir = out_dir / "runs" / proxy / f"{name}_seed{seed}"
        if other != comp and (run_dir / "best.ckpt").is_file() and (run_dir / "run.json").is_file() \
                and training_data_key(other) == key:
            return proxy, run_dir
    return None


def predict_and_score(comp: Path, checkpoints: list, out_csv: Path, infer=None) -> dict:
    """predict_competition (the checkpoints as one ensemble) and its scores against comp/solution.csv."""
    from kit.compete import score_files
    from kit.infer import predict_competition

    predict_competition(checkpoints, comp, out_csv, infer=infer)
    return score_files(out_csv, comp / "solution.csv")


def reuse_run(comp: Path, run_dir: Path, shared_run: tuple, results) -> dict:
    """The row of a model trained for another proxy with the same training data, scored on this proxy's test."""
    proxy, other_dir = shared_run
    name, seed = other_dir.name.rsplit("_seed", 1)
    done = results[(results["proxy"] == proxy) & (results["variant"] == name) & (results["seed"] == int(seed))]
    row = done.iloc[0].to_dict() if len(done) else {"train_s": float("nan"), "changes": ""}
    config = Config.from_json((other_dir / "config.json").read_text())
    run_dir.mkdir(parents=True, exist_ok=True)
    for name_ in ("best.ckpt", "config.json", "run.json"):   # the pseudo rounds start from runs/<proxy>/defaults_*
        if not (run_dir / name_).exists():
            try:
                os.link(other_dir / name_, run_dir / name_)
            except OSError:
                shutil.copyfile(other_dir / name_, run_dir / name_)
    scores = predict_and_score(comp, [run_dir / "best.ckpt"], run_dir / "submission.csv", config.infer)
    return {"variant": name, "seed": int(seed), **scores, "train_s": row["train_s"],
            "best_epoch": json.loads((other_dir / "run.json").read_text())["best_epoch"],
            "changes": f"{row['changes']} (the model of {proxy}: same training data)".strip()}


__all__ = ["training_data_key", "same_training", "reuse_run", "predict_and_score"]
