"""The seeded train/validation split: stratified by primary label, and grouped when `group_column` names a
metadata column (author, url, collection, ...), so that the recordings of one group never straddle training
and validation.

`group_labels` and `stratified_group_folds` are the pieces k-fold training reuses: one fold number per
recording, every group inside one fold, each fold's label mix close to the whole's (scikit-learn's
StratifiedGroupKFold, seeded).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from kit.config import DataConfig
from kit.train.labels import TABLE_COLUMNS, DataError, RecordingTable


def group_labels(table: RecordingTable, column: str) -> np.ndarray:
    """One group id (str) per recording from the metadata column `column`. A recording with an empty value
    forms a group of its own (nothing says it shares a source). A missing column is a DataError naming it."""
    frame = table.frame
    if column not in frame.columns or column in TABLE_COLUMNS:
        columns = [c for c in frame.columns if c not in TABLE_COLUMNS]
        raise DataError(f"{table.source}: group_column={column!r} is not a metadata column; it has {columns} "
                        f"(set group_column to one of them, or none)")
    values = frame[column].astype(str).str.strip().to_numpy()
    empty = np.isin(values, ["", "nan", "None"])
    own = np.array([f"\0row {r}" for r in frame["row"]], dtype=object)
    return np.where(empty, own, values).astype(object)


def stratified_group_folds(primary: np.ndarray, groups: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold number (0..n_folds-1) per recording: every group in one fold, folds stratified by primary label
    as far as the groups allow, seeded. Fewer groups than folds: one fold per group."""
    from sklearn.model_selection import StratifiedGroupKFold

    codes = pd.factorize(pd.Series(groups))[0]
    n_folds = min(int(n_folds), len(set(codes)))
    folds = np.zeros(len(primary), dtype=np.int64)
    if n_folds < 2:
        return folds
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # "the least populated class has only 1 member": handled by the caller
        warnings.simplefilter("ignore", UserWarning)
        for fold, (_, held) in enumerate(splitter.split(np.zeros(len(primary)), primary, codes)):
            folds[held] = fold
    return folds


class FoldError(ValueError):
    """The folds cannot be drawn from this data; the message says what to change."""


def assign_folds(table: RecordingTable, cfg: DataConfig, n_folds: int) -> tuple:
    """(fold number per recording, notes) for k-fold training: stratified by primary label, grouped by
    cfg.group_column when set (else each recording is its own group), seeded by cfg.split_seed. A label with
    fewer recordings (groups) than folds is validated in as many folds as it has and trained on in the others
    (noted); more folds than groups is an error."""
    if int(n_folds) != n_folds or n_folds < 2:
        raise FoldError(f"--folds {n_folds}: give an integer >= 2")
    primary = table.frame["primary_label"].to_numpy()
    if cfg.group_column:
        groups = group_labels(table, cfg.group_column)
    else:
        groups = table.frame["path"].astype(str).to_numpy(dtype=object)
    n_groups = len(set(groups))
    if n_folds > n_groups:
        what = f"groups of {cfg.group_column!r}" if cfg.group_column else "recordings"
        raise FoldError(f"{table.source}: --folds {n_folds} is more than its {n_groups} {what}; use at most "
                        f"{n_groups} folds")
    try:
        folds = stratified_group_folds(primary, groups, int(n_folds), cfg.split_seed)
    except ValueError:  # scikit-learn refuses when every label has fewer members than folds
        folds = _round_robin_folds(primary, groups, int(n_folds), cfg.split_seed)
    per_label = pd.Series(groups).groupby(primary).nunique()
    few = sorted(per_label.index[per_label < n_folds])
    notes = [f"{len(few)} label(s) have fewer recordings than the {n_folds} folds: validated in fewer folds, "
             f"trained on in the others: {few[:10]}"] if few else []
    return folds, notes


