"""Audio: loading errors, pad modes, crops and soundscape windows (table-driven edge cases)."""
import numpy as np
import pytest
import soundfile as sf

from kit.audio import (AudioError, crop_starts, iter_windows, load_audio, load_crops, pad_to_length, segment,
                       split_crops, window_count, windows_from_array)
from kit.config import AudioConfig

NUMPY_MODE = {"wrap": "wrap", "constant": "constant", "reflect": "reflect", "mirror": "symmetric"}
MODES = list(NUMPY_MODE)
SR = 1000  # small sample rate keeps the tables readable: 1 s = 1000 samples


def cfg(**kw) -> AudioConfig:
    base = dict(sample_rate_hz=SR, crop_s=1.0, window_s=1.0, crops_per_recording=1, pad_mode="wrap")
    base.update(kw)
    return AudioConfig(**base)


def write(path, x, sr=SR, subtype=None):
    sf.write(str(path), x, sr, subtype=subtype)
    return path


# ---- padding -------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [1, 2, 3, 7, 100])
@pytest.mark.parametrize("length", [1, 5, 13, 250])
def test_pad_matches_numpy_even_when_pad_is_longer_than_signal(mode, n, length):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    expected = np.pad(x, (0, max(0, length - n)), mode=NUMPY_MODE[mode])[:length]
    got = pad_to_length(x, length, mode)
    assert got.dtype == np.float32 and got.shape == (length,)
    np.testing.assert_array_equal(got, expected)


def test_mirror_is_the_reversed_copy_appended():
    x = np.arange(1, 11, dtype=np.float32)  # "10 s -> 20 s with the reversed copy appended"
    np.testing.assert_array_equal(pad_to_length(x, 20, "mirror"), np.concatenate([x, x[::-1]]))
    np.testing.assert_array_equal(pad_to_length(x, 13, "reflect"), np.r_[x, 9, 8, 7])
    np.testing.assert_array_equal(pad_to_length(x, 13, "wrap"), np.r_[x, 1, 2, 3])
    np.testing.assert_array_equal(pad_to_length(x, 13, "constant"), np.r_[x, 0, 0, 0])


@pytest.mark.parametrize("mode", MODES)
def test_pad_of_empty_signal_is_silence_and_truncation_keeps_the_start(mode):
    assert not pad_to_length(np.zeros(0, np.float32), 8, mode).any()
    x = np.arange(50, dtype=np.float32)
    np.testing.assert_array_equal(pad_to_length(x, 20, mode), x[:20])


# ---- crops ---------------------------------------------------------------------------------------
CASES = {  # name: number of samples, for crop = 1000 samples (hop-sized edge cases below one crop)
    "shorter_than_one_hop": 300, "one_sample": 1, "half_crop": 500, "exactly_one_crop": 1000,
    "one_sample_more": 1001, "two_and_a_half_crops": 2500, "much_longer": 60_000,
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("k", [1, 3])
def test_deterministic_crops_are_consecutive_slices_of_the_padded_recording(mode, case, k):
    n = CASES[case]
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    c = cfg(pad_mode=mode, crops_per_recording=k)
    crops, valid = split_crops(x, c)
    assert crops.shape == (k, 1000) and crops.dtype == np.float32
    padded = np.pad(x, (0, max(0, k * 1000 - n)), mode=NUMPY_MODE[mode])[: k * 1000]
    np.testing.assert_array_equal(crops.reshape(-1), padded)
    np.testing.assert_array_equal(valid, np.clip(n - 1000 * np.arange(k), 0, 1000))


def test_random_crops_use_the_generator_and_stay_consecutive():
    x = np.arange(10_000, dtype=np.float32)
    c = cfg(crops_per_recording=3)
    a, _ = split_crops(x, c, np.random.default_rng(7))
    b, _ = split_crops(x, c, np.random.default_rng(7))
    other, _ = split_crops(x, c, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, other)
    flat = a.reshape(-1)
    np.testing.assert_array_equal(np.diff(flat), np.ones(len(flat) - 1))  # one contiguous run of 3 crops
    starts = {int(crop_starts(10_000, c, np.random.default_rng(s))[0]) for s in range(200)}
    assert min(starts) >= 0 and max(starts) <= 10_000 - 3000 and len(starts) > 100


def test_load_crops_reads_only_what_it_needs_and_equals_whole_load(tmp_path, monkeypatch):
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 40_000).astype(np.float32)
    path = write(tmp_path / "long.wav", x, subtype="FLOAT")
    c = cfg(crops_per_recording=2)
    calls = []
    real_read = sf.read
    monkeypatch.setattr(sf, "read", lambda *a, **kw: calls.append(kw) or real_read(*a, **kw))
    crops, valid = load_crops(path, c, np.random.default_rng(3))
    assert calls and calls[0].get("stop") - calls[0].get("start") == 2000  # a 2000-sample read, not 40000
    start = int(crop_starts(len(x), c, np.random.default_rng(3))[0])
    np.testing.assert_array_equal(crops.reshape(-1), x[start:start + 2000])
    np.testing.assert_array_equal(valid, [1000, 1000])


