"""Soundscape inference: checkpoints -> per-window probabilities -> submission.csv.

Each soundscape is cut into windows by kit.audio.iter_windows with the audio config *stored in the
checkpoint* (the submission path declares no preprocessing). Decoding overlaps the model (a background
thread) or, on a CPU the model fills, gets its own phase on every core (kit.audio.streaming); windows are
batched across files; memory holds a few batches, never a whole soundscape's spectrograms. Members (torch or
ONNX Runtime, fp32 or int8) live in kit.infer.members. Several checkpoints form an ensemble (probabilities
averaged per label; label lists aligned by name): each soundscape is decoded once per audio config, and the
members of one audio + feature config share one front-end per batch. Optional test-time augmentation
(`tta=shift`: average with the window circularly shifted by half its length) and smoothing across neighbouring
windows (`smooth_weights`) are InferConfig flags. A time-budget guard drops TTA, then ensemble members, when the
measured rate says they will not fit; rows it cannot compute get `fallback_prob` and a warning.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from kit.audio import audio_info, iter_audio_files, take_rows, window_count, window_stream
from kit.config import Config, ConfigError, InferConfig, resolve_key
from kit.formats import row_ids
from kit.infer.budget import BudgetGuard, BudgetPlan
from kit.infer.members import Runner, load_members


# ---------------------------------------------------------------------------------------------------
# one pass of a group of members (same audio config) over all files, under the budget guard
# ---------------------------------------------------------------------------------------------------
@dataclass
class _FileAcc:
    """Per soundscape: summed (weighted) member probabilities per window and label, the summed weights of the
    members that ran per window and label (members may have different label lists), what went wrong."""

    path: Path
    header_windows: Optional[int]
    n_windows: Optional[int] = None     # true count, once one pass read the whole file
    sums: Optional[np.ndarray] = None
    counts: Optional[np.ndarray] = None
    error: Optional[str] = None

    def add(self, first_row: int, probs: np.ndarray, counts: np.ndarray) -> None:
        end = first_row + len(probs)
        if self.sums is None:
            self.sums, self.counts = np.zeros((0, probs.shape[1]), np.float64), np.zeros((0, probs.shape[1]))
        if end > len(self.sums):
            grow = end - len(self.sums)
            self.sums = np.concatenate([self.sums, np.zeros((grow, probs.shape[1]))])
            self.counts = np.concatenate([self.counts, np.zeros((grow, probs.shape[1]))])
        self.sums[first_row:end] += probs
        self.counts[first_row:end] += counts


def _run_group(index: int, plan: BudgetPlan, files: list, accs: list, guard: Optional[BudgetGuard],
               decode: str = "auto") -> None:
    """Stream every file through the group's members until done, or until the budget runs out."""
    audio_cfg, runner = plan.groups[index]
    rows: dict = {fi: [] for fi in range(len(files))}
    buffer: list = []

    def run(n_rows: int) -> None:
        pieces = take_rows(buffer, n_rows)
        crops = pieces[0][2] if len(pieces) == 1 else np.concatenate([p[2] for p in pieces])
        valid = pieces[0][3] if len(pieces) == 1 else np.concatenate([p[3] for p in pieces])
        views = 2 if plan.tta == "shift" else 1
        probs, counts, n_members = runner(crops, valid, plan.tta)
        offset = 0
        for fi, row, piece, _ in pieces:
            rows[fi].append((row, probs[offset:offset + len(piece)], counts))
            offset += len(piece)
        plan.done_windows[index] += len(crops)
        plan.done_units += len(crops) * n_members * views
        if guard is not None:
            plan.shrink(guard)

    def go_on() -> bool:
        return bool(runner.active()) and (guard is None or not guard.expired())

    stream = window_stream(files, audio_cfg, runner.batch_size, runner.device, decode)
    try:
        for kind, fi, row, payload in stream:
            if not go_on():
                break
            if kind == "chunk":
                buffer.append((fi, row, payload[0], payload[1]))
            elif kind == "done":
                accs[fi].n_windows = row
            else:
                accs[fi].error = f"{type(payload).__name__}: {payload}"
                buffer[:] = [b for b in buffer if b[0] != fi]
            while sum(len(b[2]) for b in buffer) >= runner.batch_size and go_on():
                run(runner.batch_size)
        while buffer and go_on():
            run(runner.batch_size)
    finally:
        stream.close()
    for fi, pieces in rows.items():
        if accs[fi].error is None:
            for row, probs, counts in pieces:
                accs[fi].add(row, probs, counts)


