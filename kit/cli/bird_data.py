"""`python -m kit bird-data`: real bird recordings (xeno-canto metadata + audio) or labelled field soundscapes ->
the folders the real-bird proxies are built from (kit.compete.birddata; docs/real-birds.md)."""
from __future__ import annotations

import argparse


def main(argv) -> int:
    from kit.compete import decode_background, decode_recordings, xeno_canto_table

    parser = argparse.ArgumentParser(prog="python -m kit bird-data",
                                     description="decode real bird recordings or labelled field soundscapes "
                                                 "(docs/real-birds.md)")
    sub = parser.add_subparsers(dest="what", required=True)
    xc = sub.add_parser("xeno-canto", help="xeno-canto metadata CSV + mp3 folder -> recordings folder")
    xc.add_argument("--metadata", required=True)
    xc.add_argument("--audio", required=True)
    xc.add_argument("--out", required=True)
    bg = sub.add_parser("background", help="per-window labelled field soundscapes -> background folder")
    bg.add_argument("--summary", required=True)
    bg.add_argument("--audio", required=True)
    bg.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.what == "xeno-canto":
        frame = decode_recordings(xeno_canto_table(args.metadata, args.audio), args.out)
        hours = frame["duration_s"].sum() / 3600
        print(f"{len(frame)} recordings, {frame['primary_label'].nunique()} species, {hours:.2f} h -> {args.out}")
    else:
        frame = decode_background(args.summary, args.audio, args.out)
        print(f"{frame['filename'].nunique()} soundscapes, {len(frame)} windows ({int(frame['nocall'].sum())} "
              f"nocall) -> {args.out}")
    return 0
