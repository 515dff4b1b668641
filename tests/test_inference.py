"""Inference: windows equal the validation path, ensembles average, TTA/smoothing flags, budget guard."""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import infer_helpers as H  # noqa: E402
from kit.config import InferConfig  # noqa: E402
from kit.infer.predict import infer_config_from, predict_competition, predict_soundscapes, smooth  # noqa: E402


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    return [H.tiny_checkpoint(folder / f"m{i}.ckpt", seed=i) for i in range(2)]


@pytest.fixture(scope="module")
def field(shared_data, tmp_path_factory):
    """field_1min (12 windows) and birds_10s (a partial last window) in one folder."""
    return H.field_folder(tmp_path_factory.mktemp("field"), shared_data, ("field_1min.ogg", "birds_10s.ogg"))


@pytest.fixture(scope="module")
def plain(ckpts, field):
    return predict_soundscapes([ckpts[0]], field, device="cpu")


def _probs(frame, stem):
    rows = frame[frame.row_id.str.startswith(stem + "_")]
    return rows.row_id.tolist(), rows[["a", "b", "c"]].to_numpy()


def test_windows_equal_validation_path(ckpts, field, plain):
    for stem in ("field_1min", "birds_10s"):
        ids, probs = _probs(plain, stem)
        expected = H.validation_probs(ckpts[0], field / f"{stem}.ogg")
        assert len(ids) == len(expected) and ids[0] == f"{stem}_5" and ids[1] == f"{stem}_10"
        assert np.abs(probs - expected).max() <= 1e-5
    assert 0 < plain[["a", "b", "c"]].to_numpy().min() and plain[["a", "b", "c"]].to_numpy().max() < 1


def test_ensemble_is_the_mean_of_its_members(ckpts, field, plain):
    second = predict_soundscapes([ckpts[1]], field, device="cpu")
    both = predict_soundscapes(ckpts, field, device="cpu")
    cols = ["a", "b", "c"]
    assert np.abs(second[cols].to_numpy() - plain[cols].to_numpy()).max() > 1e-4  # members differ
    assert np.abs(both[cols].to_numpy() - (plain[cols].to_numpy() + second[cols].to_numpy()) / 2).max() < 1e-5


def test_tta_and_smoothing_flags(ckpts, field, plain):
    tta = predict_soundscapes([ckpts[0]], field, InferConfig(tta="shift"), device="cpu")
    cols = ["a", "b", "c"]
    assert np.abs(tta[cols].to_numpy() - plain[cols].to_numpy()).max() > 1e-6
    weights = (0.25, 0.5, 0.25)
    smoothed = predict_soundscapes([ckpts[0]], field, InferConfig(smooth_weights=weights), device="cpu")
    for stem in ("field_1min", "birds_10s"):
        _, raw = _probs(plain, stem)
        _, got = _probs(smoothed, stem)
        padded = np.concatenate([raw[:1], raw, raw[-1:]])
        assert np.abs(got - (0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:])).max() < 1e-6


def test_smooth_of_one_window_is_identity():
    x = np.array([[0.2, 0.9]], dtype=np.float32)
    assert (smooth(x, (1.0, 2.0, 1.0)) == x).all()


class FakeClock:
    """Each reading advances `step_s`: the run looks slow, so a small budget cannot fit everything."""

    def __init__(self, step_s: float):
        self.now, self.step_s = 0.0, step_s

    def __call__(self):
        self.now += self.step_s
        return self.now


def test_budget_guard_drops_tta_then_members_and_fills_the_rest(ckpts, field):
    infer = InferConfig(tta="shift", infer_batch_size=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = predict_soundscapes(ckpts, field, infer, device="cpu", budget_s=10.0, clock=FakeClock(1.0))
    messages = [str(w.message) for w in caught]
    assert any("test-time augmentation dropped" in m for m in messages)
    assert any("ensemble member" in m and "dropped" in m for m in messages)
    assert any("time budget spent" in m for m in messages), messages
    values = frame[["a", "b", "c"]].to_numpy()
    assert len(frame) == 15 and (values == 0.0).any() and (values > 0).any()


def test_predict_competition_empty_folder_and_unknown_labels(ckpts, shared_data, tmp_path, esc50_clips):
    comp, labels = H.make_competition_dir(esc50_clips, tmp_path / "comp", n_soundscapes=1, sample_extra_label="zz")
    sample = pd.read_csv(comp / "sample_submission.csv")
    # the model's labels are a, b, c: none of the competition's, so every column gets the fallback
    infer = InferConfig(fallback_prob=0.125)
    with pytest.warns(UserWarning, match="unknown to the model"):
        predict_competition([ckpts[0]], comp, tmp_path / "sub.csv", infer=infer)
    written = pd.read_csv(tmp_path / "sub.csv")
    assert list(written.columns) == list(sample.columns) and len(written) == 4
    assert np.allclose(written.iloc[:, 1:].to_numpy(), 0.125)
    for f in (comp / "test_soundscapes").iterdir():
        f.unlink()
    with pytest.warns(UserWarning, match="empty or missing"):
        predict_competition([ckpts[0]], comp, tmp_path / "empty.csv", infer=infer)
    empty = pd.read_csv(tmp_path / "empty.csv")
    assert empty.row_id.tolist() == sample.row_id.tolist() and np.allclose(empty.iloc[:, 1:], 0.125)


def test_only_infer_keys_at_predict_time():
    base = InferConfig()
    assert infer_config_from(base, ["tta=shift", "smooth_weights=1,2,1"]).smooth_weights == (1.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="only inference keys"):
        infer_config_from(base, ["n_mels=64"])