# ---------------------------------------------------------------------------------------------------
# assembling rows
# ---------------------------------------------------------------------------------------------------
def smooth(probs: np.ndarray, weights) -> np.ndarray:
    """Weighted average over neighbouring windows (odd centred kernel, edges repeat the end window)."""
    if not weights or len(probs) < 2:
        return probs
    w = np.asarray(weights, dtype=np.float64)
    half = len(w) // 2
    padded = np.concatenate([np.repeat(probs[:1], half, 0), probs, np.repeat(probs[-1:], half, 0)])
    out = sum(w[j] * padded[j:j + len(probs)] for j in range(len(w)))
    return (out / w.sum()).astype(np.float32)


def _header_windows(path: Path, audio_cfg) -> Optional[int]:
    try:
        frames, file_hz, _ = audio_info(path)
    except Exception:
        return None
    return window_count(int(round(frames * audio_cfg.sample_rate_hz / file_hz)), audio_cfg)


def _file_rows(acc: _FileAcc, default_windows: int, infer: InferConfig, n_labels: int) -> tuple:
    """(probabilities (n, labels), computed mask (n,)) for one file; fallback where nothing ran."""
    n = acc.n_windows if acc.n_windows is not None and acc.error is None else acc.header_windows
    n = default_windows if n is None else n
    probs = np.full((n, n_labels), infer.fallback_prob, dtype=np.float32)
    done = np.zeros(n, dtype=bool)
    if acc.error is None and acc.sums is not None:
        m = min(n, len(acc.sums))
        counts = acc.counts[:m]
        done[:m] = counts.max(axis=1) > 0
        known = counts > 0  # a label no member that ran has keeps the fallback
        probs[:m][known] = (acc.sums[:m][known] / counts[known]).astype(np.float32)
        if done.all():
            probs = smooth(probs, infer.smooth_weights)
    return probs, done


def _assemble(files: list, accs: list, labels: list, infer: InferConfig, window_s: float):
    import pandas as pd

    known = [a.n_windows or a.header_windows for a in accs if (a.n_windows or a.header_windows)]
    default_windows = int(np.bincount(known).argmax()) if known else int(round(60 / window_s))
    ids, blocks, dones, failed, partial = [], [], [], [], []
    for path, acc in zip(files, accs):
        probs, done = _file_rows(acc, default_windows, infer, len(labels))
        ids += row_ids(path.stem, (np.arange(len(probs)) + 1) * window_s)
        blocks.append(probs)
        dones.append(done & (acc.error is None))
        if acc.error is not None:
            failed.append(f"{path} ({acc.error})")
        elif not done.all():
            partial.append(f"{path.name} ({int((~done).sum())} of {len(done)} windows)")
    if failed:
        warnings.warn(f"{len(failed)} soundscape(s) could not be read; their rows get fallback_prob="
                      f"{infer.fallback_prob}: " + "; ".join(failed))
    if partial:
        warnings.warn(f"time budget spent: rows not computed get fallback_prob={infer.fallback_prob}: "
                      + ", ".join(partial))
    values = np.concatenate(blocks) if blocks else np.zeros((0, len(labels)), np.float32)
    frame = pd.DataFrame(values, columns=labels)
    frame.insert(0, "row_id", ids)
    return WindowPredictions(frame=frame, files=list(files),
                             file_index=np.repeat(np.arange(len(blocks)), [len(b) for b in blocks]),
                             computed=np.concatenate(dones) if dones else np.zeros(0, bool))


