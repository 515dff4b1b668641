"""The real-bird proxy builder (kit.compete.birds) on synthetic long recordings: the seeded recording-grouped
split, the BirdCLEF 2025 layout kit reads, the test windows and their labels, the field-background variant."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from kit.compete.birds import BirdProxyError, BirdSettings, make_bird_competition, split_recordings
from kit.compete.competition import write_ogg

SR = 8000
LABELS = ("aaabbb", "cccddd", "eeefff")


def _recordings(root, per_label=5, seconds=(7.0, 23.0)):
    """per_label recordings per label of a label-specific tone in noise, 7-23 s long."""
    rng = np.random.default_rng(0)
    rows = []
    for k, label in enumerate(LABELS):
        for i in range(per_label):
            n = int(rng.uniform(*seconds) * SR)
            t = np.arange(n) / SR
            x = 0.3 * np.sin(2 * np.pi * (500 + 700 * k) * t) + 0.01 * rng.standard_normal(n)
            name = f"audio/{label}/XC{k}{i}.ogg"
            write_ogg(root / name, x.astype(np.float32), SR)
            rows.append({"filename": name, "primary_label": label, "secondary_labels": "['zzzzzz']",
                         "rating": "0" if i == 0 else "4", "author": f"rec{i % 2}", "source": f"XC{k}{i}",
                         "scientific_name": f"Genus{k} species"})
    pd.DataFrame(rows).to_csv(root / "recordings.csv", index=False)
    return root / "recordings.csv"


def _background(root):
    x = (0.05 * np.random.default_rng(1).standard_normal(30 * SR)).astype(np.float32)
    write_ogg(root / "bg" / "site.ogg", x, SR)
    windows = pd.DataFrame({"filename": "site.ogg", "start_s": np.arange(6) * 5.0, "end_s": np.arange(1, 7) * 5.0,
                            "nocall": [True, False] * 3})
    windows.to_csv(root / "bg" / "windows.csv", index=False)
    return root / "bg"


def test_split_is_seeded_grouped_and_keeps_every_role_per_label(tmp_path):
    from kit.compete.birds import read_recordings

    table = read_recordings(_recordings(tmp_path))
    settings = BirdSettings(test_frac=0.4, unlabeled_frac=0.2)
    role = split_recordings(table, settings, np.random.default_rng(3))
    assert role.equals(split_recordings(table, settings, np.random.default_rng(3)))
    assert not role.equals(split_recordings(table, settings, np.random.default_rng(4)))
    counts = pd.crosstab(table["primary_label"], role)
    assert (counts["test"] == 2).all() and (counts["unlabeled"] == 1).all() and (counts["train"] == 2).all()
    by_author = split_recordings(table, BirdSettings(group_column="author", unlabeled_frac=0.0),
                                 np.random.default_rng(0))
    for _, mine in table.assign(role=by_author).groupby(["primary_label", "author"]):
        assert mine["role"].nunique() == 1       # one recordist's recordings of a label stay on one side
    with pytest.raises(BirdProxyError, match="need at least 3"):
        split_recordings(table.groupby("primary_label").head(2), settings, np.random.default_rng(0))


def test_competition_has_the_birdclef_2025_layout_kit_reads(tmp_path):
    from kit.formats import competition_labels
    from kit.train.labels import read_labels

    comp = make_bird_competition(_recordings(tmp_path), tmp_path / "comp", seed=0,
                                 settings=BirdSettings(sample_rate_hz=SR, max_windows=3, unlabeled_windows=2))
    info = json.loads((comp / "competition.json").read_text())
    train = pd.read_csv(comp / "train.csv")
    assert list(train.columns[:4]) == ["primary_label", "secondary_labels", "type", "filename"]
    assert {"rating", "author"} <= set(train.columns) and len(train) == len(info["split"]["train"])
    assert set(train["rating"]) <= {0.0, 4.0}
    assert competition_labels(comp).labels == list(LABELS)
    table = read_labels(comp)
    assert len(table) == len(train) and table.frame["path"].map(lambda p: sf.info(p).duration > 5).all()
    assert not set(info["split"]["train"]) & (set(info["split"]["test"]) | set(info["split"]["unlabeled"]))
    solution = pd.read_csv(comp / "solution.csv")
    assert (pd.read_csv(comp / "sample_submission.csv")["row_id"] == solution["row_id"]).all()
    for source in info["split"]["test"]:
        frames = sf.info(str(comp / "test_soundscapes" / f"{source}.ogg")).frames
        rows = solution[solution["row_id"].str.startswith(f"{source}_")]
        assert frames == len(rows) * 5 * SR and 1 <= len(rows) <= 3       # whole windows, at most max_windows
    per_row = solution[list(LABELS)].sum(axis=1)
    assert (per_row == 1).all()                                             # one species per window, no no-call
    assert len(list((comp / "train_soundscapes").glob("*.ogg"))) == len(info["split"]["unlabeled"])


def test_test_windows_carry_their_recordings_label(tmp_path):
    recordings = _recordings(tmp_path)
    comp = make_bird_competition(recordings, tmp_path / "comp", seed=1, settings=BirdSettings(sample_rate_hz=SR))
    table = pd.read_csv(recordings).set_index("source")
    solution = pd.read_csv(comp / "solution.csv")
    for row_id, *values in solution.itertuples(index=False):
        source = row_id.rsplit("_", 1)[0]
        assert dict(zip(LABELS, values))[table.loc[source, "primary_label"]] == 1


def test_field_background_mixes_and_leaves_nocall_windows_unlabelled(tmp_path):
    recordings = _recordings(tmp_path, per_label=6, seconds=(40.0, 60.0))
    settings = BirdSettings(sample_rate_hz=SR, nocall_frac=0.5, snr_db=(0.0, 0.0))
    plain = make_bird_competition(recordings, tmp_path / "plain", seed=2, settings=BirdSettings(sample_rate_hz=SR))
    field = make_bird_competition(recordings, tmp_path / "field", seed=2, settings=settings,
                                  background_dir=_background(tmp_path))
    assert json.loads((plain / "competition.json").read_text())["split"] == \
        json.loads((field / "competition.json").read_text())["split"]      # same recordings, another setting
    solution = pd.read_csv(field / "solution.csv")
    empty = solution[list(LABELS)].sum(axis=1) == 0
    assert 0.2 < empty.mean() < 0.8                                         # about nocall_frac of the windows
    source = solution["row_id"][empty].iloc[0].rsplit("_", 1)
    x, _ = sf.read(str(field / "test_soundscapes" / f"{source[0]}.ogg"))
    window = x[(int(source[1]) - 5) * SR: int(source[1]) * SR]
    spectrum = np.abs(np.fft.rfft(window))
    tone_bins = [int(round(f * len(window) / SR)) for f in (500, 1200, 1900)]
    assert spectrum[tone_bins].max() < 20 * np.median(spectrum)             # background alone: no tone in it
    assert np.std(window) > 0.01


def test_bench_builds_both_bird_proxies_and_trains_once_for_both(tmp_path, monkeypatch):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    import train_data as D  # noqa: E402

    import kit.train
    from kit.bench.quality import bench_quality

    birds = tmp_path / "birds"
    (birds / "xc_reed").mkdir(parents=True)
    _recordings(birds / "xc_reed")
    _background(tmp_path).rename(birds / "field_background")
    calls = []
    real_train = kit.train.train
    monkeypatch.setattr(kit.train, "train", lambda *a, **k: calls.append(a[1]) or real_train(*a, **k))
    summary = bench_quality(tmp_path / "q", ["xc-reed", "xc-reed-field"], [0], [("defaults", [])],
                            extra=D.TINY + ["epochs=1"], baseline=False, birds=birds)
    results = pd.read_csv(tmp_path / "q" / "results.csv").set_index("proxy")
    assert len(calls) == 1 and str(calls[0]).endswith("xc-reed_seed0")    # one training serves both tests
    assert "the model of xc-reed" in results.loc["xc-reed-field", "changes"]
    assert results.loc["xc-reed", "train_s"] == results.loc["xc-reed-field", "train_s"]
    assert (tmp_path / "q" / "runs" / "xc-reed-field" / "defaults_seed0" / "best.ckpt").is_file()
    assert np.isfinite(summary[["xc-reed top-1", "xc-reed-field ROC-AUC"]].to_numpy()).all()


def test_training_data_key_sees_the_audio_not_only_the_metadata(tmp_path):
    from kit.bench.reuse import training_data_key

    import shutil

    sources = [write_ogg(tmp_path / f"s{k}.ogg", np.full(SR, 0.1 * (k + 1), np.float32), SR) for k in range(2)]
    comps = []
    for k, source in enumerate([sources[0], sources[0], sources[1]]):   # the proxies link the same files
        comp = tmp_path / f"c{k}"
        (comp / "train_audio" / "a").mkdir(parents=True)
        shutil.copyfile(source, comp / "train_audio" / "a" / "x.ogg")
        (comp / "train.csv").write_text("primary_label,filename\na,a/x.ogg\n")
        comps.append(training_data_key(comp))
    assert comps[0] == comps[1] and comps[0] != comps[2]      # same names, other samples: not the same training
