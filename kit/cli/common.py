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
    """--device, --threads, --decode, --allow-version-mismatch (predict, pseudo-label)."""
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (default 0: every core, one left for decoding on 4+ cores; an "
                             "OMP_NUM_THREADS in the environment is kept)")
    parser.add_argument("--decode", choices=["auto", "lockstep", "background"], default="auto",
                        help="how soundscapes are decoded beside the model: lockstep (in turn, CPUs with < 4 "
                             "cores), background (a thread), auto (by the device)")
    parser.add_argument("--allow-version-mismatch", action="store_true",
                        help="load checkpoints of another kit version (their preprocessing may differ)")


def apply_inference_arguments(args) -> None:
    """Process-wide settings of the parsed inference arguments: CPU threads and the malloc tuning (entry points
    only), the checkpoint version check."""
    from kit.checkpoint import allow_version_mismatch
    from kit.utils import pick_device, set_cpu_threads

    set_cpu_threads(pick_device(args.device), args.threads)
    allow_version_mismatch(args.allow_version_mismatch)


__all__ = ["add_config_arguments", "config_from_args", "add_inference_arguments", "apply_inference_arguments"]
