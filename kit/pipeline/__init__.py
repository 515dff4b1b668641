"""Stage 7, the workflow layer above training and inference: what `python -m kit train` runs and what the
notebooks and the benchmarks call, so that the package has one rounds loop and one definition of a run.

`run` is one training run as the command makes it (`train_run`: kit.train.train + the inference timing and the
experiment-log row); the command's choice between one run, K folds and pseudo-label rounds
(`command.train_command`); `folds` trains K fold models and their out-of-fold probabilities; `rounds` the pseudo-label
rounds (each round labels the recordings again with the previous round's model through kit.infer and trains
from its weights); `loop` folds -> pseudo-labels -> rounds -> an optional distilled student in one call;
`sweep` trains a grid of configs and tabulates them.
"""
from kit.pipeline.command import train_command
from kit.pipeline.folds import FoldError, recording_probs, train_folds
from kit.pipeline.loop import folds_then_rounds
from kit.pipeline.rounds import RoundsError, relabel, train_rounds
from kit.pipeline.run import infer_ms_per_window, log_run, train_run
from kit.pipeline.sweep import METRICS, grid_configs, parse_grid, sweep

__all__ = ["train_run", "train_command", "log_run", "infer_ms_per_window", "train_folds", "recording_probs",
           "FoldError", "train_rounds", "relabel", "RoundsError", "folds_then_rounds", "sweep", "parse_grid",
           "grid_configs", "METRICS"]
