"""Bad-input table: every entry point fed every awkward file gives a clear error naming the file and the
problem, or the documented fallback (never NaN features, never a bare traceback from deep inside).

The cases and their expected behaviour live in tests/badfiles.py (AUDIO_CASES, EDGE_CASES).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from kit.audio import AudioError, iter_windows, load_audio, load_crops
from kit.config import AudioConfig, FeatureConfig
from kit.features import extract

sys.path.insert(0, str(Path(__file__).parent))
import badfiles as B  # noqa: E402

AUDIO = AudioConfig(crop_s=2.0, window_s=2.0)
FEATURES = FeatureConfig(n_mels=32, n_fft=1024, n_mfcc=32)
ENTRY_POINTS = {
    "load_audio": lambda p: load_audio(p, AUDIO.sample_rate_hz),
    "load_crops": lambda p: load_crops(p, AUDIO, np.random.default_rng(0))[0],
    "iter_windows": lambda p: np.concatenate([b.crops for b in iter_windows(p, AUDIO, batch_windows=2)]),
}


def _assert_clear_error(exc: Exception, path: Path, words: str) -> None:
    message = str(exc)
    assert str(path) in message, f"error does not name the file: {message}"
    assert words.lower() in message.lower(), f"error does not say {words!r}: {message}"


def _assert_usable(samples: np.ndarray) -> None:
    assert samples.dtype == np.float32 and samples.size > 0
    assert np.isfinite(samples).all()
    feats = extract(samples.reshape(-1, samples.shape[-1])[:2], AUDIO, FEATURES)
    assert torch.isfinite(feats).all(), "features of a fallback input hold NaN/Inf"


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("case", B.AUDIO_CASES, ids=[c[0] for c in B.AUDIO_CASES])
def test_audio_entry_points(tmp_path, case, entry):
    case_id, maker, expected, words = case
    path = maker(tmp_path)
    if expected == "error":
        with pytest.raises(AudioError) as info:
            ENTRY_POINTS[entry](path)
        _assert_clear_error(info.value, path, words)
    else:
        _assert_usable(np.asarray(ENTRY_POINTS[entry](path)))


def test_fallbacks_are_the_documented_ones(tmp_path):
    """Channels are averaged, rates resampled, short files padded by the pad mode, silence stays finite."""
    stereo = load_audio(B.make_channels(tmp_path, 6), 32000)
    np.testing.assert_allclose(stereo, B.tone(2.0), atol=1e-4)  # 16-bit copies averaged = the tone
    for rate in (8000, 22050, 44100, 48000):
        x = load_audio(B.make_rate(tmp_path, rate), 32000)
        assert len(x) == 64000, f"{rate} Hz: 2 s should give 64000 samples at 32 kHz, got {len(x)}"
        assert np.isfinite(x).all() and np.abs(x).max() > 0.1
    for fmt, subtype in (("WAV", "PCM_24"), ("FLAC", "PCM_24"), ("FLAC", "PCM_16")):
        np.testing.assert_allclose(load_audio(B.make_subtype(tmp_path, fmt, subtype), 32000), B.tone(2.0),
                                   atol=1e-4 if subtype == "PCM_16" else 1e-6)
    short = B.make_shorter_than_hop(tmp_path, 100)
    crops, valid = load_crops(short, AUDIO)
    assert valid.tolist() == [100]
    np.testing.assert_array_equal(crops[0, 100:200], crops[0, :100])  # default pad mode wraps
    silent = extract(load_crops(B.make_silent(tmp_path), AUDIO)[0], AUDIO, FEATURES)
    assert torch.isfinite(silent).all() and float(silent.abs().max()) == 0.0  # constant map, normalized to 0


def test_truncated_header_promise(tmp_path):
    """A WAV whose header promises more frames than the file holds streams only the frames that exist."""
    path = B.write(tmp_path / "cut.wav", B.tone(6.0), subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    windows = list(iter_windows(path, AUDIO, batch_windows=1))
    total = sum(int(b.valid.sum()) for b in windows)
    assert 0 < total <= 3 * 32000 + 10 and len(windows) == 2


@pytest.mark.parametrize("name", sorted(B.EDGE_CASES))
def test_shared_edge_cases(shared_data, name):
    path = shared_data / "edge_cases" / name
    assert path.is_file(), f"edge case {name} missing from {path.parent}"
    expected, words = B.EDGE_CASES[name]
    for entry, call in ENTRY_POINTS.items():
        if expected == "error":
            with pytest.raises(AudioError) as info:
                call(path)
            _assert_clear_error(info.value, path, words)
        else:
            _assert_usable(np.asarray(call(path)))


def test_every_edge_case_file_is_in_the_table(shared_data):
    on_disk = {p.name for p in (shared_data / "edge_cases").iterdir() if p.suffix in (".wav", ".mp3", ".ogg")}
    assert on_disk <= set(B.EDGE_CASES), f"add these to badfiles.EDGE_CASES: {sorted(on_disk - set(B.EDGE_CASES))}"
