"""`python -m kit score`: a submission.csv against a solution.csv (kit.compete.score_files)."""
from __future__ import annotations

import argparse
import json


def main(argv) -> int:
    import inspect

    from kit.compete import score_files

    parser = argparse.ArgumentParser(prog="python -m kit score", description=inspect.getmodule(score_files).__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submission", required=True, help="submission.csv (row_id + one column per label)")
    parser.add_argument("--solution", required=True, help="solution.csv (same layout, 1/0 ground truth)")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = parser.parse_args(argv)
    scores = score_files(args.submission, args.solution)
    if args.json:
        print(json.dumps(scores))
    else:
        print(f"padded cmAP {scores['cmap']:.4f}   macro ROC-AUC {scores['roc_auc']:.4f}   "
              f"top-1 accuracy {scores['accuracy']:.4f}")
    return 0
