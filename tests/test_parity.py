"""Parity on real audio: the training path and the submission path give identical features for the same samples.

Training path: kit.audio.load_crops (what the dataset calls) -> model front-end.
Inference path: kit.audio.iter_windows (streamed soundscape windows) -> the same front-end, with the config
read back from a checkpoint-style JSON round trip (the submission declares no preprocessing of its own).
"""
import math

import numpy as np
import pytest
import torch

from kit.audio import audio_info, iter_windows, load_crops
from kit.config import Config
from kit.features.frontend import FeatureExtractor

FILES = ["field/great_plains_toad.ogg", "field/birds_10s.ogg", "field/aru_1.ogg"]


@pytest.mark.parametrize("pad_mode", ["wrap", "constant", "reflect", "mirror"])
@pytest.mark.parametrize("name", FILES)
def test_training_crops_and_inference_windows_give_identical_features(shared_data, name, pad_mode):
    path = shared_data / name
    frames, sr, _ = audio_info(path)
    n_windows = math.ceil(frames / (5 * sr))
    train_cfg = Config().override([f"pad_mode={pad_mode}", f"crops_per_recording={n_windows}"])
    crops, valid = load_crops(path, train_cfg.audio, rng=None)            # deterministic (validation) crops
    train_feats = FeatureExtractor(train_cfg.audio, train_cfg.features)(torch.from_numpy(crops)[None],
                                                                        torch.from_numpy(valid)[None])[0]

    infer_cfg = Config.from_json(train_cfg.to_json())                      # as read from the checkpoint
    batches = list(iter_windows(path, infer_cfg.audio, batch_windows=2))
    windows = np.concatenate([b.crops for b in batches])
    ends = np.concatenate([b.end_s for b in batches])
    infer_feats = FeatureExtractor(infer_cfg.audio, infer_cfg.features)(
        torch.from_numpy(windows), torch.from_numpy(np.concatenate([b.valid for b in batches])))

    assert ends.tolist() == [5.0 * (i + 1) for i in range(n_windows)]
    np.testing.assert_array_equal(windows, crops)                          # the same samples, bit for bit
    assert torch.equal(infer_feats, train_feats)                           # and the same features
    assert frames % (5 * sr) == 0 or valid[-1] < 5 * sr                    # the partial window was exercised


def test_parity_holds_for_mirror_after_the_spectrogram(shared_data):
    path = shared_data / "field" / "great_plains_toad.ogg"                 # 44.6 s: a partial last window
    cfg = Config().override(["pad_mode=mirror", "mirror_placement=spectrogram", "crops_per_recording=9"])
    crops, valid = load_crops(path, cfg.audio)
    fe = FeatureExtractor(cfg.audio, cfg.features)
    train = fe(torch.from_numpy(crops), torch.from_numpy(valid))
    batches = list(iter_windows(path, cfg.audio, batch_windows=4))
    infer = fe(torch.from_numpy(np.concatenate([b.crops for b in batches])),
               torch.from_numpy(np.concatenate([b.valid for b in batches])))
    assert torch.equal(train, infer)
    assert valid[-1] < cfg.audio.crop_samples


def test_soundscape_stream_equals_whole_file_windows(shared_data):
    from kit.audio import load_audio, windows_from_array

    path = shared_data / "field" / "field_1min.ogg"
    cfg = Config().override(["pad_mode=reflect"]).audio
    whole = np.concatenate([b.crops for b in windows_from_array(load_audio(path, 32000), cfg)])
    streamed = np.concatenate([b.crops for b in iter_windows(path, cfg, batch_windows=5)])
    assert whole.shape == (12, 160000)
    np.testing.assert_array_equal(streamed, whole)
