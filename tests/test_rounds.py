"""`kit train --pseudo CSV` runs pseudo-label rounds in one call (kit.pipeline.rounds): round k+1 is labelled by
round k's best.ckpt with the first CSV's settings and starts from its weights; finished rounds are kept (and
refused under another config), --stop-after / --resume span the rounds, the default is 2 rounds only for
self-training."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import train_data as D  # noqa: E402
from kit.checkpoint import load_checkpoint  # noqa: E402
from kit.pipeline import rounds as R  # noqa: E402
from kit.config import Config  # noqa: E402
from kit.infer.pseudo import pseudo_label  # noqa: E402
from kit.softlabels import read_soft_labels  # noqa: E402

LABELS = ["a", "b", "c"]
SETS = D.TINY + ["epochs=2", "valid_frac=0", "seed=5"]


@pytest.fixture(scope="module")
def teacher(shared_data, tmp_path_factory):
    """(tone clips CSV, soundscape folder, the teacher's pseudo CSV) with a one-epoch tiny teacher."""
    from kit.pipeline import train_run

    folder = tmp_path_factory.mktemp("rounds")
    sounds = folder / "sounds"
    sounds.mkdir()
    (sounds / "birds_10s.ogg").symlink_to(shared_data / "field" / "birds_10s.ogg")
    (sounds / "field_1min.ogg").symlink_to(shared_data / "field" / "field_1min.ogg")
    clips = D.tone_clips(folder / "clips", labels=LABELS, per_label=2)
    best = train_run(Config().override(SETS), clips, folder / "teacher", log_path=folder / "log.csv")["best"]
    pseudo_label([best], [sounds], folder / "p.csv", device="cpu", min_confidence=0.1, power=2.0)
    return clips, sounds, folder / "p.csv"


def _cli(clips, csv, out, *extra) -> int:
    from kit.cli import main

    sets = [a for s in SETS for a in ("--set", s)]
    return main(["train", "--data", str(clips), "--out", str(out), "--pseudo", str(csv), "--log",
                 str(Path(out).parent / "log.csv"), *sets, *extra])


def test_two_rounds_by_default_each_labelled_by_the_last(teacher, tmp_path):
    clips, sounds, csv = teacher
    out = tmp_path / "run"
    assert _cli(clips, csv, out) == 0
    first, relabelled = read_soft_labels(csv)[0], out / "pseudo_round_2.csv"
    made, frame = read_soft_labels(relabelled)
    assert made["checkpoints"] == [str((out / "round_1" / "best.ckpt").absolute())]
    assert made["sources"] == first["sources"] == [str(sounds.absolute())]
    assert {k: made[k] for k in ("power", "min_confidence", "threshold", "top_k", "shift_s")} == \
        {k: first[k] for k in ("power", "min_confidence", "threshold", "top_k", "shift_s")}
    again = pseudo_label([out / "round_1" / "best.ckpt"], [sounds], tmp_path / "direct.csv", device="cpu",
                         min_confidence=0.1, power=2.0)
    np.testing.assert_allclose(frame[LABELS].to_numpy(), again[LABELS].to_numpy(), atol=1e-6)
    one = load_checkpoint(out / "round_1" / "best.ckpt").config
    two = load_checkpoint(out / "best.ckpt").config
    assert Path(one.pseudo.pseudo_csv) == csv.absolute() and Path(two.pseudo.pseudo_csv) == relabelled.absolute()
    assert one.pseudo.pseudo_rounds == two.pseudo.pseudo_rounds == 2 and two.augment.mixup_p == 0.5
    assert (two.pseudo.pseudo_power, two.pseudo.pseudo_min_confidence) == (2.0, 0.1)  # the settings that labelled
    assert two.model.pretrained_path == str((out / "round_1" / "best.ckpt").absolute())
    assert not (out / "round_2").exists() and (out / "curves.png").is_file()


def test_finished_rounds_are_kept_and_another_config_refused(teacher, tmp_path, monkeypatch):
    import kit.pipeline.run

    clips, _, csv = teacher
    config = Config().override(SETS + [f"pseudo_csv={csv}", "pseudo_rounds=2"])
    R.train_rounds(config, clips, tmp_path / "run", log_path=tmp_path / "log.csv")
    calls = []
    real = kit.pipeline.run.train_run
    monkeypatch.setattr(kit.pipeline.run, "train_run",
                        lambda c, d, out, **k: calls.append(Path(out)) or real(c, d, out, **k))
    result = R.train_rounds(config, clips, tmp_path / "run", log_path=tmp_path / "log.csv")
    assert calls == [tmp_path / "run"] and len(result["rounds"]) == 2  # round 1 kept, its labels reused
    with pytest.raises(R.RoundsError, match=r"round_1.*another config.*train\.lr"):
        R.train_rounds(config.override(["lr=1e-3"]), clips, tmp_path / "run", log_path=tmp_path / "log.csv")


def test_stop_after_and_resume_span_the_rounds(teacher, tmp_path):
    clips, _, csv = teacher
    config, out = Config().override(SETS + [f"pseudo_csv={csv}"]), tmp_path / "run"
    stopped = R.train_rounds(config, clips, out, log_path=tmp_path / "log.csv", stop_after=3)
    assert len(stopped["rounds"]) == 1 and len(stopped["history"]) == 1  # round 1: 2 epochs, round 2: 1 of 2
    assert len(json.loads((out / "round_1" / "run.json").read_text())["history"]) == 2
    done = R.train_rounds(config, clips, out, resume=True, log_path=tmp_path / "log.csv")
    assert len(done["rounds"]) == 2 and [h["epoch"] for h in done["history"]] == [1, 2]
    assert "resumed from" in (out / "train.log").read_text()


def test_default_is_one_round_unless_self_training(teacher, tmp_path):
    from kit.train import DEFAULT_ROUNDS, resolve_config

    clips, _, csv = teacher
    config = Config().override(SETS + [f"pseudo_csv={csv}"])

    def rounds(c):
        return resolve_config(c, lambda *_: None).pseudo.pseudo_rounds
    assert rounds(config) == DEFAULT_ROUNDS == 2
    assert rounds(config.override(["cnn_channels=4"])) == 1  # a student of another backbone
    assert rounds(config.override(["pseudo_init=scratch"])) == 1 and rounds(config.override(["pseudo_rounds=3"])) == 3
    assert _cli(clips, csv, tmp_path / "f", "--folds", "2", "--rounds", "2") == 2
    assert _cli(clips, csv, tmp_path / "one", "--rounds", "1") == 0
    assert (tmp_path / "one" / "best.ckpt").is_file() and not (tmp_path / "one" / "round_1").exists()
    assert load_checkpoint(tmp_path / "one" / "best.ckpt").config.pseudo.pseudo_rounds == 1
    with pytest.raises(ValueError, match="need --pseudo"):
        R.train_rounds(Config().override(SETS), clips, tmp_path / "x")
    with pytest.raises(ValueError, match="--stop-after 0"):
        R.train_rounds(config, clips, tmp_path / "x", stop_after=0)
    assert not (tmp_path / "x").exists()


def test_relabel_names_the_recordings_that_are_gone(teacher, tmp_path):
    clips, sounds, csv = teacher
    moved = tmp_path / "sounds"
    moved.mkdir()
    for f in sounds.iterdir():
        (moved / f.name).symlink_to(f.resolve())
    ckpt = read_soft_labels(csv)[0]["checkpoints"][0]
    pseudo_label([ckpt], [moved], tmp_path / "p.csv", device="cpu", min_confidence=0.1)
    for f in moved.iterdir():
        f.unlink()
    moved.rmdir()
    with pytest.raises(FileNotFoundError, match=r"p\.csv: the recordings it labelled are gone .*sounds"):
        R.relabel(Path(ckpt), tmp_path / "p.csv", tmp_path / "next.csv", Config())
    assert not (tmp_path / "next.csv").exists()