@dataclass
class WindowPredictions:
    """What predict_windows returns: the rows, and for each row which file it is a window of and whether a model
    computed it (False: the fallback probability, for a bad file or a spent budget)."""

    frame: "object"                 # pandas DataFrame: row_id + one probability column per label
    files: list                     # the soundscapes, in the order file_index counts them
    file_index: np.ndarray          # (rows,) index into files
    computed: np.ndarray            # (rows,) bool
    notes: list = field(default_factory=list)  # what the budget guard dropped, in words


def _list_files(folder) -> list:
    """A folder's audio files (sorted), one file, or a list of files as given."""
    if isinstance(folder, (list, tuple)):
        return [Path(p) for p in folder]
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    return iter_audio_files(folder)


def predict_soundscapes(checkpoints, folder, infer: Optional[InferConfig] = None, device="auto",
                        budget_s: Optional[float] = None, clock: Callable[[], float] = time.monotonic,
                        runtime: str = "torch", shared: bool = True, precision: str = "fp32", calibration=None,
                        decode: str = "auto"):
    """DataFrame of row_id + one probability column per label of the ensemble (predict_windows(...).frame)."""
    return predict_windows(checkpoints, folder, infer, device, budget_s, clock, runtime, shared, precision,
                           calibration, decode).frame


def predict_windows(checkpoints, folder, infer: Optional[InferConfig] = None, device="auto",
                    budget_s: Optional[float] = None, clock: Callable[[], float] = time.monotonic,
                    runtime: str = "torch", shared: bool = True, precision: str = "fp32", calibration=None,
                    decode: str = "auto") -> WindowPredictions:
    """WindowPredictions of every window of the soundscapes: row_id + one probability column per label of the
    ensemble (kit.infer.members.union_labels: the first checkpoint's labels, then the others' new ones).

    `checkpoints`: paths (or Members). `infer`: None uses the first checkpoint's InferConfig. `budget_s`:
    time budget for the whole call (None = unlimited); `clock` is injectable for tests. `runtime`: torch or
    onnx or openvino; `precision`: fp32 or int8 (ONNX Runtime; see kit.infer.members.load_members; an int8
    network quantized on load calibrates on `calibration`, default the soundscapes predicted). Each soundscape is
    decoded once per audio config; `shared`: the members of one audio + feature config share one front-end per
    batch (False: each member computes its own, the member-by-member path; the same probabilities to 1e-5).
    `decode`: auto | lockstep | background (kit.audio.window_stream). Torch's CPU threads are the caller's
    (kit.utils.set_cpu_threads, at an entry point).
    """
    from kit.infer.members import union_labels
    from kit.utils import pick_device

    guard = None if budget_s is None else BudgetGuard(budget_s, clock, reserve_s=min(30.0, 0.02 * budget_s))
    device = pick_device(device) if isinstance(device, str) else device
    files = _list_files(folder)
    members = load_members(checkpoints, device, runtime, shared, precision,
                           files[:8] if calibration is None else calibration)
    labels = union_labels(members)
    infer = infer or members[0].config.infer
    groups: dict = {}
    for m in members:
        groups.setdefault(m.config.audio, []).append(m)
    runners = [(cfg, Runner(ms, infer.infer_batch_size, device, labels, shared)) for cfg, ms in groups.items()]
    accs = [_FileAcc(p, _header_windows(p, members[0].config.audio)) for p in files]
    plan = BudgetPlan(runners, [sum(_header_windows(p, cfg) or 0 for p in files) for cfg, _ in runners], infer.tta,
                      done_windows=[0] * len(runners))
    for index in range(len(runners)):
        if files and runners[index][1].active() and (guard is None or not guard.expired()):
            _run_group(index, plan, files, accs, guard, decode)
    result = _assemble(files, accs, labels, infer, members[0].config.audio.window_s)
    result.notes = list(guard.notes) if guard else []
    return result


