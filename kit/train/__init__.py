"""Stage 4a, training: labelled recordings -> a checkpoint that carries its own preprocessing.

`labels` reads the recording table (any BirdCLEF year's layout or a filename,label CSV), multi-label targets,
ratings and loss weights; `splits` the seeded split, stratified by label and grouped by a metadata column
(`group_labels` + `stratified_group_folds` for k-fold); `data` checks the files and makes the crops dataset;
`augment`, `background`, `losses` and `ema` are the recipe parts (with optional per-row loss weights);
`loop` is the training loop (`train`, `python -m kit train`); `state` is what a run carries between epochs
and how it is checkpointed and resumed; `explog` the experiment log, `sweep` grids of configs, `plots`
training curves and sweep charts. Inference never imports this stage.
"""
from kit.train.data import RecordingDataset, check_files
from kit.train.labels import (DataError, RecordingTable, filter_by_rating, read_labels, recording_weights, targets,
                              unrecorded_labels)
from kit.train.loop import build_parser, command_config, evaluate, lr_factor, run_command, train
from kit.train.pseudo import start_from_teacher
from kit.train.splits import group_labels, split_table, stratified_group_folds
from kit.train.state import ResumeError

__all__ = ["train", "evaluate", "lr_factor", "ResumeError", "DataError", "RecordingTable",
           "RecordingDataset", "check_files", "read_labels", "split_table", "targets", "unrecorded_labels",
           "filter_by_rating", "recording_weights", "group_labels", "stratified_group_folds", "build_parser",
           "command_config", "run_command", "start_from_teacher"]
