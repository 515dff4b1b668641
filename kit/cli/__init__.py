"""`python -m kit [--debug] COMMAND ...`: the command-line layer. Each command is one module of this folder with
`main(argv) -> int`: argparse lives here and nowhere else in kit; the modules call library functions with plain
arguments and set process-wide things (CPU threads, the checkpoint version check) at the entry point only.
"""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "demo": ("kit.cli.demo", "generate clips, build a mini-competition, train, submit and score (end to end)"),
    "train": ("kit.cli.train", "train a model (one run, --folds K, or pseudo-label rounds with --pseudo CSV)"),
    "sweep": ("kit.cli.sweep", "run a grid of training configs and tabulate the results"),
    "predict": ("kit.cli.predict", "write submission.csv for a competition's test_soundscapes"),
    "pseudo-label": ("kit.cli.pseudo_label", "soft labels for unlabeled soundscapes from a checkpoint or an ensemble"),
    "export": ("kit.cli.export", "export a checkpoint to ONNX (waveform in, probabilities out) or int8"),
    "bundle": ("kit.cli.bundle", "make a Kaggle dataset folder with kit and checkpoints"),
    "make-competition": ("kit.cli.make_competition", "turn labelled clips into a BirdCLEF-layout competition"),
    "score": ("kit.cli.score", "score a submission.csv against a solution.csv"),
    "bird-data": ("kit.cli.bird_data", "decode real bird recordings / field soundscapes for the real-bird proxies"),
    "bench": ("kit.cli.bench", "benchmarks: features (torchaudio vs librosa), inference throughput, quality (proxies)"),
}

USER_ERRORS = (ValueError, FileNotFoundError, PermissionError, KeyError)


def usage() -> str:
    lines = ["usage: python -m kit [--debug] COMMAND [options]   (python -m kit COMMAND --help for details)", "",
             "commands:"]
    lines += [f"  {name:<18}{text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "--debug: show the traceback of an error instead of its one-line message"]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = bool(argv) and argv[0] == "--debug"
    argv = argv[1:] if debug else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    try:
        return int(module.main(rest) or 0)
    except USER_ERRORS as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


__all__ = ["main", "usage", "COMMANDS"]