# ---- windows -------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [1, 999, 1000, 1001, 4321])
def test_windows_cover_the_recording_and_pad_the_last_partial_window(mode, n, tmp_path):
    x = np.random.default_rng(n).uniform(-0.5, 0.5, n).astype(np.float32)
    c = cfg(pad_mode=mode)
    batches = list(windows_from_array(x, c, batch_windows=2))
    ends = np.concatenate([b.end_s for b in batches])
    np.testing.assert_array_equal(ends, np.arange(1, window_count(n, c) + 1))
    crops = np.concatenate([b.crops for b in batches])
    padded = np.pad(x, (0, len(ends) * 1000 - n), mode=NUMPY_MODE[mode])
    np.testing.assert_array_equal(crops.reshape(-1), padded)
    # streaming from a file gives the very same windows, for any block size
    path = write(tmp_path / "s.wav", x, subtype="FLOAT")
    for batch_windows in (1, 3, 64):
        streamed = np.concatenate([b.crops for b in iter_windows(path, c, batch_windows)])
        np.testing.assert_array_equal(streamed, crops)


def test_windows_equal_deterministic_training_crops_when_crop_equals_window():
    x = np.random.default_rng(1).standard_normal(3500).astype(np.float32)
    for mode in MODES:
        c = cfg(pad_mode=mode, crops_per_recording=4)
        crops, valid = split_crops(x, c)
        windows = next(windows_from_array(x, c, batch_windows=8))
        np.testing.assert_array_equal(windows.crops, crops)
        np.testing.assert_array_equal(windows.valid, valid)


def test_longer_crop_than_window_is_centred_on_the_window():
    x = np.arange(5000, dtype=np.float32)
    c = cfg(crop_s=3.0, window_s=1.0, pad_mode="constant")
    crops = np.concatenate([b.crops for b in windows_from_array(x, c)])
    assert crops.shape == (5, 3000)
    assert crops[0, 0] == 0 and crops[2, 0] == 1000 and crops[4, 0] == 3000  # centred, never before 0
    assert crops[4, 1999] == 4999 and not crops[4, 2000:].any()              # tail padded


# ---- load_audio ----------------------------------------------------------------------------------
def test_load_audio_mono_resample_and_channels(tmp_path):
    t = np.arange(8000) / 8000
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    stereo = write(tmp_path / "stereo.wav", np.stack([tone, -tone * 0 + tone], 1), sr=8000)
    five_one = write(tmp_path / "51.flac", np.repeat(tone[:, None], 6, 1), sr=8000, subtype="PCM_24")
    for path in (stereo, five_one):
        y = load_audio(path, 16000)
        assert y.dtype == np.float32 and y.ndim == 1 and abs(len(y) - 16000) <= 1
        spectrum = np.abs(np.fft.rfft(y))
        assert abs(np.argmax(spectrum) * 16000 / len(y) - 440) < 2  # pitch survives the resampling


@pytest.mark.parametrize("make, problem", [
    (lambda p: p, "file not found"),
    (lambda p: (p.write_bytes(b""), p)[1], "0 bytes"),
    (lambda p: (p.write_text("this is not audio"), p)[1], "not a readable audio file"),
    (lambda p: write(p.with_suffix(".wav"), np.zeros((0, 2), np.float32)), "0 samples"),
    (lambda p: write(p.with_suffix(".wav"), np.array([0.1, np.nan, 0.2], np.float32), subtype="FLOAT"), "NaN"),
    (lambda p: write(p.with_suffix(".wav"), np.array([0.1, np.inf], np.float32), subtype="FLOAT"), "Inf"),
])
def test_load_audio_errors_name_the_file_and_the_problem(tmp_path, make, problem):
    path = make(tmp_path / "bad.ogg")
    with pytest.raises(AudioError) as info:
        load_audio(path, SR)
    assert str(path) in str(info.value) and problem in str(info.value)


def test_segment_beyond_the_end_is_padding_only():
    x = np.arange(1, 4, dtype=np.float32)
    np.testing.assert_array_equal(segment(x, 3, 3, "wrap"), [1, 2, 3])
    np.testing.assert_array_equal(segment(x, 3, 3, "mirror"), [3, 2, 1])
    np.testing.assert_array_equal(segment(x, 3, 3, "constant"), [0, 0, 0])


# ---- window rows (pseudo-label CSVs, teacher-embedding files) ------------------------------------------
def test_window_rows_resolve_ends_to_windows_and_name_the_bad_row(tmp_path):
    from kit.audio import WindowRowError, window_rows

    write(tmp_path / "a.wav", np.zeros(int(2.5 * SR), dtype=np.float32))   # 2.5 s: windows ending at 1, 2, 3 s
    write(tmp_path / "b.wav", np.zeros(SR, dtype=np.float32), sr=2 * SR)   # 0.5 s at another rate: one window
    paths, windows = window_rows(tmp_path, ["a.wav", "b.wav", "a.wav"], [3.0, 1.0, 1.0], cfg())
    assert paths.tolist() == [str(tmp_path / n) for n in ("a.wav", "b.wav", "a.wav")]
    assert windows.tolist() == [2, 0, 0] and windows.dtype == np.int64
    for names, ends, row, text, missing in [(["a.wav", "a.wav"], [1.0, 4.0], 8, "is not one of the 3 windows", False),
                                            (["a.wav"], [1.5], 7, "window ending at 1.5 s", False),
                                            (["a.wav", "gone.wav"], [1.0, 1.0], 8, "gone.wav", True)]:
        with pytest.raises(WindowRowError) as info:
            window_rows(tmp_path, names, ends, cfg(), first_row=7)
        assert info.value.row == row and text in str(info.value) and info.value.missing == missing
        assert str(info.value).startswith(f"row {row}: ")
