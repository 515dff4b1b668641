"""The whole semi-supervised loop in one call (the training notebook's loop setting): K fold models ->
pseudo-labels of the competition's train_soundscapes/ by their ensemble -> pseudo-label rounds from the first
fold's weights -> optionally a smaller student distilled from the last round on the soundscapes and the clips.

    OUT/folds/fold_<k>/, OUT/folds/oof.csv   the fold models and their out-of-fold score
    OUT/pseudo1.csv                          the folds' labels of train_soundscapes/
    OUT/rounds/                              the rounds (OUT/rounds/best.ckpt: the model to submit)
    OUT/teacher.csv, OUT/student/            with a student: the last round's labels of soundscapes + clips
"""
from __future__ import annotations

from pathlib import Path


def folds_then_rounds(config, data, out_dir, folds: int = 5, rounds=None, student=None, log_path=None) -> dict:
    """Run the loop of the module docstring; returns {"folds": OOF metrics, "best": the last round's best.ckpt,
    "student": the student's best.ckpt or None}. `rounds`: pseudo-label rounds (None: the config's rule);
    `student`: a backbone name, or None for no student."""
    from kit.infer import pseudo_label
    from kit.pipeline.folds import train_folds
    from kit.pipeline.rounds import train_rounds
    from kit.pipeline.run import train_run

    data, out_dir = Path(data), Path(out_dir)
    soundscapes = data / "train_soundscapes"
    if not soundscapes.is_dir():
        raise FileNotFoundError(f"{soundscapes}: the loop pseudo-labels the competition's unlabeled soundscapes; "
                                f"this data has none (train one model, or use --folds alone)")
    fold_result = train_folds(config, data, out_dir / "folds", folds, resume=True, log_path=log_path)
    teachers = [out_dir / "folds" / f"fold_{k}" / "best.ckpt" for k in range(folds)]
    csv = out_dir / "pseudo1.csv"
    pseudo_label(teachers, [soundscapes], csv, device=config.train.device, **config.pseudo.labelling())
    with_csv = config.override([f"pseudo_csv={csv}"] + ([f"pseudo_rounds={rounds}"] if rounds else []))
    best = train_rounds(with_csv, data, out_dir / "rounds", resume=True, log_path=log_path)["best"]
    out = {"folds": fold_result["metrics"], "best": best, "student": None}
    if student:
        sources = [soundscapes] + ([data / "train_audio"] if (data / "train_audio").is_dir() else [])
        pseudo_label([best], sources, out_dir / "teacher.csv", device=config.train.device,
                     **config.pseudo.labelling())
        student_config = config.override([f"backbone={student}", f"pseudo_csv={out_dir / 'teacher.csv'}"])
        out["student"] = train_run(student_config, data, out_dir / "student", log_path=log_path)["best"]
    return out


__all__ = ["folds_then_rounds"]
