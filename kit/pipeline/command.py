"""`python -m kit train`'s choice between one run, K fold models and pseudo-label rounds (its argparse is
kit.cli.train's)."""
from __future__ import annotations

import os

from kit.pipeline.folds import train_folds
from kit.pipeline.rounds import train_rounds
from kit.pipeline.run import train_run


def train_command(config, data, out_dir, folds=None, rounds=None, resume=False, stop_after=None,
                  log_path=None) -> dict:
    """What `python -m kit train` does: K fold models (folds), pseudo-label rounds (a config with pseudo_csv;
    `rounds` overrides pseudo_rounds), or one run. Returns the last run's result (folds: train_folds')."""
    from kit.train import resolve_config

    if rounds is not None:
        config = config.override([f"pseudo_rounds={rounds}"])
    if folds or int(os.environ.get("WORLD_SIZE", "1")) > 1:
        if config.pseudo.pseudo_rounds > 1:
            what = ("--folds: train the folds, pseudo-label with them, then run the rounds without --folds" if folds
                    else "torchrun: rounds run in one process; use --rounds 1")
            raise ValueError(f"pseudo_rounds={config.pseudo.pseudo_rounds} with {what}")
        if config.pseudo.pseudo_csv and config.pseudo.pseudo_rounds == 0:
            config = config.override(["pseudo_rounds=1"])  # one run per fold / process: the default rule's 1
        if folds:
            return train_folds(config, data, out_dir, folds, resume=resume, log_path=log_path)
    elif config.pseudo.pseudo_csv and resolve_config(config, lambda *_: None).pseudo.pseudo_rounds > 1:
        return train_rounds(config, data, out_dir, resume=resume, log_path=log_path, stop_after=stop_after)
    return train_run(config, data, out_dir, resume=resume, stop_after=stop_after, log_path=log_path)


__all__ = ["train_command"]
