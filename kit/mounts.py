"""Where Kaggle mounts the competition data: BirdCLEF+ 2026 under `/kaggle/input/competitions/birdclef-2026/`,
earlier years (and 2026 in some notebooks) under `/kaggle/input/birdclef-<year>/`.

`find_competition()` returns the first folder of `competition_candidates()` that exists and says which in the
log: 2026 under the new mount, 2026 under the old one, then any other `birdclef-*` folder under either mount,
newest first. The notebooks use it when no path is given."""
from __future__ import annotations

from pathlib import Path

KAGGLE_INPUT = Path("/kaggle/input")
COMPETITION = "birdclef-2026"


def competition_candidates(root=KAGGLE_INPUT, name: str = COMPETITION) -> list:
    """The folders looked at, in order: root/competitions/<name>, root/<name>, then the other birdclef-* folders
    under root/competitions/ and root/, newest (highest name) first."""
    root = Path(root)
    first = [root / "competitions" / name, root / name]
    others = [p for base in (root / "competitions", root) for p in base.glob("birdclef-*") if p not in first]
    return first + sorted(others, key=lambda p: (p.name, p.parent == root / "competitions"), reverse=True)


def find_competition(root=KAGGLE_INPUT, name: str = COMPETITION, log=print) -> Path:
    """The first candidate folder that exists (competition_candidates), said through `log`; FileNotFoundError
    naming the folders looked at when none does (pass the data folder explicitly then)."""
    candidates = competition_candidates(root, name)
    for path in candidates:
        if path.is_dir():
            log(f"competition data: {path} (the first that exists of {', '.join(map(str, candidates[:2]))}"
                f"{' and other birdclef-* folders' if len(candidates) > 2 else ''})")
            return path
    raise FileNotFoundError(f"no competition folder found: none of {', '.join(map(str, candidates))} exists; attach "
                            f"the competition's data or give the data folder explicitly")


__all__ = ["KAGGLE_INPUT", "COMPETITION", "competition_candidates", "find_competition"]
