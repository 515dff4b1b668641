"""K-fold training: folds never share a recording or a group, the OOF file covers every training recording
once with the fold model's validation-path probabilities, an interrupted run resumes, bad settings are refused."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import train_data as D  # noqa: E402
from kit.config import Config  # noqa: E402
from kit.train.splits import FoldError, assign_folds  # noqa: E402

FAST = D.TINY + ["epochs=1", "device=cpu", "amp=false", "batch_size=6"]


def _authored(tmp_path) -> Path:
    """18 tone clips; the two clips of each (label, author) pair share an author."""
    csv = D.tone_clips(tmp_path / "data", per_label=6)
    frame = pd.read_csv(csv)
    frame["author"] = [f"{label}-{i // 2}" for label in ("low", "mid", "high") for i in range(6)]
    frame.to_csv(csv, index=False)
    return csv


def test_folds_never_share_a_recording_or_a_group(tmp_path):
    from kit.train import read_labels

    table = read_labels(_authored(tmp_path))
    config = Config().override(["group_column=author"])
    folds, notes = assign_folds(table, config.data, 3)
    assert sorted(np.bincount(folds)) == [6, 6, 6] and not notes
    authors = table.frame["author"].to_numpy()
    for author in set(authors):
        assert len(set(folds[authors == author])) == 1, author   # a group stays in one fold
    for k in range(3):   # every label in every fold's validation (stratified)
        assert set(table.frame["primary_label"][folds == k]) == {"low", "mid", "high"}
    again, _ = assign_folds(table, config.data, 3)
    np.testing.assert_array_equal(folds, again)


def test_too_many_folds_are_refused_and_rare_labels_noted(tmp_path):
    from kit.train import read_labels

    table = read_labels(_authored(tmp_path))
    with pytest.raises(FoldError, match="--folds 10 is more than its 9 groups of 'author'"):
        assign_folds(table, Config().override(["group_column=author"]).data, 10)
    with pytest.raises(FoldError, match="integer >= 2"):
        assign_folds(table, Config().data, 1)
    _, notes = assign_folds(table, Config().data, 8)   # 6 recordings per label, 8 folds
    assert notes and "fewer recordings than the 8 folds" in notes[0]


def test_fold_run_writes_oof_for_every_recording_and_resumes(tmp_path, monkeypatch):
    from kit.pipeline import folds as F

    csv = _authored(tmp_path)
    config = Config().override(FAST + ["group_column=author"])
    out = tmp_path / "run"
    calls = []
    real_train = F.train_run

    def crash_in_fold_2(*args, fold=None, **kwargs):
        calls.append((fold, kwargs.get("resume")))
        if fold == (1, 3) and len(calls) == 2:
            raise KeyboardInterrupt("killed during fold 1")
        return real_train(*args, fold=fold, **kwargs)
    monkeypatch.setattr(F, "train_run", crash_in_fold_2)
    with pytest.raises(KeyboardInterrupt):
        F.train_folds(config, csv, out, 3, log_path=tmp_path / "log.csv")
    assert (out / "fold_0" / "best.ckpt").is_file() and not (out / "oof.csv").exists()
    result = F.train_folds(config, csv, out, 3, resume=True, log_path=tmp_path / "log.csv")
    assert [c[0] for c in calls] == [(0, 3), (1, 3), (1, 3), (2, 3)]   # fold 0 kept, fold 1 again, fold 2
    oof = pd.read_csv(out / "oof.csv")
    names = pd.read_csv(csv)["filename"].tolist()
    assert sorted(oof["filename"]) == sorted(names) and len(oof) == 18   # each recording once
    assignment = json.loads((out / "folds.json").read_text())["assignment"]
    assert all(assignment[f] == k for f, k in zip(oof["filename"], oof["fold"]))
    row = oof.iloc[0]   # its probabilities come from the model of its own fold, by the validation path
    k = int(row["fold"])
    from kit.train import read_labels
    table = read_labels(csv)
    index = [i for i, p in enumerate(table.frame["path"]) if p.endswith(row["filename"])]
    want = F.recording_probs(out / f"fold_{k}" / "best.ckpt", table, index, "cpu")[0]
    np.testing.assert_allclose(row[["high", "low", "mid"]].to_numpy(float), want, atol=1e-5)
    assert set(result["metrics"]) == {"cmap", "roc_auc", "accuracy"}
    assert "OOF of 3 folds" in (tmp_path / "log.md").read_text()


def test_a_fold_folder_of_another_assignment_or_config_is_refused(tmp_path):
    from kit.train import ResumeError
    from kit.pipeline import train_folds

    csv = _authored(tmp_path)
    out = tmp_path / "run"
    config = Config().override(FAST + ["group_column=author", "epochs=2"])
    with pytest.raises(KeyboardInterrupt):
        import kit.pipeline.folds as F
        real = F.train_run

        def stop(*args, **kwargs):
            real(*args, **kwargs, stop_after=1)
            raise KeyboardInterrupt
        F.train_run, saved = stop, F.train_run
        try:
            train_folds(config, csv, out, 3, log_path=tmp_path / "log.csv")
        finally:
            F.train_run = saved
    with pytest.raises(FoldError, match="folds of another assignment"):
        train_folds(config, csv, out, 2, resume=True, log_path=tmp_path / "log.csv")
    with pytest.raises(ResumeError, match="config differs"):
        train_folds(config.override(["lr=0.01"]), csv, out, 3, resume=True, log_path=tmp_path / "log.csv")