def predict_competition(checkpoints, data_dir, out_csv, budget_min: float = 90.0,
                        infer: Optional[InferConfig] = None, device="auto",
                        clock: Callable[[], float] = time.monotonic, runtime: str = "torch", shared: bool = True,
precision: str = "fp32", decode: str = "auto", teacher=None):
    """Read data_dir/test_soundscapes + sample_submission.csv, write a validated submission.csv atomically.
    `teacher`: a kit.infer.foreign_member.ForeignBlend, blended in as the last member.

    A wide sample_submission (2023-2025) gives the label columns and their order. BirdCLEF 2022's long sample
    (`row_id,target`) gives one True/False row per soundscape, scored bird and window end (kit.infer.longform);
    BirdCLEF 2021's (`row_id,birds`) is refused before any work. An empty or missing test_soundscapes folder
    (Kaggle's public run) writes sample_submission's rows with the fallback probability. Rows the budget or a
    bad file prevented get the fallback, with a warning.
    """
    from kit.formats import BIRDCLEF2021, BIRDCLEF2022, SubmissionError, read_sample_submission
    from kit.infer import longform
    from kit.infer.submission import align_labels, empty_submission, write_submission
    from kit.utils import pick_device

    start = clock()
    data_dir = Path(data_dir)
    sample = read_sample_submission(data_dir / "sample_submission.csv")
    if sample.kind == BIRDCLEF2021:
        raise SubmissionError(sample.refusal("kit cannot write this format: it predicts probabilities per label, "
                                             "not a set of birds per row scored by F1; no file was written"))
    is_long = sample.kind == BIRDCLEF2022
    labels = longform.scored_birds(data_dir) if is_long else list(sample.labels)
    device = pick_device(device) if isinstance(device, str) else device
    files = _list_files(data_dir / "test_soundscapes")
    if files:
        members = load_members(checkpoints, device, runtime, shared, precision, files[:8])
        members += [teacher.member(members)] if teacher is not None else []
    else:  # only the InferConfig is needed (and an int8 member would have nothing to calibrate on)
        members = load_members(checkpoints, device)
    infer = infer or members[0].config.infer
    if not files:
        warnings.warn(f"{data_dir / 'test_soundscapes'} is empty or missing: writing sample_submission's "
                      f"{len(sample.frame)} row(s) with fallback_prob={infer.fallback_prob}")
        frame = (longform.long_fallback(sample, infer.decision_threshold, infer.fallback_prob) if is_long
                 else empty_submission(sample.frame, labels, infer.fallback_prob))
    else:
        budget_s = budget_min * 60 - (clock() - start)
        frame = predict_soundscapes(members, data_dir / "test_soundscapes", infer, device, budget_s, clock,
                                    shared=shared, decode=decode)
        frame = align_labels(frame, labels, infer.fallback_prob)
    if is_long and files:
        requests = longform.long_requests(data_dir, frame, labels)
        frame = longform.to_long(frame, requests, infer.decision_threshold, infer.fallback_prob)
        longform.write_long_submission(frame, out_csv, requests["row_id"])
    elif is_long:
        longform.write_long_submission(frame, out_csv)
    else:
        write_submission(frame, out_csv, labels)
    return frame


def infer_config_from(base: InferConfig, assignments) -> InferConfig:
    """Apply `--set key=value` to InferConfig only: preprocessing always comes from the checkpoint."""
    for item in assignments or []:
        section, _ = resolve_key(item.partition("=")[0].strip())
        if section != "infer":
            raise ConfigError(f"--set {item!r}: only inference keys can change at predict time "
                              f"(audio and feature settings come from the checkpoint)")
    return Config(infer=base).override(list(assignments or [])).infer
