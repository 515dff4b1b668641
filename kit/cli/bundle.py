"""`python -m kit bundle`: kit + checkpoints as a Kaggle dataset folder and the submission notebook as a kernel
(kit.export.make_bundle), uploaded with --upload."""
from __future__ import annotations

import argparse

DESCRIPTION = "Make a Kaggle dataset folder with kit and checkpoints (and the submission kernel); --upload pushes it."


def main(argv) -> int:
    from kit.export import make_bundle, upload

    parser = argparse.ArgumentParser(prog="python -m kit bundle", description=DESCRIPTION)
    parser.add_argument("--checkpoint", action="append", required=True, help="checkpoint (repeatable)")
    parser.add_argument("--out", required=True, help="new folder for the bundle")
    parser.add_argument("--user", default="", help="Kaggle user name (default: $KAGGLE_USERNAME)")
    parser.add_argument("--slug", default="kit-bundle", help="dataset slug (default: %(default)s)")
    parser.add_argument("--competition", default="birdclef-2026", help="competition attached to the kernel")
    parser.add_argument("--upload", action="store_true", help="upload with the kaggle package (needs credentials)")
    parser.add_argument("--new-version", action="store_true", help="with --upload: a new version of the dataset")
    args = parser.parse_args(argv)
    paths = make_bundle(args.checkpoint, args.out, args.user, args.slug, args.competition)
    print(f"wrote {paths['dataset']} (kit {paths['kit_version']}, {len(paths['checkpoints'])} checkpoint(s)) "
          f"and {paths['kernel']}")
    if args.upload:
        upload(args.out, new_dataset=not args.new_version)
        print("uploaded the dataset and pushed the kernel")
    else:
        print("nothing uploaded (add --upload to push with the kaggle package)")
    return 0
