"""BirdCLEF+ 2026's layout from `kit make-competition --style birdclef2026` (and the demo), and the Kaggle mount
points the notebooks look for (kit.mounts)."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from train_data import TINY, tone_clips  # noqa: E402

from kit.cli import main  # noqa: E402
from kit.compete.layout2026 import SONOTYPES, TRAIN_COLUMNS  # noqa: E402
from kit.mounts import competition_candidates, find_competition  # noqa: E402

LABELS = ("0412345", "1161364", "grekis")   # a leading zero, a numeric iNat id, an eBird code


@pytest.fixture(scope="module")
def comp(tmp_path_factory):
    root = tmp_path_factory.mktemp("c2026")
    clips = tone_clips(root / "clips", labels=LABELS, per_label=4, seconds=2.0)
    argv = ["make-competition", "--clips", clips, "--out", root / "comp", "--soundscapes", "2", "--soundscape-s",
            "20", "--unlabeled", "3", "--labelled", "2", "--style", "birdclef2026"]
    assert main([str(a) for a in argv]) == 0
    return root / "comp"


def test_make_competition_writes_the_2026_layout(comp):
    header = (comp / "train.csv").read_text().splitlines()[0]
    assert header == ",".join(TRAIN_COLUMNS) and not (comp / "train_metadata.csv").exists()
    train_csv = pd.read_csv(comp / "train.csv", dtype=str, keep_default_na=False)
    assert set(train_csv["primary_label"]) == set(LABELS) and set(train_csv["collection"]) == {"XC", "iNat"}
    labels = sorted(set(LABELS) | set(SONOTYPES))
    taxonomy = pd.read_csv(comp / "taxonomy.csv", dtype=str)
    assert list(taxonomy.columns) == ["primary_label", "inat_taxon_id", "scientific_name", "common_name", "class_name"]
    assert taxonomy["primary_label"].tolist() == labels
    assert set(taxonomy.loc[taxonomy["primary_label"].isin(SONOTYPES), "inat_taxon_id"]) == {"47158"}
    sample = (comp / "sample_submission.csv").read_text().splitlines()
    assert sample[0] == "row_id," + ",".join(labels)          # string-sorted, "0412345" first
    assert sample[1].startswith("BC2026_Test_0001_S01_20250101_000000_5,") and len(sample) == 1 + 2 * 4
    names = sorted(p.name for p in (comp / "train_soundscapes").iterdir())
    assert len(names) == 3 and all(n.startswith("BC2026_Train_") for n in names)
    rows = pd.read_csv(comp / "train_soundscapes_labels.csv", dtype=str, keep_default_na=False)
    assert len(rows) == 2 * 2 * 4 and rows.duplicated().sum() == 8            # every row twice, as 2026's
    assert set(rows["filename"]) == set(names[:2]) and rows["start"].iloc[1] == "00:00:05"
    truth = pd.read_csv(comp / "train_soundscapes_truth.csv", dtype={"row_id": str})
    first = truth[truth["row_id"].str.startswith(names[0][:-4] + "_")]
    present = [";".join(c for c in labels if r[c]) for _, r in first.iterrows()]
    assert rows["primary_label"].iloc[:4].tolist() == present
    assert (comp / "recording_location.txt").is_file()


def test_2026_competition_trains_validates_on_soundscapes_and_scores(comp, tmp_path, capsys):
    sets = sum([["--set", s] for s in TINY + ["epochs=1", "batch_size=4", "device=cpu"]], [])
    run = tmp_path / "run"
    assert main(["train", "--data", str(comp), "--out", str(run), "--valid", "soundscapes"] + sets) == 0
    log = (run / "train.log").read_text()
    assert "16 rows -> 8 labelled windows of 2 soundscapes (8 duplicated rows removed" in log
    assert "validating on 8 windows of 2 soundscapes" in log
    out = tmp_path / "submission.csv"
    assert main(["predict", "--checkpoint", str(run / "best.ckpt"), "--data", str(comp), "--out", str(out),
                 "--device", "cpu"]) == 0
    assert out.read_text().splitlines()[0] == (comp / "sample_submission.csv").read_text().splitlines()[0]
    capsys.readouterr()
    assert main(["score", "--submission", str(out), "--solution", str(comp / "solution.csv")]) == 0
    assert "macro ROC-AUC" in capsys.readouterr().out


def test_rebuilding_in_the_other_style_leaves_no_stale_metadata(comp, tmp_path):
    from kit.compete.competition import make_competition

    clips = tone_clips(tmp_path / "clips", labels=LABELS, per_label=4, seconds=2.0)
    make_competition(clips, tmp_path / "c", 1, 10.0, style="birdclef2026", n_unlabeled=1, n_labelled=1)
    assert (tmp_path / "c" / "train.csv").is_file() and (tmp_path / "c" / "train_soundscapes_labels.csv").is_file()
    make_competition(clips, tmp_path / "c", 1, 10.0)
    left = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert "train_metadata.csv" in left
    assert not {"train.csv", "taxonomy.csv", "train_soundscapes_labels.csv"} & set(left)
    with pytest.raises(ValueError, match="n_labelled=2"):
        make_competition(clips, tmp_path / "c", 1, 10.0, n_unlabeled=1, n_labelled=2)


def test_demo_runs_on_the_2026_layout(tmp_path):
    """The demo's code path (baseline included) on a 2026-style competition with labelled soundscapes."""
    from kit.compete.demo import DemoPlan, run_demo

    plan = DemoPlan(n_classes=3, clips_per_class=6, clip_s=2.0, n_soundscapes=2, soundscape_s=15.0, epochs=1,
                    cnn_channels=(4, 8), n_mels=32, style="birdclef2026", labelled_soundscapes=2)
    result = run_demo(tmp_path, plan=plan, overrides=["crop_s=1", "n_fft=512", "head_hidden=16"])
    comp = result["competition"]
    assert (comp / "train.csv").is_file() and (comp / "train_soundscapes_labels.csv").is_file()
    assert "labelled windows of 2 soundscapes" in (tmp_path / "runs" / "cnn" / "train.log").read_text()
    rows = {row["model"]: row for row in result["rows"]}
    assert {"chance", "cnn"} <= set(rows) and any(m.startswith("baseline") for m in rows)
    assert 0 <= rows["cnn"]["roc_auc"] <= 1
    header = (comp / "sample_submission.csv").read_text().splitlines()[0]
    assert (tmp_path / "runs" / "cnn" / "submission.csv").read_text().splitlines()[0] == header


# ---- mount points ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("present,expected", [
    (["competitions/birdclef-2026", "birdclef-2026", "birdclef-2025"], "competitions/birdclef-2026"),
    (["birdclef-2026", "birdclef-2025"], "birdclef-2026"),
    (["birdclef-2024", "birdclef-2025"], "birdclef-2025"),
    (["competitions/birdclef-2025", "birdclef-2025", "birdclef-2023"], "competitions/birdclef-2025"),
])
def test_find_competition_takes_the_first_mount_that_exists(tmp_path, present, expected):
    for name in present:
        (tmp_path / name).mkdir(parents=True)
    said = []
    assert find_competition(tmp_path, log=said.append) == tmp_path / expected
    assert len(said) == 1 and str(tmp_path / expected) in said[0]
    assert competition_candidates(tmp_path)[:2] == [tmp_path / "competitions" / "birdclef-2026",
                                                    tmp_path / "birdclef-2026"]


def test_find_competition_names_the_folders_when_none_exists(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        find_competition(tmp_path, log=lambda _: None)
    assert str(tmp_path / "competitions" / "birdclef-2026") in str(caught.value)
    assert str(tmp_path / "birdclef-2026") in str(caught.value)