def _round_robin_folds(primary: np.ndarray, groups: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Groups dealt to the folds in turn, label by label (seeded order): every group in one fold, each
    label spread over as many folds as it has groups."""
    codes = pd.factorize(pd.Series(groups))[0]
    first_label = pd.Series(primary).groupby(codes).first()
    rng = np.random.default_rng(seed)
    order = sorted(first_label.index, key=lambda g: (first_label[g], rng.random()))
    fold_of = {g: i % n_folds for i, g in enumerate(order)}
    return np.array([fold_of[c] for c in codes], dtype=np.int64)


def _subset(primary: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Per label, ceil(fraction * n) recordings (every label keeps at least one)."""
    keep = []
    for label in sorted(set(primary)):
        idx = np.flatnonzero(primary == label)
        keep.extend(rng.permutation(idx)[: max(1, math.ceil(fraction * len(idx)))].tolist())
    return np.sort(np.asarray(keep, dtype=np.int64))


def _stratified(index: np.ndarray, primary: np.ndarray, fraction: float, seed: int) -> tuple:
    """(kept, held) of `index`, stratified by label with scikit-learn; labels with one recording stay in kept."""
    from sklearn.model_selection import StratifiedShuffleSplit

    counts = pd.Series(primary[index]).value_counts()
    splittable = index[np.isin(primary[index], counts.index[counts >= 2])]
    singles = np.setdiff1d(index, splittable)
    n_classes = int((counts >= 2).sum())
    if n_classes == 0 or fraction <= 0:
        return np.sort(index), np.zeros(0, dtype=np.int64)
    held_n = min(max(n_classes, round(fraction * len(splittable))), len(splittable) - n_classes)
    if held_n < 1:
        return np.sort(index), np.zeros(0, dtype=np.int64)
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=int(held_n), random_state=seed)
    kept, held = next(splitter.split(np.zeros(len(splittable)), primary[splittable]))
    return np.sort(np.concatenate([splittable[kept], singles])), np.sort(splittable[held])


def _grouped(index: np.ndarray, primary: np.ndarray, groups: np.ndarray, fraction: float, seed: int) -> tuple:
    """(kept, held) of `index`: fold 0 of round(1 / fraction) stratified group folds is held out, then every
    group holding a label's only recording, or all of a label's recordings, goes back to training."""
    if fraction <= 0:
        return np.sort(index), np.zeros(0, dtype=np.int64)
    p, g = primary[index], groups[index]
    held = stratified_group_folds(p, g, max(2, round(1 / fraction)), seed) == 0
    for label in np.unique(p):
        mine = p == label
        if held[mine].all():   # a single recording, or every one in the held fold: its groups train
            held &= ~np.isin(g, g[mine])
    return np.sort(index[~held]), np.sort(index[held])


def split_table(table: RecordingTable, cfg: DataConfig) -> tuple:
    """(train_index, valid_index, notes): seeded by cfg.split_seed, stratified by primary label, grouped by
    cfg.group_column when set.

    data_fraction < 1 first keeps that share of each label. valid_frac=0 validates on a stratified
    `validate_train_pct` slice of the training recordings (no held-out split).
    """
    primary = table.frame["primary_label"].to_numpy()
    rng = np.random.default_rng(cfg.split_seed)
    index = _subset(primary, cfg.data_fraction, rng) if cfg.data_fraction < 1 else np.arange(len(table))
    notes = []
    counts = pd.Series(primary[index]).value_counts()
    singles = sorted(counts.index[counts == 1])
    if singles:
        notes.append(f"{len(singles)} label(s) with a single recording kept in training only: {singles[:10]}")
    groups = group_labels(table, cfg.group_column) if cfg.group_column else None  # a missing column: refused
    if cfg.valid_frac == 0:
        train_index = index
        _, valid_index = _stratified(index, primary, cfg.validate_train_pct, cfg.split_seed)
        notes.append(f"validating on {len(valid_index)} training recordings (valid_frac=0: every recording "
                     f"trains; valid_frac=0.2 holds out a split to compare configs)")
    elif groups is not None:
        train_index, valid_index = _grouped(index, primary, groups, cfg.valid_frac, cfg.split_seed)
        notes.append(f"split grouped by {cfg.group_column!r}: {len(set(groups[index]))} groups, "
                     f"{len(set(groups[valid_index]))} of them in validation")
    else:
        train_index, valid_index = _stratified(index, primary, cfg.valid_frac, cfg.split_seed)
    return train_index, valid_index, notes


__all__ = ["group_labels", "stratified_group_folds", "split_table"]
