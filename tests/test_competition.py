"""make-competition: layout, no train/soundscape leakage, ground truth = mixed windows, seed determinism, errors."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from kit.audio import load_audio
from kit.cli import main
from kit.compete.competition import make_competition, read_clips, split_clips
from kit.compete.synth import CALLS, make_clip_set, synth_clip

SR = 16000
TONE_ON_S, TONE_OFF_S = 1.0, 2.0   # every hand-made clip: silence, a 1 s tone at [1, 2) s, silence


@pytest.fixture(scope="module")
def tone_clips(tmp_path_factory):
    """4 labels x 3 clips of 3 s whose only non-silent part is a tone at [1, 2) s (known active time)."""
    root = tmp_path_factory.mktemp("tones")
    rows = []
    t = np.arange(int(SR * (TONE_OFF_S - TONE_ON_S))) / SR
    for j, label in enumerate(["aa", "bb", "cc", "dd"]):
        for i in range(3):
            x = np.zeros(3 * SR, dtype=np.float32)
            x[int(TONE_ON_S * SR): int(TONE_OFF_S * SR)] = 0.5 * np.sin(2 * np.pi * (500 + 700 * j + 20 * i) * t)
            name = f"clips/{label}_{i}.wav"
            (root / "clips").mkdir(exist_ok=True)
            sf.write(root / name, x, SR)
            rows.append({"filename": name, "label": label, "rec": f"{label}{i // 2}"})
    pd.DataFrame(rows).to_csv(root / "clips.csv", index=False)
    return root / "clips.csv"


@pytest.fixture(scope="module")
def tone_comp(tone_clips, tmp_path_factory):
    out = tmp_path_factory.mktemp("comp")
    make_competition(tone_clips, out, n_soundscapes=3, soundscape_s=20.0, seed=7, sample_rate_hz=SR)
    return out


def test_layout_and_row_ids(tone_comp):
    sample = pd.read_csv(tone_comp / "sample_submission.csv")
    solution = pd.read_csv(tone_comp / "solution.csv")
    meta = pd.read_csv(tone_comp / "train_metadata.csv")
    assert list(sample.columns) == ["row_id", "aa", "bb", "cc", "dd"] == list(solution.columns)
    assert list(sample["row_id"]) == list(solution["row_id"])
    assert sample["row_id"].iloc[:4].tolist() == [f"soundscape_000_{s}" for s in (5, 10, 15, 20)]
    assert len(solution) == 3 * 4 and set(np.unique(solution.iloc[:, 1:])) <= {0, 1}
    assert {"primary_label", "secondary_labels", "filename"} <= set(meta.columns)
    assert (meta["secondary_labels"] == "[]").all()
    for label, rel in zip(meta["primary_label"], meta["filename"]):
        assert rel.startswith(f"{label}/") and (tone_comp / "train_audio" / rel).is_file()
    for k in range(3):
        info = sf.info(str(tone_comp / "test_soundscapes" / f"soundscape_{k:03d}.ogg"))
        assert (info.samplerate, info.channels, info.format) == (SR, 1, "OGG")
        assert abs(info.frames - 20 * SR) < SR // 100


def test_no_recording_in_both_train_and_soundscapes(tone_comp, tone_clips):
    info = json.loads((tone_comp / "competition.json").read_text())
    events = pd.read_csv(tone_comp / "events.csv")
    assert set(info["train_clips"]).isdisjoint(set(events["source"]))
    assert set(info["train_clips"]).isdisjoint(set(info["soundscape_clips"]))
    # grouping column: the two clips of one recording ("aa0") stay on one side
    clips = read_clips(tone_clips, group_column="rec")
    train, held = split_clips(clips, 0.4, np.random.default_rng(0))
    assert set(train["group"]).isdisjoint(set(held["group"]))
    assert set(train["label"]) == set(held["label"]) == {"aa", "bb", "cc", "dd"}
    # copied training audio is byte-identical to a training clip, never to a held-out one
    copied = {p.read_bytes() for p in (tone_comp / "train_audio").rglob("*.wav")}
    assert copied == {open(p, "rb").read() for p in info["train_clips"]}
    assert copied.isdisjoint({open(p, "rb").read() for p in info["soundscape_clips"]})


def test_ground_truth_follows_the_mixed_windows(tone_comp):
    events = pd.read_csv(tone_comp / "events.csv")
    solution = pd.read_csv(tone_comp / "solution.csv").set_index("row_id")
    expected = pd.DataFrame(0, index=solution.index, columns=solution.columns)
    for _, ev in events.iterrows():
        on, off = ev.start_s + TONE_ON_S, ev.start_s + TONE_OFF_S  # the tone inside the soundscape
        for w in range(4):
            overlap = max(0.0, min(off, 5.0 * (w + 1)) - max(on, 5.0 * w))
            if overlap >= 0.5 - 1e-3:  # rule: >= min(0.5 s, half of the 1 s active time)
                expected.loc[f"{ev.soundscape}_{5 * (w + 1)}", ev.label] = 1
    pd.testing.assert_frame_equal(solution, expected)
    assert solution.to_numpy().sum() > 0
    # the audio really holds the tone where the events say at its level (noise is at -42 dBFS)
    ev = events.iloc[0]
    x = load_audio(tone_comp / "test_soundscapes" / f"{ev.soundscape}.ogg", SR)
    tone = x[int((ev.start_s + 1.2) * SR): int((ev.start_s + 1.8) * SR)]
    assert np.sqrt(np.mean(tone ** 2)) > 0.7 * 10 ** (ev.level_dbfs / 20) > 3 * 10 ** (-42 / 20)


def test_seed_determinism(tone_clips, tone_comp, tmp_path):
    make_competition(tone_clips, tmp_path / "again", n_soundscapes=3, soundscape_s=20.0, seed=7, sample_rate_hz=SR)
    for name in ("solution.csv", "events.csv", "train_metadata.csv", "sample_submission.csv"):
        assert (tmp_path / "again" / name).read_text() == (tone_comp / name).read_text(), name
    a = load_audio(tmp_path / "again" / "test_soundscapes" / "soundscape_001.ogg", SR)
    b = load_audio(tone_comp / "test_soundscapes" / "soundscape_001.ogg", SR)
    np.testing.assert_array_equal(a, b)
    make_competition(tone_clips, tmp_path / "other", n_soundscapes=3, soundscape_s=20.0, seed=8, sample_rate_hz=SR)
    assert (tmp_path / "other" / "events.csv").read_text() != (tone_comp / "events.csv").read_text()


def test_unlabeled_soundscapes_leave_the_test_folder_unchanged(tone_clips, tone_comp, tmp_path):
    """--unlabeled N draws from its own generator, after the test: the proxies gained train_soundscapes/ without
    changing the test soundscapes their figures were measured on."""
    out = tmp_path / "with"
    make_competition(tone_clips, out, n_soundscapes=3, soundscape_s=20.0, seed=7, sample_rate_hz=SR, n_unlabeled=2)
    for name in ("solution.csv", "events.csv", "train_metadata.csv"):
        assert (out / name).read_text() == (tone_comp / name).read_text(), name
    for k in range(3):
        name = f"soundscape_{k:03d}.ogg"
        np.testing.assert_array_equal(load_audio(out / "test_soundscapes" / name, SR),
                                      load_audio(tone_comp / "test_soundscapes" / name, SR))
    unlabeled = sorted((out / "train_soundscapes").glob("*.ogg"))
    assert [p.name for p in unlabeled] == ["unlabeled_000.ogg", "unlabeled_001.ogg"]
    first = load_audio(unlabeled[0], SR)
    assert not np.array_equal(first, load_audio(out / "test_soundscapes" / "soundscape_000.ogg", SR))


def _csv(tmp_path, rows, columns=("filename", "label")):
    path = tmp_path / "c.csv"
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


def test_clear_errors(tone_clips, tmp_path):
    root = tone_clips.parent
    one = tmp_path / "one"
    with pytest.raises(ValueError, match=r"aa \(1\).*fewer than 2"):
        rows = [(str(root / "clips/aa_0.wav"), "aa"), (str(root / "clips/bb_0.wav"), "bb"),
                (str(root / "clips/bb_1.wav"), "bb")]
        make_competition(_csv(root, [(p.replace(str(root) + "/", ""), lab) for p, lab in rows]), one, 1, 10.0)
    with pytest.raises(ValueError, match="missing column"):
        make_competition(_csv(root, [("clips/aa_0.wav", "aa")], ("file", "label")), one, 1, 10.0)
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        make_competition(_csv(root, [("clips/nope.wav", "aa")]), one, 1, 10.0)
    with pytest.raises(ValueError, match="escapes"):
        make_competition(_csv(root, [("../../etc/passwd", "aa")]), one, 1, 10.0)
    with pytest.raises(ValueError, match="multiple of 5"):
        make_competition(tone_clips, one, 1, 12.0)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("keep")
    with pytest.raises(ValueError, match="refusing to overwrite"):
        make_competition(tone_clips, tmp_path / "busy", 1, 10.0, sample_rate_hz=SR)
    assert main(["make-competition", "--clips", str(root / "none.csv"), "--out", str(one)]) == 2


def test_synth_clips_and_cli(tmp_path, capsys):
    x = synth_clip("chirp_up", 2.0, SR, np.random.default_rng(0))
    assert x.dtype == np.float32 and len(x) == 2 * SR and 0.05 < np.abs(x).max() <= 1
    csv = make_clip_set(tmp_path / "clips", n_classes=3, clips_per_class=2, clip_s=2.0, sample_rate_hz=SR, seed=1)
    table = pd.read_csv(csv)
    assert sorted(table["label"].unique()) == sorted(list(CALLS)[:3]) and len(table) == 6
    code = main(["make-competition", "--clips", str(csv), "--out", str(tmp_path / "c"), "--soundscapes", "1",
                 "--soundscape-s", "10", "--sample-rate-hz", str(SR)])
    assert code == 0 and "3 labels" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "c" / "solution.csv")) == 2


def test_esc50_split_keeps_source_recordings_apart(shared_data):
    clips = read_clips(shared_data / "esc50" / "metadata.csv")   # groups by src_file automatically
    train, held = split_clips(clips, 0.4, np.random.default_rng(0))
    assert set(train["group"]).isdisjoint(set(held["group"]))
    assert set(train["label"]) == set(held["label"]) and len(set(train["label"])) == 25
