"""Stage 4a, training: labelled recordings -> a checkpoint that carries its own preprocessing.

`data` reads the recording table (BirdCLEF layout or a filename,label CSV), makes multi-label targets, the
seeded stratified split and the crops dataset; `loop` is the training loop (`train`, `python -m kit train`);
`state` is what a run carries between epochs and how it is checkpointed and resumed; `explog` the
experiment log, `sweep` grids of configs, `plots` training curves and sweep charts. Inference never imports
this stage.
"""
from kit.train.data import DataError, RecordingDataset, RecordingTable, read_labels, split_table, targets
from kit.train.loop import evaluate, lr_factor, train
from kit.train.state import ResumeError

__all__ = ["train", "evaluate", "lr_factor", "ResumeError", "DataError", "RecordingTable", "RecordingDataset",
           "read_labels", "split_table", "targets"]
