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
    monkeypatch.setenv("KIT_ALLOW_VERSION_MISMATCH", "1")
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
    pytest.importorskip("kit.models")
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
    inference = pytest.importorskip("kit.inference")
    from kit.config import InferConfig
    from kit.submission import validate_submission

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
    inference = pytest.importorskip("kit.inference")
    from kit.config import InferConfig

    folder = _soundscapes(tmp_path / "test", seconds=30.0)
    infer = InferConfig(infer_batch_size=8)
    clean = inference.predict_soundscapes([B.tiny_member()], folder, infer, device="cpu")
    with pytest.warns(UserWarning, match="batch size halved to 2"):
        frame = inference.predict_soundscapes([B.tiny_member(oom_above=2)], folder, infer, device="cpu")
    assert len(frame) == len(clean) == 12
    assert abs(frame[["a", "b", "c"]].to_numpy() - clean[["a", "b", "c"]].to_numpy()).max() < 1e-5


def test_out_of_memory_at_batch_one_is_raised(tmp_path):
    inference = pytest.importorskip("kit.inference")
    from kit.config import InferConfig

    folder = _soundscapes(tmp_path / "test", names=("s1.ogg",), seconds=10.0)
    with pytest.raises(RuntimeError, match="out of memory"), pytest.warns(UserWarning, match="halved"):
        inference.predict_soundscapes([B.tiny_member(oom_above=-1)], folder, InferConfig(infer_batch_size=2),
                                      device="cpu")


def test_ensemble_members_with_other_labels_refused(tmp_path):
    inference = pytest.importorskip("kit.inference")

    folder = _soundscapes(tmp_path / "test", names=("s1.ogg",), seconds=5.0)
    members = [B.tiny_member(("a", "b", "c")), B.tiny_member(("a", "c", "b"), seed=1)]
    with pytest.raises(CheckpointError, match="labels differ"):
        inference.predict_soundscapes(members, folder, device="cpu")
