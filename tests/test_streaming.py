"""Window streams: lockstep decoding (seek + read, several threads) hands over exactly what the front-to-back
decoder does, for every pad mode, crop length, bad file and header that lies; predictions match bit for bit."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import badfiles as B  # noqa: E402

from kit.audio import audio_info, iter_windows  # noqa: E402
from kit.config import AudioConfig  # noqa: E402
from kit.audio.streaming import Prefetch, lockstep_windows, produce_windows, read_windows, window_stream  # noqa: E402


def _items(stream) -> list:
    """(kind, file, row, crops or error text) with chunks joined per file, so chunk sizes do not matter."""
    out, rows = [], {}
    for kind, fi, row, payload in stream:
        if kind == "chunk":
            assert row == sum(len(c) for c in rows.get(fi, [])), "rows must arrive in order, without gaps"
            rows.setdefault(fi, []).append(payload[0])
        else:
            out.append((kind, fi, row, str(payload) if kind == "error" else None))
    joined = {fi: np.concatenate(c) for fi, c in rows.items()}
    return out, joined


@pytest.mark.parametrize("pad_mode", ["wrap", "constant", "reflect", "mirror"])
@pytest.mark.parametrize("crop_s", [5.0, 7.0, 3.0])
def test_read_windows_equals_front_to_back(shared_data, pad_mode, crop_s):
    path = shared_data / "field" / "birds_10s.ogg"  # 2 windows, the last one partial
    cfg = AudioConfig(pad_mode=pad_mode, crop_s=crop_s)
    n = audio_info(path)[0]
    streamed = list(iter_windows(path, cfg, batch_windows=1))
    whole = np.concatenate([b.crops for b in streamed])
    valid = np.concatenate([b.valid for b in streamed])
    for first, count in [(0, len(whole)), (0, 1), (1, 1)]:
        crops, got_valid = read_windows(path, cfg, first, count, n)
        np.testing.assert_array_equal(crops, whole[first:first + count])
        np.testing.assert_array_equal(got_valid, valid[first:first + count])


def test_lockstep_items_equal_background_items(shared_data, tmp_path):
    """Good files, a file at another rate, MP3 (decoded in order), stereo, a truncated OGG and WAV whose headers
    promise more frames, garbage and a missing file: the same items, the same samples, the same errors."""
    folder = B._mkdir(tmp_path / "mix")
    files = [shared_data / "field" / "field_1min.ogg", B.make_rate(folder, 44100),
             shared_data / "edge_cases" / "silence_10s.mp3", shared_data / "edge_cases" / "stereo.wav",
             B.make_truncated_ogg(folder), B.make_truncated(folder, "WAV"), B.make_garbage_ogg(folder),
             folder / "missing.ogg", shared_data / "field" / "birds_10s.ogg"]
    cfg = AudioConfig(pad_mode="reflect")
    background = Prefetch(produce_windows(files, cfg, 5))
    expected = _items(background)
    background.close()
    for threads in (1, 2, 3):
        stream = lockstep_windows(files, cfg, batch_windows=5, threads=threads)
        got = _items(stream)
        stream.close()
        assert got[0] == expected[0]
        assert got[1].keys() == expected[1].keys()
        for fi in expected[1]:
            np.testing.assert_array_equal(got[1][fi], expected[1][fi])
    kinds = {fi: kind for kind, fi, _, _ in expected[0]}
    assert kinds[0] == "done" and kinds[6] == "error" and kinds[7] == "error"


def test_header_that_lies_after_rows_were_handed_over(tmp_path):
    """A 20 s FLAC cut at half its bytes: the first chunks decode by seeking, a later one finds the file short
    and the rest comes from the front-to-back decoder, without repeating or losing a row."""
    path = B.make_truncated(B._mkdir(tmp_path / "t"), "FLAC")
    cfg = AudioConfig(crop_s=1.0, window_s=1.0)
    expected = _items(produce_windows([path], cfg, 2))
    got = _items(lockstep_windows([path], cfg, batch_windows=2, threads=1))
    assert got[0] == expected[0]
    np.testing.assert_array_equal(got[1][0], expected[1][0])
    assert len(got[1][0]) >= 4  # several windows were read before the end was found


def test_decode_mode_choice_and_bad_setting(monkeypatch):
    assert isinstance(window_stream([], AudioConfig(), 4, "cuda", "lockstep"), lockstep_windows)
    stream = window_stream([], AudioConfig(), 4, "cpu", "background")
    assert isinstance(stream, Prefetch)
    stream.close()
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert isinstance(window_stream([], AudioConfig(), 4, "cpu"), lockstep_windows)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    stream = window_stream([], AudioConfig(), 4, "cpu")
    assert isinstance(stream, Prefetch)
    stream.close()
    with pytest.raises(ValueError, match="decode='sometimes'"):
        window_stream([], AudioConfig(), 4, "cpu", "sometimes")


def test_predictions_identical_in_both_modes(shared_data, tmp_path, monkeypatch):
    import infer_helpers as H
    from kit.infer.predict import predict_soundscapes

    ckpt = H.tiny_checkpoint(tmp_path / "m.ckpt")
    folder = B._mkdir(tmp_path / "sc")
    for name in ("field_1min.ogg", "birds_10s.ogg"):
        (folder / name).symlink_to(shared_data / "field" / name)
    B.make_truncated_ogg(folder)
    frames = {}
    for mode in ("background", "lockstep"):
        frames[mode] = predict_soundscapes([ckpt], folder, device="cpu", decode=mode)
    assert frames["lockstep"].equals(frames["background"])
