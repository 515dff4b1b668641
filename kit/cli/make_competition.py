"""`python -m kit make-competition`: labelled clips -> a BirdCLEF-layout mini-competition (kit.compete)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv) -> int:
    import inspect

    from kit.compete import MixSettings, make_competition

    parser = argparse.ArgumentParser(prog="python -m kit make-competition",
                                     description=inspect.getmodule(make_competition).__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", required=True, help="CSV with filename,label (paths relative to the CSV)")
    parser.add_argument("--out", required=True, help="output folder (created; a previous competition is rebuilt)")
    parser.add_argument("--soundscapes", type=int, default=4, help="number of test soundscapes (default 4)")
    parser.add_argument("--soundscape-s", type=float, default=60.0, help="soundscape length in s (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the mixing (default 0)")
    parser.add_argument("--sample-rate-hz", type=int, default=32000)
    parser.add_argument("--holdout-frac", type=float, default=MixSettings.holdout_frac,
                        help="share of each label's recordings used in soundscapes (default 0.4)")
    parser.add_argument("--events-per-window", type=float, default=MixSettings.events_per_window,
                        help="random layout: mean clips per window (default 1; lower = mostly background)")
    parser.add_argument("--layout", choices=["random", "stitched"], default="random",
                        help="random: clips at random offsets, overlaps allowed; stitched: one clip per window")
    parser.add_argument("--noise-dbfs", type=float, default=MixSettings.noise_dbfs,
                        help="RMS of the brownish background noise in dBFS (default -42; -90 = near silence)")
    parser.add_argument("--unlabeled", type=int, default=0, metavar="N",
                        help="also write N unlabeled soundscapes to train_soundscapes/ (other mixes of the "
                             "held-out clips, for pseudo-labelling; default 0)")
    parser.add_argument("--style", choices=["kit", "birdclef2026"], default="kit",
                        help="file layout: kit (train_metadata.csv, soundscape_NNN.ogg) or birdclef2026 (BirdCLEF+ "
                             "2026's: train.csv, taxonomy.csv with sonotypes, BC2026_* names; kit.compete.layout2026)")
    parser.add_argument("--labelled", type=int, default=0, metavar="M",
                        help="write the window labels of the first M of the --unlabeled soundscapes to "
                             "train_soundscapes_labels.csv (as BirdCLEF+ 2026; kit trains on them; default 0)")
    parser.add_argument("--group-column", default="auto",
                        help="CSV column grouping clips of one recording (auto: src_file when present; '' = none)")
    args = parser.parse_args(argv)
    settings = MixSettings(holdout_frac=args.holdout_frac, events_per_window=args.events_per_window,
                           layout=args.layout, noise_dbfs=args.noise_dbfs)
    paths = make_competition(args.clips, args.out, args.soundscapes, args.soundscape_s, args.seed,
                             args.sample_rate_hz, settings, args.group_column, args.unlabeled, args.style,
                             args.labelled)
    info = json.loads(Path(paths["info"]).read_text())
    print(f"competition in {paths['root']}: {len(info['labels'])} labels, {len(info['train_clips'])} training "
          f"clips, {len(info['soundscape_clips'])} held-out clips mixed into {args.soundscapes} soundscapes")
    return 0
