"""How many ensemble members fit the time budget: a cost model measured on this machine.

With a shared front-end, a batch of windows costs a fixed part (decode + features, once per group) plus a part
per member (its network). Two end-to-end timings on the same windows, one member and N members sharing the
front-end, give both; `members_that_fit` turns them into the largest ensemble whose test set (default 52,800
windows, the 2024 test) fits the budget (default 90 min) with a safety margin. `estimate_members` measures
them on the notebook's own checkpoints and a few windows of its own audio, so a submission notebook can choose
its ensemble size before it runs out of time; `kit bench inference --members N` prints the same figure.
"""
from __future__ import annotations

import math
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

TEST_WINDOWS = 52_800   # BirdCLEF 2024's hidden test: 1,100 soundscapes of 4 min in 5 s windows
BUDGET_MIN = 90.0
SAFETY = 0.9            # share of the budget the estimate may plan for (load time, drift, the file write)


@dataclass
class FitEstimate:
    fixed_s_per_window: float       # decode + shared front-end, paid once per window
    member_s_per_window: float      # one member's network per window
    members_that_fit: int
    test_windows: int
    budget_s: float
    probe_windows: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def split_costs(one_member_s: float, n_members_s: float, n_members: int, windows: int) -> tuple:
    """(fixed, per-member) seconds per window from two timings of the same windows with a shared front-end:
    one member, and n_members (> 1). Noise never makes either negative."""
    if n_members < 2 or windows <= 0:
        raise ValueError(f"split_costs needs >= 2 members and > 0 windows, got {n_members} and {windows}")
    member = max(0.0, (n_members_s - one_member_s) / (windows * (n_members - 1)))
    fixed = max(0.0, one_member_s / windows - member)
    if member == 0.0:  # N members measured no slower than one (noise): charge the whole cost per member
        member = one_member_s / windows
    return fixed, member


def members_that_fit(fixed_s_per_window: float, member_s_per_window: float, test_windows: int = TEST_WINDOWS,
                     budget_s: float = BUDGET_MIN * 60, safety: float = SAFETY) -> int:
    """Largest M with test_windows * (fixed + M * member) <= safety * budget_s (0 when not even one fits)."""
    if member_s_per_window <= 0:
        raise ValueError(f"member_s_per_window={member_s_per_window} must be > 0")
    per_window_s = safety * budget_s / max(1, test_windows)
    return max(0, math.floor((per_window_s - fixed_s_per_window) / member_s_per_window + 1e-9))


def _probe_file(files: list, seconds: float, sample_rate_hz: int, folder: Path) -> Path:
    """The first `seconds` of the first readable files, written as one WAV (the probe soundscape)."""
    import numpy as np
    import soundfile as sf

    from kit.audio import AudioError, load_audio

    parts, have = [], 0
    for path in files:
        try:
            x = load_audio(path, sample_rate_hz)
        except AudioError:
            continue
        parts.append(x[: int((seconds - have) * sample_rate_hz)])
        have += len(parts[-1]) / sample_rate_hz
        if have >= seconds:
            break
    if not parts:
        raise ValueError(f"no readable audio to measure the members on among {len(files)} file(s)")
    out = folder / "probe.wav"
    sf.write(str(out), np.concatenate(parts), sample_rate_hz, subtype="FLOAT")
    return out


def estimate_members(checkpoints, audio, budget_min: float = BUDGET_MIN, test_windows: int = TEST_WINDOWS,
                     runtime: str = "torch", precision: str = "fp32", probe_s: float = 120.0, device="cpu",
                     safety: float = SAFETY) -> FitEstimate:
    """Measure the notebook's own members on `probe_s` seconds of `audio` (a folder or files) and estimate how
    many members of this kind fit `test_windows` windows in `budget_min` minutes. Members are loaded once;
    the probe runs the first member alone, then all of them with the shared front-end (after a warm-up)."""
    from kit.infer.members import load_members
    from kit.infer.predict import _list_files, predict_soundscapes

    files = _list_files(audio)
    members = load_members(checkpoints, device, runtime, True, precision, files[:8])
    if len(members) < 2:
        members = members * 2  # the same member twice: the second run costs its network only
    with tempfile.TemporaryDirectory(prefix="kit-fit-") as tmp:
        probe = _probe_file(files, probe_s, members[0].config.audio.sample_rate_hz, Path(tmp))
        predict_soundscapes(members[:1], probe, device=device)  # warm-up (thread pools, allocator)
        timings = {}
        for key, chosen in (("one", members[:1]), ("all", members)):
            start = time.perf_counter()
            frame = predict_soundscapes(chosen, probe, device=device)
            timings[key] = time.perf_counter() - start
    fixed, member = split_costs(timings["one"], timings["all"], len(members), len(frame))
    fit = members_that_fit(fixed, member, test_windows, budget_min * 60, safety)
    return FitEstimate(fixed, member, fit, test_windows, budget_min * 60, len(frame))


__all__ = ["FitEstimate", "split_costs", "members_that_fit", "estimate_members", "TEST_WINDOWS", "BUDGET_MIN"]
