"""Mini-competitions from ../shared/data that stand in for the held-out sets kit is judged on.

Each proxy is a competition folder built from the ESC-50 clips (25 labels, ~8 clips each, grouped by source
recording), with the held-out sources mixed into 60 s test soundscapes; `seed` draws the split and the mixing,
so two seeds hold out different sources:
- `esc50`: the clips as they are, 5 s each; soundscapes stitched from held-out clips, one per window, over
  near-silence (the setting of the reference figure in shared/data/README.md).
- `esc50-mixed`: the same clips at random offsets and levels, overlapping, over brownish noise at -42 dBFS.
- Both also hold 20 unlabeled soundscapes of their held-out sources in train_soundscapes/ (other mixes of the
  same layout, from their own generator: the test soundscapes are the same with or without them).
- `short`: each clip cut to its loudest 0.3-1 s event (kit.compete.events); 20 mostly-silent soundscapes (on
  average one call per two windows, background at -70 dBFS; ~30 % of the windows hold a call): short calls
  of unseen sources; and 20 unlabeled soundscapes of the same held-out sources in train_soundscapes/ (other
  mixes), for the pseudo-label loop.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kit.compete.competition import MixSettings, make_competition
from kit.compete.events import cut_loudest_events


@dataclass(frozen=True)
class Proxy:
    name: str
    settings: MixSettings
    short_events: bool = False
    n_soundscapes: int = 8
    n_unlabeled: int = 0             # unlabeled soundscapes of the held-out sources (train_soundscapes/)


PROXIES = {
    "esc50": Proxy("esc50", MixSettings(layout="stitched", noise_dbfs=-70.0), n_unlabeled=20),
    "esc50-mixed": Proxy("esc50-mixed", MixSettings(), n_unlabeled=20),
    "short": Proxy("short", MixSettings(events_per_window=0.5, noise_dbfs=-70.0), short_events=True,
                   n_soundscapes=20, n_unlabeled=20),
}


def build_proxy(name: str, shared_data, out_root, seed: int, birds=None) -> Path:
    """The competition folder of proxy `name` for `seed` under out_root (reused when already built). The real-bird
    proxies (kit.compete.birds: xc-reed, xc-reed-field) are built from the recordings under `birds`."""
    from kit.compete.birds import BIRD_PROXIES, build_bird_proxy

    if name in BIRD_PROXIES:
        return build_bird_proxy(name, birds, out_root, seed)
    if name not in PROXIES:
        raise ValueError(f"unknown proxy {name!r}; known: {', '.join([*PROXIES, *BIRD_PROXIES])}")
    proxy = PROXIES[name]
    clips = Path(shared_data) / "esc50" / "metadata.csv"
    if not clips.is_file():
        raise FileNotFoundError(f"{clips}: the ESC-50 clips of shared/data are needed to build proxy {name!r}")
    comp = Path(out_root) / f"{name}_seed{seed}"
    unlabeled_ok = not proxy.n_unlabeled or (comp / "train_soundscapes").is_dir()
    if (comp / "competition.json").is_file() and (comp / "solution.csv").is_file() and unlabeled_ok:
        return comp
    if proxy.short_events:
        events_csv = Path(out_root) / "short_events" / "clips.csv"
        if not events_csv.is_file():
            cut_loudest_events(clips, events_csv.parent, seed=0)
        clips = events_csv
    make_competition(clips, comp, proxy.n_soundscapes, 60.0, seed, settings=proxy.settings,
                     n_unlabeled=proxy.n_unlabeled)
    return comp


__all__ = ["Proxy", "PROXIES", "build_proxy"]
