"""`python -m kit pseudo-label`: soft labels of unlabeled soundscapes (or any recordings) from a checkpoint or an
ensemble, through the submission path (kit.infer.pseudo_label). Its settings are the labelling keys of the
config's `pseudo` section (--power = pseudo_power, ...): a run trained on the CSV records them, and its next
rounds label again with them."""
from __future__ import annotations

import argparse

from kit.cli.common import add_inference_arguments, add_teacher_arguments, apply_inference_arguments, teacher_options
from kit.config import PseudoConfig


def teacher_main(args) -> int:
    """--teacher: a foreign model's soft labels of the competition's windows + its embeddings (kit.infer.teacher)."""
    from kit.foreign import open_foreign_model
    from kit.infer import teacher_pseudo_label

    if not args.data:
        raise ValueError("--teacher needs --data COMP: the competition folder whose taxonomy.csv maps the teacher's "
                         "classes to its labels")
    model = open_foreign_model(args.teacher, args.teacher_labels, **teacher_options(args))
    out = teacher_pseudo_label(model, args.data, args.soundscapes, args.out, not args.no_genus, args.power,
                               args.threshold, args.top_k, args.min_confidence)
    print(f"wrote {args.out}: {len(out)} windows of {out['filename'].nunique()} recordings x {out.shape[1] - 2} "
          f"labels (teacher {model.path}; mapping report {args.out}.mapping.txt)")
    return 0


def main(argv) -> int:
    import inspect

    from kit.infer import pseudo_label

    doc, defaults = inspect.getmodule(pseudo_label).__doc__, PseudoConfig()
    parser = argparse.ArgumentParser(prog="python -m kit pseudo-label", description=doc.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(doc.split("\n\n")[1:]))
    parser.add_argument("--checkpoint", action="append", help="checkpoint (repeat for an ensemble)")
    parser.add_argument("--soundscapes", action="append", required=True, metavar="DIR_OR_FILE",
                        help="unlabeled soundscapes (a folder, searched recursively, or a file; repeatable)")
    parser.add_argument("--out", required=True, help="pseudo-label CSV to write")
    parser.add_argument("--power", type=float, default=defaults.pseudo_power,
                        help="sharpen: p ** power (pseudo_power; default %(default)s)")
    parser.add_argument("--threshold", type=float, default=defaults.pseudo_threshold,
                        help="probabilities below it -> 0 (pseudo_threshold; default %(default)s)")
    parser.add_argument("--top-k", type=int, default=defaults.pseudo_top_k,
                        help="keep the k highest labels per window (pseudo_top_k; 0 = all)")
    parser.add_argument("--min-confidence", type=float, default=defaults.pseudo_min_confidence,
                        help="leave out windows whose highest probability is below it (pseudo_min_confidence; "
                             "default %(default)s; 0 keeps all)")
    parser.add_argument("--shift-s", type=float, default=defaults.pseudo_shift_s,
                        help="also predict each window moved by -S and +S seconds of its recording and average the "
                             "three views (pseudo_shift_s; default 0: predict's probabilities alone)")
    parser.add_argument("--runtime", choices=["torch", "onnx", "openvino"], default="torch")
    parser.add_argument("--budget-min", type=float, help="time budget in minutes (default: none)")
    parser.add_argument("--data", help="with --teacher: the competition folder (taxonomy.csv and its label list)")
    add_teacher_arguments(parser)
    add_inference_arguments(parser)
    args = parser.parse_args(argv)
    if bool(args.checkpoint) == bool(args.teacher):
        parser.error("give --checkpoint (kit's models) or --teacher (a foreign model), one of the two")
    apply_inference_arguments(args)
    if args.teacher:
        return teacher_main(args)
    out = pseudo_label(args.checkpoint, args.soundscapes, args.out, args.power, args.threshold, args.top_k,
                       args.device, args.runtime, args.budget_min, args.min_confidence, args.shift_s, args.decode)
    print(f"wrote {args.out}: {len(out)} windows of {out['filename'].nunique()} recordings x "
          f"{out.shape[1] - 2} labels")
    return 0
