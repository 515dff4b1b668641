"""kit.train: learning on real clips, the crops contract, exact resume, refusals, DDP on CPU, SIGKILL mid-epoch."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from kit.checkpoint import CheckpointError, load_checkpoint, load_model
from kit.config import Config
from kit.train.explog import read_rows
from kit.pipeline import train_run
from kit.train import ResumeError, lr_factor, train
from train_data import TINY, esc50_subset, tone_clips

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tones(tmp_path_factory) -> Path:
    return tone_clips(tmp_path_factory.mktemp("tones"), per_label=6, seconds=3.0)


def test_lr_schedule_warms_up_then_decays():
    assert [lr_factor(s, 10, 2, "cosine") for s in (0, 1)] == [0.5, 1.0]
    assert lr_factor(2, 10, 2, "cosine") == 1.0 and lr_factor(6, 10, 2, "cosine") == pytest.approx(0.5)
    assert lr_factor(10, 10, 2, "cosine") == pytest.approx(0.0) and lr_factor(9, 10, 0, "constant") == 1.0


def test_learns_on_real_esc50_clips(esc50_clips, tmp_path):
    """4 ESC-50 classes x 8 real clips: train loss falls and valid top-1 reaches twice chance (0.25)."""
    data = esc50_subset(esc50_clips, tmp_path / "data")
    config = Config().override(TINY + ["crop_s=5", "epochs=5", "lr=2e-2", "cnn_channels=8,16", "head_hidden=32"])
    out = tmp_path / "runs" / "esc"
    result = train_run(config, data, out)   # kit train's run: train() + the timing and the experiment-log row
    history = result["history"]
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert max(h["valid_accuracy"] for h in history) >= 0.5
    assert result["metrics"]["cmap"] == max(h["valid_cmap"] for h in history)   # best.ckpt = best valid cmAP
    assert load_checkpoint(result["best"]).metrics == result["metrics"]
    for name in ("best.ckpt", "last.ckpt", "curves.png", "config.json", "train.log", "run.json"):
        assert (out / name).is_file(), name
    assert Config.load(out / "config.json") == config
    model, ckpt = load_model(result["best"])
    assert ckpt.labels == ["chirping_birds", "church_bells", "dog", "siren"]
    assert model(torch.zeros(2, 1, config.audio.crop_samples)).shape == (2, 4)
    rows = read_rows(tmp_path / "runs" / "experiments.csv")
    assert len(rows) == 1 and rows[0]["run_id"] == "esc" and "lr=0.02" in rows[0]["changes"]
    assert float(rows[0]["epoch_s"]) > 0 and float(rows[0]["infer_ms_per_window"]) > 0
    assert "| esc |" in (tmp_path / "runs" / "experiments.md").read_text()


@pytest.mark.parametrize("crops,in_model", [(1, True), (3, True), (3, False)])
def test_crops_of_a_recording_are_pooled_and_learn(tones, tmp_path, crops, in_model):
    """The origin-log bug: flattening crops broke learning. K crops of one recording form one row.
    in_model=False: the dataset computes the features on the CPU, the model takes (B, K, C, H, T)."""
    config = Config().override(TINY + [f"crops_per_recording={crops}", "epochs=4", "lr=1e-2", "batch_size=4",
                                       f"features_in_model={in_model}"])
    result = train(config, tones, tmp_path / f"k{crops}")
    history = result["history"]
    assert history[-1]["train_loss"] < 0.75 * history[0]["train_loss"]
    assert max(h["valid_accuracy"] for h in history) == 1.0
    from torch.utils.data import DataLoader

    from kit.train.data import RecordingDataset, read_labels

    table = read_labels(tones)
    loader = DataLoader(RecordingDataset(table, range(4), config, True), batch_size=4)
    wave, valid, target, weight = next(iter(loader))
    assert wave.shape == ((4, crops, 32000) if in_model else (4, crops, 1, 32, 65))
    assert valid.shape == (4, crops) and target.shape == (4, 3) and weight.tolist() == [1.0] * 4


@pytest.fixture(scope="module")
def resumed(tones, tmp_path_factory):
    """The same run uninterrupted, and stopped after epoch 1 then resumed."""
    root = tmp_path_factory.mktemp("resume")
    config = Config().override(TINY + ["epochs=2", "crops_per_recording=2", "head_dropout=0.2"])
    straight = train_run(config, tones, root / "straight")
    train_run(config.override(["num_workers=2"]), tones, root / "parts", stop_after=1)  # workers: same crops
    assert load_checkpoint(root / "parts" / "last.ckpt").extra["epoch"] == 1
    parts = train_run(config, tones, root / "parts", resume=True)
    return config, root, straight, parts


def test_resume_gives_the_weights_of_an_uninterrupted_run(resumed):
    config, root, straight, parts = resumed
    a, b = load_checkpoint(straight["last"]).state_dict, load_checkpoint(parts["last"]).state_dict
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [h["train_loss"] for h in straight["history"]] == [h["train_loss"] for h in parts["history"]]
    assert len(read_rows(root / "experiments.csv")) == 2     # the stopped call logs no row


def test_resume_refuses_other_config_labels_or_kit_version(resumed, tones, tmp_path):
    config, root, _, _ = resumed
    with pytest.raises(ResumeError, match=r"config differs \(train.lr: 0.003 -> 0.0001"):
        train(config.override(["lr=1e-4"]), tones, root / "parts", resume=True)
    two_labels = tones.parent / "two_labels.csv"
    two_labels.write_text("\n".join(tones.read_text().splitlines()[:13]) + "\n")
    with pytest.raises(ResumeError, match="label list differs"):
        train(config, two_labels, root / "parts", resume=True)
    raw = torch.load(str(root / "parts" / "last.ckpt"), weights_only=True)
    raw["kit_version"] = "0.0.0-other"
    torch.save(raw, str(root / "parts" / "last.ckpt"))
    with pytest.raises(CheckpointError, match="written by kit 0.0.0-other"):
        train(config, tones, root / "parts", resume=True)
    with pytest.raises(ResumeError, match="not found"):
        train(config, tones, tmp_path / "never_trained", resume=True)


def _kit_train(args, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, TQDM_DISABLE="1", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable] + args, cwd=ROOT, env=env, capture_output=True, text=True, **kwargs)


def test_ddp_two_cpu_processes_match_one_process(tones, tmp_path):
    """Exact comparison by design: the RNN backbone has LayerNorm, not BatchNorm, and head_hidden= leaves no
    BatchNorm in the head, so each recording's logits do not depend on the others in its batch; the global batch
    (14 = 2 x 7) holds the whole training set (18 clips, 4 held out), so one step sees the same recordings either
    way (augmentation off: batch mixup would pair other items on each rank). Then the loss averaged over the ranks
    equals the one-process loss, and DDP's averaged gradient gives the same weights."""
    sets = TINY + ["backbone=rnn", "rnn_hidden=8", "head_hidden=", "epochs=1", "batch_size=14",
                   "schedule=constant", "valid_frac=0.2"]
    one = train(Config().override(sets), tones, tmp_path / "one")
    assert len(one["history"]) == 1
    args = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "kit", "train",
            "--data", str(tones), "--out", str(tmp_path / "two")] + [a for s in sets for a in ("--set", s)]
    done = _kit_train(args, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "x2" in (tmp_path / "two" / "train.log").read_text()
    two = load_checkpoint(tmp_path / "two" / "last.ckpt")
    first = load_checkpoint(one["last"])
    assert two.extra["history"][0]["train_loss"] == pytest.approx(one["history"][0]["train_loss"], abs=1e-6)
    for key, value in first.state_dict.items():
        torch.testing.assert_close(two.state_dict[key], value, atol=1e-6, rtol=1e-5)


def test_sigkill_mid_epoch_leaves_a_loadable_checkpoint_and_resume_finishes(tones, tmp_path):
    out = tmp_path / "killed"
    sets = TINY + ["epochs=6", "crops_per_recording=3"]
    args = ["-m", "kit", "train", "--data", str(tones), "--out", str(out)] + [a for s in sets for a in ("--set", s)]
    env = dict(os.environ, TQDM_DISABLE="1", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable] + args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while not (out / "last.ckpt").is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.05)  # into epoch 2 (5 epochs are left: the run cannot end first)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()[-2000:]
    ckpt = load_checkpoint(out / "last.ckpt")
    assert 1 <= ckpt.extra["epoch"] < 6
    assert not list(out.glob("*.tmp")) or all(p.name.startswith(".") for p in out.glob("*.tmp"))
    result = train_run(Config().override(sets), tones, out, resume=True)
    assert [h["epoch"] for h in result["history"]] == list(range(1, 7))
    assert np.isfinite(result["history"][-1]["train_loss"])
    assert len(read_rows(tmp_path / "experiments.csv")) == 1
