"""Shared fixtures. Real audio lives in ../shared/data beside the repo (never copied in)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in test logs (tqdm >= 4.66 reads it)
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # pretrained=auto (the default) reads only the hub cache in tests


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip with the reason when it is absent."""
    if not (SHARED_DATA / "esc50" / "metadata.csv").is_file():
        pytest.skip(f"real audio not found at {SHARED_DATA} (put shared/ beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def esc50_clips(shared_data) -> list:
    """[(path, label)] of the ESC-50 clips, sorted."""
    import pandas as pd

    meta = pd.read_csv(shared_data / "esc50" / "metadata.csv")
    return [(shared_data / "esc50" / f, lab) for f, lab in zip(meta["filename"], meta["label"])]
