"""The config a run trains with, built once from the user's (defaults, files, `--set`) and the pseudo-label rules,
then saved whole in config.json and every checkpoint: what is saved is what ran, nothing is swapped at run time.

For a run with `pseudo_csv` (kit train --pseudo CSV):
1. the labelling keys (pseudo_min_confidence, pseudo_power, pseudo_threshold, pseudo_top_k, pseudo_shift_s) are
   those the CSV was made with (its provenance line), so the run says how its labels were made and a next round
   labels again the same way;
2. `mixup_p` becomes `pseudo_mixup_p` (0.5): mixing soundscape windows into the clips is what makes pseudo labels
   help (docs/pseudo-labels.md);
3. with pseudo_init=teacher and no pretrained_path of its own, the run starts from the weights of the checkpoint
   that made the CSV (the first of an ensemble) and trains pseudo_epoch_frac x epochs; a teacher of another
   backbone or preprocessing (a student being distilled) or one no longer readable: from scratch, said in the log;
4. pseudo_rounds=0 (the default) becomes 2 when the run starts from its teacher (self-training), else 1.
Applying it to its own result changes nothing, so kit.train.train applies it again safely.
"""
from __future__ import annotations

import dataclasses

DEFAULT_ROUNDS = 2  # rounds of a self-training run (docs/pseudo-labels.md: "Two rounds in one call")
LABELLING = {"min_confidence": "pseudo_min_confidence", "power": "pseudo_power", "threshold": "pseudo_threshold",
             "top_k": "pseudo_top_k", "shift_s": "pseudo_shift_s"}


def _teacher_config(teacher, log):
    """The teacher checkpoint's Config, or None (said in the log) when it cannot be read."""
    from kit.checkpoint import CheckpointError, load_checkpoint

    try:
        return load_checkpoint(teacher).config
    except CheckpointError as exc:
        log(f"pseudo labels: their teacher cannot be read ({exc}): training from scratch")
        return None


def start_from_teacher(config, teacher, log=print):
    """Rule 3 of the module docstring: config with pretrained_path = teacher and the round's epochs, or unchanged."""
    if config.pseudo.pseudo_init != "teacher" or config.model.pretrained_path:
        return config
    if teacher is None:
        log(f"pseudo labels: {config.pseudo.pseudo_csv} names no teacher checkpoint: training from scratch")
        return config
    theirs = _teacher_config(teacher, log)
    if theirs is None:
        return config
    mine = dataclasses.replace(config.model, pretrained_path=None)
    if (dataclasses.replace(theirs.model, pretrained_path=None) != mine or theirs.audio != config.audio
            or theirs.features != config.features):
        log(f"pseudo labels: their teacher {teacher} has another backbone or preprocessing: training from scratch")
        return config
    epochs = max(1, int(round(config.pseudo.pseudo_epoch_frac * config.train.epochs)))
    log(f"pseudo labels: starting from their teacher's weights ({teacher}), {epochs} epochs (pseudo_init, "
        f"pseudo_epoch_frac)")
    return config.override([f"pretrained_path={teacher}", f"epochs={epochs}"])


def resolve_config(config, log=print):
    """The effective config of a run (module docstring); unchanged for a run without pseudo_csv."""
    from kit.softlabels import read_soft_labels

    pseudo = config.pseudo
    if not pseudo.pseudo_csv:
        return config
    provenance, _ = read_soft_labels(pseudo.pseudo_csv)
    made_with = [f"{key}={provenance[name]}" for name, key in LABELLING.items() if name in provenance]
    config = config.override(made_with + [f"mixup_p={pseudo.pseudo_mixup_p}"])
    teacher = (provenance.get("checkpoints") or [None])[0]
    before = config.model.pretrained_path
    config = start_from_teacher(config, teacher, log)
    if config.pseudo.pseudo_rounds == 0:
        self_training = teacher is not None and config.model.pretrained_path == teacher != before
        config = config.override([f"pseudo_rounds={DEFAULT_ROUNDS if self_training else 1}"])
    return config


def self_training(config) -> bool:
    """True when an effective config (resolve_config's) starts from the teacher that made its pseudo labels."""
    from kit.softlabels import read_soft_labels

    if not config.pseudo.pseudo_csv:
        return False
    teacher = (read_soft_labels(config.pseudo.pseudo_csv)[0].get("checkpoints") or [None])[0]
    return teacher is not None and config.model.pretrained_path == teacher


__all__ = ["resolve_config", "start_from_teacher", "self_training", "DEFAULT_ROUNDS", "LABELLING"]
