"""Faults: damaged / unsafe / foreign checkpoints are refused with a clear message; a training run killed
mid-epoch or mid-write leaves the last good checkpoint and a clean log and resumes; inference survives a
corrupt soundscape and GPU out-of-memory."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

import kit
from kit.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from kit.config import Config

sys.path.insert(0, str(Path(__file__).parent))
import badfiles as B  # noqa: E402

TINY = ["cnn_channels=4", "head_hidden=8", "n_mels=16", "n_mfcc=16", "n_fft=512", "crop_s=1", "window_s=5"]


def tiny_config(*extra) -> Config:
    return Config().override(TINY + list(extra))


def _save_tiny(path, labels=("a", "b"), state_dict=None) -> Path:
    state = state_dict if state_dict is not None else {"w": torch.arange(2000, dtype=torch.float32)}
    return save_checkpoint(path, Checkpoint(config=tiny_config(), labels=list(labels), state_dict=state))


class _Evil:
    """Unpickling this would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


# ---- checkpoints ------------------------------------------------------------------------------------
def test_good_checkpoint_round_trips(tmp_path):
    ckpt = load_checkpoint(_save_tiny(tmp_path / "good.ckpt"))
    assert ckpt.labels == ["a", "b"] and ckpt.kit_version == kit.__version__
    assert torch.equal(ckpt.state_dict["w"], torch.arange(2000, dtype=torch.float32))


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.95])
def test_truncated_checkpoint_refused(tmp_path, keep):
    path = _save_tiny(tmp_path / "cut.ckpt")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("where", ["weights", "header"])
def test_edited_checkpoint_refused(tmp_path, where):
    """One flipped byte inside the weights (torch.load alone would load it silently) or the pickled header."""
    import zipfile

    path = _save_tiny(tmp_path / "edited.ckpt")
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith("data/0" if where == "weights" else ".pkl"))
    data = bytearray(path.read_bytes())
    name_len, extra_len = (int.from_bytes(data[info.header_offset + k: info.header_offset + k + 2], "little")
                           for k in (26, 28))  # the local header's own lengths
    data[info.header_offset + 30 + name_len + extra_len + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="CRC|corrupt") as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)


def test_pickled_object_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    torch.save({"format": 1, "kit_version": kit.__version__, "config": Config().to_dict(), "labels": ["a"],
                "state_dict": {}, "extra": {"payload": _Evil(marker)}}, path)
    with pytest.raises(CheckpointError, match="pickled Python objects") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)
    assert not marker.exists(), "the pickled payload ran during loading"


def test_other_kit_version_refused_unless_overridden(tmp_path, monkeypatch):
    monkeypatch.setattr(kit, "__version__", "0.0.0-old")
    path = _save_tiny(tmp_path / "old.ckpt")
    monkeypatch.undo()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert "0.0.0-old" in str(info.value) and kit.__version__ in str(info.value) and str(path) in str(info.value)
    from kit.checkpoint import VERSION_CHECK, allow_version_mismatch

    monkeypatch.setitem(VERSION_CHECK, "allow_mismatch", False)
    allow_version_mismatch(True)  # what --allow-version-mismatch (and the notebooks' KIT_ALLOW_VERSION_MISMATCH=1) set
    assert load_checkpoint(path).kit_version == "0.0.0-old"


@pytest.mark.parametrize("payload, words", [
    ({"hello": 1}, "not a kit checkpoint"),
    ([1, 2, 3], "not a kit checkpoint"),
])
def test_foreign_torch_file_refused(tmp_path, payload, words):
    path = tmp_path / "foreign.pt"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=words):
        load_checkpoint(path)


