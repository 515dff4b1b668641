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

    data_percentage < 1 first keeps that share of each label. validate_on_train (or valid_frac=0) validates on
    a stratified `validate_train_pct` slice of the training recordings (no held-out split).
    """
    primary = table.frame["primary_label"].to_numpy()
    rng = np.random.default_rng(cfg.split_seed)
    index = _subset(primary, cfg.data_percentage, rng) if cfg.data_percentage < 1 else np.arange(len(table))
    notes = []
    counts = pd.Series(primary[index]).value_counts()
    singles = sorted(counts.index[counts == 1])
    if singles:
        notes.append(f"{len(singles)} label(s) with a single recording kept in training only: {singles[:10]}")
    if cfg.validate_on_train or cfg.valid_frac == 0:
        train_index = index
        _, valid_index = _stratified(index, primary, cfg.validate_train_pct, cfg.split_seed)
        notes.append(f"validating on {len(valid_index)} training recordings (validate_on_train)")
    elif cfg.group_column:
        groups = group_labels(table, cfg.group_column)
        train_index, valid_index = _grouped(index, primary, groups, cfg.valid_frac, cfg.split_seed)
        notes.append(f"split grouped by {cfg.group_column!r}: {len(set(groups[index]))} groups, "
                     f"{len(set(groups[valid_index]))} of them in validation")
    else:
        train_index, valid_index = _stratified(index, primary, cfg.valid_frac, cfg.split_seed)
    return train_index, valid_index, notes


__all__ = ["group_labels", "stratified_group_folds", "split_table"]
