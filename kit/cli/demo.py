"""`python -m kit demo`: clips -> mini-competition -> training -> submission.csv -> score, end to end."""
from __future__ import annotations

import argparse

from kit.cli.common import add_config_arguments


def main(argv) -> int:
    import inspect

    from kit.compete import QUICK, DemoPlan, results_table, run_demo

    parser = argparse.ArgumentParser(prog="python -m kit demo", description=inspect.getmodule(run_demo).__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="demo_out", help="output folder (default ./demo_out)")
    parser.add_argument("--clips", help="CSV filename,label of real clips (default: synthetic calls)")
    parser.add_argument("--quick", action="store_true", help="much smaller run for CI (< ~60 s)")
    parser.add_argument("--backbone", action="append", default=None,
                        help="model backbone (repeatable: one row per backbone; default cnn)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="training epochs (default 12, quick 10)")
    parser.add_argument("--soundscapes", type=int,
                        help="number of test soundscapes (default 4 of 60 s, quick 4 of 30 s)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the logistic-regression baseline")
    parser.add_argument("--style", choices=["kit", "birdclef2026"], default="kit",
                        help="competition layout; birdclef2026 also writes 2 labelled train soundscapes (trained on)")
    add_config_arguments(parser)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else DemoPlan()
    if args.epochs or args.soundscapes:
        from dataclasses import replace

        plan = replace(plan, epochs=args.epochs or plan.epochs, n_soundscapes=args.soundscapes or plan.n_soundscapes)
    if args.style == "birdclef2026":
        from dataclasses import replace

        plan = replace(plan, style=args.style, labelled_soundscapes=2)
    if args.config:
        raise ValueError("demo builds its own small config: use --set KEY=VALUE to change it, not --config")
    result = run_demo(args.out, args.clips, args.quick, args.backbone or ["cnn"], args.seed, args.set,
                      not args.no_baseline, plan)
    print(results_table(result["rows"]))
    print(f"\nreport: {result['report']}")
    return 0