@pytest.mark.parametrize("labels", [[], ["a", "a"]])
def test_bad_label_list_refused(tmp_path, labels):
    path = tmp_path / "labels.ckpt"
    torch.save({"format": 1, "kit_version": kit.__version__, "config": Config().to_dict(), "labels": labels,
                "state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="label list"):
        load_checkpoint(path)


def test_invalid_config_inside_refused(tmp_path):
    config = Config().to_dict()
    config["audio"]["pad_mode"] = "sideways"
    path = tmp_path / "config.ckpt"
    torch.save({"format": 1, "kit_version": kit.__version__, "config": config, "labels": ["a"],
                "state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="pad_mode"):
        load_checkpoint(path)


def test_weights_of_another_architecture_refused(tmp_path):
    from kit.checkpoint import load_model

    path = _save_tiny(tmp_path / "arch.ckpt")  # state dict {"w": ...} fits no model
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model(path)


# ---- inference --------------------------------------------------------------------------------------
def _soundscapes(folder, names=("s1.ogg", "s2.ogg"), seconds=12.0) -> Path:
    for k, name in enumerate(names):
        B.make_ogg(folder, name, seconds, seed=k)
    return Path(folder)


@pytest.mark.parametrize("maker", [B.make_text_as_ogg, B.make_truncated_ogg, B.make_nonfinite_wav, B.make_zero_byte],
                         ids=["text", "truncated", "nan", "zero_byte"])
def test_one_corrupt_soundscape_gets_fallback_rows(tmp_path, maker):
    import kit.infer.predict as inference
    from kit.config import InferConfig
    from kit.infer.submission import validate_submission

    folder = _soundscapes(tmp_path / "test")
    member = B.tiny_member()
    clean = inference.predict_soundscapes([member], folder, InferConfig(infer_batch_size=4), device="cpu")
    bad = maker(folder)
    infer = InferConfig(infer_batch_size=4, fallback_prob=0.25)
    if maker is B.make_truncated_ogg:  # decodes what is there: rows computed, no fallback needed
        frame = inference.predict_soundscapes([member], folder, infer, device="cpu")
        rows = frame[frame.row_id.str.startswith(bad.stem + "_")]
        assert len(rows) >= 1 and (rows[["a", "b", "c"]].to_numpy() != 0.25).all()
    else:
        with pytest.warns(UserWarning, match=bad.name):
            frame = inference.predict_soundscapes([member], folder, infer, device="cpu")
        rows = frame[frame.row_id.str.startswith(bad.stem + "_")]
        assert len(rows) >= 1 and (rows[["a", "b", "c"]].to_numpy() == 0.25).all()
    validate_submission(frame)
    good = frame[~frame.row_id.str.startswith(bad.stem + "_")].reset_index(drop=True)
    assert good.row_id.tolist() == clean.row_id.tolist()
    assert (good[["a", "b", "c"]].to_numpy() == clean[["a", "b", "c"]].to_numpy()).all()


def test_out_of_memory_halves_the_batch_and_continues(tmp_path):
    import kit.infer.predict as inference
    from kit.config import InferConfig

    folder = _soundscapes(tmp_path / "test", seconds=30.0)
    infer = InferConfig(infer_batch_size=8)
    clean = inference.predict_soundscapes([B.tiny_member()], folder, infer, device="cpu")
    with pytest.warns(UserWarning, match="batch size halved to 2"):
        frame = inference.predict_soundscapes([B.tiny_member(oom_above=2)], folder, infer, device="cpu")
    assert len(frame) == len(clean) == 12
    assert abs(frame[["a", "b", "c"]].to_numpy() - clean[["a", "b", "c"]].to_numpy()).max() < 1e-5


def test_out_of_memory_at_batch_one_is_raised(tmp_path):
    import kit.infer.predict as inference
    from kit.config import InferConfig

    folder = _soundscapes(tmp_path / "test", names=("s1.ogg",), seconds=10.0)
    with pytest.raises(RuntimeError, match="out of memory"), pytest.warns(UserWarning, match="halved"):
        inference.predict_soundscapes([B.tiny_member(oom_above=-1)], folder, InferConfig(infer_batch_size=2),
                                      device="cpu")


def test_ensemble_members_with_other_labels_are_aligned_by_name(tmp_path):
    import numpy as np

    import kit.infer.predict as inference

    folder = _soundscapes(tmp_path / "test", names=("s1.ogg",), seconds=5.0)
    members = [B.tiny_member(("a", "b", "c")), B.tiny_member(("a", "c", "b"), seed=1)]
    with pytest.warns(UserWarning, match="label lists differ.*tiny-1 orders them differently") as caught:
        both = inference.predict_soundscapes(members, folder, device="cpu")
    assert sum("label lists differ" in str(w.message) for w in caught) == 1  # said once
    one, other = (inference.predict_soundscapes([m], folder, device="cpu") for m in members)
    assert list(both.columns) == ["row_id", "a", "b", "c"]
    for label in "abc":  # each label is the mean of the members' own column of that name
        assert np.allclose(both[label], (one[label] + other[label]) / 2, atol=1e-6)


# ---- training killed with SIGKILL ---------------------------------------------------------------------
# Runs `python -m kit train` in a child that hangs at a chosen point (after writing a marker file) so the test
# can SIGKILL it there: mid-epoch (after one optimizer step of epoch 2), mid-write of last.ckpt of epoch 2
# (the temp file half written), or mid-write of the experiment log.
KILL_DRIVER = r"""
import os, sys, time
from pathlib import Path
mode, marker, argv = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
import kit.train.loop as T
from kit.cli import main
epoch = {"n": 0}

def hang():
    marker.write_text("ready")
    time.sleep(600)

def after_one_batch(loader):
    for i, batch in enumerate(loader):
        if i == 1:
            hang()
        yield batch

original_epoch = T.train_epoch
def train_epoch(run, loader, *args, **kwargs):
    epoch["n"] += 1
    if mode == "epoch" and epoch["n"] == 2:
        loader = after_one_batch(loader)
    return original_epoch(run, loader, *args, **kwargs)
T.train_epoch = train_epoch

original_fsync = os.fsync
prefix = {"checkpoint": ".last.ckpt.", "log": ".experiments.csv."}.get(mode)
def fsync(fd):
    name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
    if prefix and name.startswith(prefix) and (mode == "log" or epoch["n"] == 2):
        os.ftruncate(fd, os.fstat(fd).st_size // 2)  # the write got half way
        hang()
    return original_fsync(fd)
os.fsync = fsync
sys.exit(main(["train"] + argv))
"""
TRAIN_SET = TINY + ["epochs=3", "batch_size=2", "crop_s=1", "device=cpu", "num_workers=0", "amp=false", "seed=3"]


def _kill_during(mode: str, tmp_path: Path, data: Path, out: Path, log: Path) -> None:
    import signal
    import subprocess
    import time

    marker = tmp_path / f"{mode}.ready"
    args = ["--data", str(data), "--out", str(out), "--log", str(log)]
    for item in TRAIN_SET:
        args += ["--set", item]
    env = dict(os.environ, TQDM_DISABLE="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    child = subprocess.Popen([sys.executable, "-c", KILL_DRIVER, mode, str(marker)] + args, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if not marker.exists():
        child.kill()
        out_text, err_text = child.communicate()
        pytest.fail(f"training never reached the kill point ({mode}): rc={child.returncode}\n{err_text[-3000:]}")
    os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL


def _log_rows(log: Path) -> list:
    import csv

    if not log.is_file():
        return []
    text = log.read_text()
    assert text.endswith("\n"), "the experiment log ends in a half line"
    rows = list(csv.reader(text.splitlines()))
    assert all(len(r) == len(rows[0]) for r in rows), "a row of the experiment log has the wrong field count"
    return rows[1:]


@pytest.fixture(scope="module")
def train_data(tmp_path_factory):
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("the kill driver finds file names through /proc (Linux)")
    return B.make_clip_folder(tmp_path_factory.mktemp("traindata"), labels=("a", "b"), per_label=4, seconds=2.0)


@pytest.mark.parametrize("mode", ["epoch", "checkpoint", "log"])
def test_sigkill_leaves_a_good_checkpoint_and_resume_continues(tmp_path, train_data, mode):
    from kit.pipeline import train_run
    from kit.train import explog

    out, log = tmp_path / "runs" / "run", tmp_path / "runs" / "experiments.csv"
    explog.append_run(log, {"run_id": "earlier", "changes": "(defaults)"})
    _kill_during(mode, tmp_path, train_data, out, log)
    last = load_checkpoint(out / "last.ckpt")  # intact: the killed write never replaced it
    assert last.extra["epoch"] == (3 if mode == "log" else 1)
    load_checkpoint(out / "best.ckpt")
    assert [r[0] for r in _log_rows(log)] == ["earlier"], "the killed run left a row (or half a row) in the log"
    result = train_run(tiny_config(*TRAIN_SET[len(TINY):]), train_data, out, resume=True, log_path=log)
    assert [h["epoch"] for h in result["history"]] == [1, 2, 3]
    assert [r[0] for r in _log_rows(log)] == ["earlier", "run"]
    assert load_checkpoint(out / "last.ckpt").extra["epoch"] == 3
    if mode == "epoch":  # resuming gives the weights of an uninterrupted run
        whole = train_run(tiny_config(*TRAIN_SET[len(TINY):]), train_data, tmp_path / "whole",
                          log_path=tmp_path / "l.csv")
        a, b = load_checkpoint(result["last"]).state_dict, load_checkpoint(whole["last"]).state_dict
        assert max(float((a[k].float() - b[k].float()).abs().max()) for k in a) < 1e-5


def test_resume_with_another_label_list_refused(tmp_path, train_data):
    from kit.pipeline import train_run
    from kit.train import ResumeError

    config = tiny_config(*TRAIN_SET[len(TINY):]).override(["epochs=1"])
    out = tmp_path / "run"
    train_run(config, train_data, out, log_path=tmp_path / "log.csv")
    other = B.make_clip_folder(tmp_path / "other", labels=("a", "b", "c"), per_label=2, seconds=1.0)
    with pytest.raises(ResumeError, match="label list differs") as info:
        train_run(config.override(["epochs=2"]), other, out, resume=True, log_path=tmp_path / "log.csv")
    assert str(out / "last.ckpt") in str(info.value)
