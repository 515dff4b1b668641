"""`kit pseudo-label --teacher MODEL`: a foreign model's soft labels and embeddings for every window of the given
recordings (train_audio and train_soundscapes), in kit's own formats.

Windows are kit's (kit.audio.iter_windows at 32 kHz, `window_s`), each fitted to the model by its adapter
(kit.foreign). The CSV is kit.softlabels' format, so `kit train --pseudo` and the rounds read it unchanged:
the competition's labels in order, the mapped ones holding sigmoid(teacher logit) (sharpened and filtered as
`kit pseudo-label` does), the unmatched ones left empty: masked in the loss (kit.train.losses), never a 0 that
teaches "absent". Its provenance names the teacher, the mapping and the embedding file (kit.foreign)
written beside it; the mapping report is printed and written beside it too (`<out>.mapping.txt`).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from kit.foreign import ForeignModelError


def label_map_for(model, data_dir, genus_fallback: bool = True):
    """The LabelMap of `model`'s classes onto the competition in data_dir (its labels, its taxonomy.csv)."""
    from kit.foreign import map_labels
    from kit.formats import TAXONOMY_NAME, competition_labels

    data_dir = Path(data_dir)
    if not (data_dir / TAXONOMY_NAME).is_file():
        raise ForeignModelError(f"{data_dir}: no {TAXONOMY_NAME} (primary_label, scientific_name): the teacher's "
                                f"classes are mapped to the labels by scientific name through it")
    labels = competition_labels(data_dir).labels
    origin = f"{getattr(model, 'class_names_path', model.path)} -> {data_dir / TAXONOMY_NAME}"
    return map_labels(model.class_names, data_dir / TAXONOMY_NAME, labels, genus_fallback, origin)


def write_mapping_report(label_map, out_path) -> Path:
    """Print the mapping report and write it to `<out_path>.mapping.txt`."""
    from kit.utils import atomic_write_text

    text = label_map.report()
    print(text, end="")
    return atomic_write_text(Path(str(out_path) + ".mapping.txt"), text)


def teacher_windows(model, files: list, sample_rate_hz: int = 32000, window_s: float = 5.0,
                    batch_windows: int = 16) -> tuple:
    """([(file index, end_s)], class logits (N, classes), embeddings (N, D) or None) of every window of `files`;
    an unreadable file is left out with a warning."""
    from kit.audio import AudioError, iter_windows
    from kit.config import AudioConfig
    from kit.utils import progress

    audio = AudioConfig(sample_rate_hz=sample_rate_hz, crop_s=window_s, window_s=window_s)
    keys, logits, embeds, bad = [], [], [], []
    for index, path in enumerate(progress(files, desc="teacher")):
        mine = []
        try:
            for batch in iter_windows(path, audio, batch_windows):
                z, e = model.windows(batch.crops, sample_rate_hz)
                mine.append(([(index, int(round(end))) for end in batch.end_s], z, e))
        except AudioError as exc:
            bad.append(f"{exc.path} ({exc.problem})")
            continue
        for k, z, e in mine:
            keys += k
            logits.append(z)
            embeds.append(e)
    if bad:
        warnings.warn(f"{len(bad)} recording(s) could not be read and have no teacher windows: " + "; ".join(bad[:10]))
    if not keys:
        raise ForeignModelError(f"{model.path}: no window of {len(files)} recording(s) could be computed")
    emb = None if any(e is None for e in embeds) else np.concatenate(embeds)
    return keys, np.concatenate(logits), emb


def teacher_pseudo_label(model, data_dir, sources, out_csv, genus_fallback: bool = True, power: float = 1.0,
                         threshold: float = 0.0, top_k: int = 0, min_confidence: float = 0.3,
                         window_s: float = 5.0, sample_rate_hz: int = 32000):
    """Write out_csv (soft labels), its embedding file and mapping report; returns the CSV's DataFrame."""
    import pandas as pd

    import kit
    from kit.foreign import embeddings_path, write_embeddings
    from kit.infer.pseudo import audio_files, sharpen
    from kit.softlabels import write_soft_labels

    sharpen(np.zeros((1, 1)), power, threshold, top_k)  # refuse bad settings before any work
    if not 0 <= min_confidence < 1:
        raise ValueError(f"need 0 <= min_confidence < 1; got {min_confidence}")
    label_map = label_map_for(model, data_dir, genus_fallback)
    write_mapping_report(label_map, out_csv)
    files = audio_files(sources)
    if not files:
        raise FileNotFoundError(f"no audio file (.ogg .wav .flac .mp3) in {', '.join(map(str, sources))}")
    keys, logits, emb = teacher_windows(model, files, sample_rate_hz, window_s)
    root = Path(os.path.commonpath([str(p.parent) for p in files]))
    names = [files[i].relative_to(root).as_posix() for i, _ in keys]
    ends = np.array([end for _, end in keys], dtype=np.int64)
    probs = label_map.probabilities(logits)
    matched = [label_map.labels.index(lab) for lab in label_map.matched]
    keep = probs[:, matched].max(axis=1) >= min_confidence
    if not keep.any():
        warnings.warn(f"{out_csv}: no window's top mapped probability reaches min_confidence={min_confidence}: "
                      f"the CSV holds no window; lower --min-confidence")
    values = probs[keep]
    values[:, matched] = sharpen(values[:, matched], power, threshold, top_k)
    frame = pd.DataFrame(values, columns=label_map.labels)
    frame.insert(0, "end_s", ends[keep])
    frame.insert(0, "filename", np.asarray(names, dtype=object)[keep])
    teacher = dict(model.describe(), class_names=str(getattr(model, "class_names_path", "")))
    emb_path = embeddings_path(out_csv) if emb is not None else None
    provenance = {"labels": label_map.labels, "root": str(root), "window_s": window_s, "power": power,
                  "threshold": threshold, "top_k": top_k, "min_confidence": min_confidence, "shift_s": 0.0,
                  "kit_version": kit.__version__, "files": len(files), "sources": [os.path.abspath(s) for s in sources],
                  "teacher": teacher, "mapping": label_map.as_dict(), "masked": label_map.unmatched,
                  "embeddings": str(emb_path) if emb_path else None}
    if emb is not None:
        write_embeddings(emb_path, names, ends, emb, dict(teacher, window_s=window_s, root=str(root),
                                                          csv=os.path.abspath(out_csv), kit_version=kit.__version__))
    write_soft_labels(out_csv, frame, provenance)
    return frame


def teach(teacher, teacher_labels, data_dir, out_csv, config, **model_options):
    """The training notebook's teacher step: the teacher's soft labels and embeddings of data_dir's
    train_audio/ and train_soundscapes/ (those present) into out_csv; returns `config` set to train on both
    (pseudo_csv, teacher_embeddings)."""
    from kit.foreign import embeddings_path, open_foreign_model

    model = open_foreign_model(teacher, teacher_labels, **model_options)
    sources = [Path(data_dir) / n for n in ("train_audio", "train_soundscapes") if (Path(data_dir) / n).is_dir()]
    teacher_pseudo_label(model, data_dir, sources, out_csv)
    sets = [f"pseudo_csv={os.path.abspath(out_csv)}"]
    if model.embedding_dim:
        sets.append(f"teacher_embeddings={os.path.abspath(embeddings_path(out_csv))}")
    return config.override(sets)


__all__ = ["teacher_pseudo_label", "teacher_windows", "label_map_for", "write_mapping_report", "teach"]
