"""Stage 8, competitions: labelled clips -> a BirdCLEF-layout mini-competition -> scores and reports.

`competition` splits clips by recording group and mixes the held-out ones into soundscapes with their ground
truth (`python -m kit make-competition`); `score` computes the BirdCLEF metrics of a submission against a
solution (`python -m kit score`); `synth` makes synthetic calls; `events` cuts short calls out of clips;
`proxies` builds the mini-competitions the quality benchmark scores on; `baseline` is a logistic regression on
mean and std of the log-mel; `demo` runs the whole loop (`python -m kit demo`); `report` writes its tables and
plots; `birds` builds real-bird proxies from long labelled recordings that `birddata` decodes
(`python -m kit bird-data`; docs/real-birds.md); `layout2026` writes BirdCLEF+ 2026's file layout.
"""
from kit.compete.baseline import run_baseline
from kit.compete.birddata import decode_background, decode_recordings, xeno_canto_table
from kit.compete.competition import CompetitionError, MixSettings, make_competition, read_clips, write_ogg
from kit.compete.demo import QUICK, DemoPlan, run_demo
from kit.compete.events import cut_loudest_events
from kit.compete.proxies import PROXIES, build_proxy
from kit.compete.report import results_table
from kit.compete.score import per_class_ap, score_files
from kit.compete.synth import make_clip_set

__all__ = ["decode_background", "decode_recordings", "xeno_canto_table", "make_competition", "read_clips",
           "write_ogg", "CompetitionError", "score_files", "per_class_ap",
           "make_clip_set", "run_baseline", "cut_loudest_events", "PROXIES", "build_proxy", "MixSettings", "QUICK",
           "DemoPlan", "run_demo", "results_table"]
