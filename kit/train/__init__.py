"""Stage 4, training: labelled recordings -> a checkpoint that carries its own preprocessing.

`labels` reads the recording table (any BirdCLEF year's layout or a filename,label CSV), multi-label targets,
ratings and loss weights; `splits` the seeded split, stratified by label and grouped by a metadata column
(`group_labels`, `stratified_group_folds`, `assign_folds` for k-fold); `data` checks the files and makes the
crops dataset; `augment`, `background`, `losses` and `ema` are the recipe parts (with optional per-row loss
weights); `resolve` builds the config a run trains with (the pseudo-label rules, once); `pseudo` the
pseudo-labelled windows; `loop` is the training loop (`train`); `state` is what a run carries between epochs and
how it is checkpointed and resumed; `explog` the experiment log, `plots` training curves and sweep charts.
Orchestrating runs (the train command, folds, rounds, sweeps) is kit.pipeline's. Inference never imports this
stage.
"""
from kit.train.data import RecordingDataset, check_files
from kit.train.explog import append_run, default_log_path, markdown_table, read_rows, run_row
from kit.train.labels import (DataError, RecordingTable, filter_by_rating, read_labels, recording_weights, targets,
                              unrecorded_labels)
from kit.train.loop import evaluate, load_table, lr_factor, train
from kit.train.plots import plot_grid
from kit.train.resolve import DEFAULT_ROUNDS, resolve_config, self_training, start_from_teacher
from kit.train.splits import FoldError, assign_folds, group_labels, split_table, stratified_group_folds
from kit.train.state import ResumeError

__all__ = ["train", "evaluate", "lr_factor", "load_table", "ResumeError", "DataError", "RecordingTable",
           "RecordingDataset", "check_files", "read_labels", "split_table", "targets", "unrecorded_labels",
           "filter_by_rating", "recording_weights", "group_labels", "stratified_group_folds", "assign_folds",
           "FoldError", "resolve_config", "start_from_teacher", "self_training", "DEFAULT_ROUNDS", "append_run",
           "default_log_path", "markdown_table", "read_rows", "run_row", "plot_grid"]
