"""A foreign model (kit.foreign: Perch v2 as ONNX, BirdNET as TFLite) as a member of `kit predict`'s ensemble.

    python -m kit predict --checkpoint A.ckpt [--checkpoint B.ckpt] --data COMP --teacher MODEL
        --teacher-labels LABELS --teacher-weight 0.2

The member joins the first audio group of kit's members, so it reads the same decoded windows (one decode per
file for all); its adapter resamples and fits each window. Blend: a weighted average of probabilities, per
label, over the members that have the label: with N kit members each of weight 1 the foreign member's weight
is w N / (1 - w), so it makes w of each label it maps (w = --teacher-weight) and kit's members the rest; the
labels it does not map come from kit's members alone. It is the last member, so the budget guard drops it first
(after test-time augmentation); if the guard drops a kit member, the foreign share of the rest grows.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kit.infer.members import Member


class ForeignNetwork:
    """Member.model of a foreign member: (B, 1, samples) windows -> (B, mapped labels) probabilities."""

    outputs_probabilities = True

    def __init__(self, model, label_map, sample_rate_hz: int, window_samples: int):
        self.model, self.label_map = model, label_map
        self.sample_rate_hz, self.window_samples = int(sample_rate_hz), int(window_samples)
        self.columns = [label_map.labels.index(label) for label in label_map.matched]

    def __call__(self, x, valid_samples=None):
        import torch

        crops = x.reshape(len(x), -1).float().cpu().numpy()
        if crops.shape[1] > self.window_samples:  # a longer model input centred on the window: the window itself
            start = (crops.shape[1] - self.window_samples) // 2
            crops = crops[:, start:start + self.window_samples]
        logits, _ = self.model.windows(crops, self.sample_rate_hz)
        return torch.from_numpy(self.label_map.probabilities(logits)[:, self.columns])


def blend_weight(teacher_weight: float, n_members: int) -> float:
    """The foreign member's weight beside n_members kit members of weight 1, so it makes teacher_weight of the
    average of each label it maps."""
    if not 0 < teacher_weight < 1:
        raise ValueError(f"--teacher-weight {teacher_weight}: need 0 < weight < 1 (its share of the blend, e.g. 0.2)")
    return teacher_weight * max(1, n_members) / (1 - teacher_weight)


@dataclass
class ForeignBlend:
    """A foreign model, its label map onto the competition and its blend weight (kit.infer.predict_competition
    adds it to the loaded members with `member`)."""

    model: object
    label_map: object
    teacher_weight: float = 0.2

    def member(self, members: list) -> Member:
        config = members[0].config
        network = ForeignNetwork(self.model, self.label_map, config.audio.sample_rate_hz, config.audio.window_samples)
        return Member(str(self.model.path), network, config, list(self.label_map.matched), None,
                      weight=blend_weight(self.teacher_weight, len(members)))

    def describe(self, n_members: int) -> str:
        c = self.label_map.counts()
        return (f"teacher blend: probability average, {Path(str(self.model.path)).name} at weight "
                f"{self.teacher_weight:g} ({blend_weight(self.teacher_weight, n_members):.3g} beside {n_members} kit "
                f"member(s) of weight 1) on the {c['exact'] + c['genus']} labels it maps ({c['exact']} exact, "
                f"{c['genus']} by genus); the other {c['unmatched']} from kit's members alone")


def load_foreign_blend(teacher, teacher_labels, data_dir, teacher_weight: float = 0.2, genus_fallback: bool = True,
                       report_path=None, **model_options) -> ForeignBlend:
    """Open the model, map its classes onto data_dir's labels (report printed; written to report_path +
    '.mapping.txt' when given) and check the weight."""
    from kit.foreign import open_foreign_model
    from kit.infer.teacher import label_map_for, write_mapping_report

    blend_weight(teacher_weight, 1)  # refuse a bad weight before loading anything
    model = open_foreign_model(teacher, teacher_labels, **model_options)
    label_map = label_map_for(model, data_dir, genus_fallback)
    if report_path is not None:
        write_mapping_report(label_map, report_path)
    else:
        print(label_map.report(), end="")
    return ForeignBlend(model, label_map, teacher_weight)


def foreign_s_per_window(blend: ForeignBlend, audio, sample_rate_hz: int = 32000, window_s: float = 5.0,
                         windows: int = 8) -> float:
    """Seconds the foreign member takes per window here, measured on `windows` windows of the first readable
    recording of `audio` (a folder or files), after one warm-up call."""
    from kit.audio import AudioError, load_audio
    from kit.infer.pseudo import audio_files

    window = int(round(window_s * sample_rate_hz))
    for path in audio_files([audio] if isinstance(audio, (str, Path)) else audio):
        try:
            x = load_audio(path, sample_rate_hz, duration_s=windows * window_s)
        except AudioError:
            continue
        crops = np.resize(x, windows * window).reshape(windows, window)
        blend.model.windows(crops[:1], sample_rate_hz)
        start = time.perf_counter()
        blend.model.windows(crops, sample_rate_hz)
        return (time.perf_counter() - start) / windows
    raise ValueError(f"no readable audio in {audio} to measure the foreign member on")


__all__ = ["ForeignNetwork", "ForeignBlend", "blend_weight", "load_foreign_blend", "foreign_s_per_window"]
