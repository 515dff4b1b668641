"""`python -m kit COMMAND ...`: each command lives in its own module as `cli(argv) -> int`."""
from __future__ import annotations

import importlib
import os
import sys

COMMANDS = {
    "demo": ("kit.compete.demo", "generate clips, build a mini-competition, train, submit and score (end to end)"),
    "train": ("kit.compete.rounds", "train a model on a competition folder or a filename,label CSV"),
    "sweep": ("kit.train.sweep", "run a grid of training configs and tabulate the results"),
    "predict": ("kit.infer.predict", "write submission.csv for a competition's test_soundscapes"),
    "pseudo-label": ("kit.infer.pseudo", "soft labels for unlabeled soundscapes from a checkpoint or an ensemble"),
    "export": ("kit.export.onnx", "export a checkpoint to ONNX (waveform in, probabilities out)"),
    "bundle": ("kit.export.bundle", "make a Kaggle dataset folder with kit and checkpoints"),
    "make-competition": ("kit.compete.competition", "turn labelled clips into a BirdCLEF-layout competition"),
    "score": ("kit.compete.score", "score a submission.csv against a solution.csv"),
    "bench": ("kit.bench", "benchmarks: features (torchaudio vs librosa), inference throughput, quality (proxies)"),
}

USER_ERRORS = (ValueError, FileNotFoundError, PermissionError, KeyError)


def usage() -> str:
    lines = ["usage: python -m kit COMMAND [options]   (python -m kit COMMAND --help for details)", "", "commands:"]
    lines += [f"  {name:<18}{text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    try:
        return int(module.cli(rest) or 0)
    except USER_ERRORS as exc:
        if os.environ.get("KIT_DEBUG") == "1":
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
