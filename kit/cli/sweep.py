"""`python -m kit sweep`: train every combination of a grid of config values and tabulate a metric
(kit.pipeline.sweep)."""
from __future__ import annotations

import argparse

from kit.cli.common import add_config_arguments, config_from_args


def build_parser() -> argparse.ArgumentParser:
    from kit.pipeline import METRICS

    parser = argparse.ArgumentParser(
        prog="python -m kit sweep", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a grid of configs; writes OUT/<run>/..., OUT/sweep.csv, sweep.md, sweep.png\n"
                    "(heat-map for 2 keys, bars otherwise) and OUT/experiments.csv/.md")
    parser.add_argument("--data", required=True, help="BirdCLEF-layout folder or a filename,label CSV")
    parser.add_argument("--out", required=True, help="sweep folder")
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                        help="a grid axis (repeatable); ';' separates values that hold commas")
    parser.add_argument("--metric", default="cmap", choices=METRICS, help="metric of the table's heat-map")
    add_config_arguments(parser)
    return parser


def main(argv) -> int:
    from kit.pipeline import parse_grid, sweep

    args = build_parser().parse_args(argv)
    axes = parse_grid(args.grid)
    result = sweep(config_from_args(args), args.data, args.out, axes, args.metric)
    print(f"sweep table: {result['md']}  heat-map: {result['png']}")
    return 0
