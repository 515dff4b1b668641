"""The training recipe: short-call placement, augmentation (seeded, training only), losses, SED head, EMA, and
the bad inputs each part can meet."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
import train_data as D  # noqa: E402
from kit.config import AugmentConfig, Config, ConfigError, TrainConfig  # noqa: E402
from kit.train import augment as A  # noqa: E402
from kit.train.losses import bce, focal, make_loss, smooth_targets, soft_ce  # noqa: E402

# Every augmentation off (the defaults turn several on); the tests switch on the one they check.
OFF = dict(mixup_p=0.0, cutmix_p=0.0, noise_p=0.0, gain_p=0.0, shift_p=0.0, empty_p=0.0, specaug_p=0.0)


def aug(**on) -> AugmentConfig:
    return AugmentConfig(**{**OFF, **on})


ALL_AUG = AugmentConfig(mixup_p=0.7, cutmix_p=0.7, noise_p=0.8, gain_p=0.8, shift_p=0.8, empty_p=0.2,
                        specaug_p=0.9)


# ---- placement -------------------------------------------------------------------------------------
def test_a_short_clip_is_placed_in_silence_at_random_offsets_never_looped():
    from kit.audio import split_crops

    cfg = Config().override(["pad_mode=constant", "crop_s=1"]).audio
    clip = np.linspace(0.1, 1.0, 4000, dtype=np.float32)  # 0.125 s, no zero sample inside
    starts = set()
    for seed in range(40):
        crops, valid = split_crops(clip, cfg, np.random.default_rng(seed))
        nonzero = np.flatnonzero(crops[0])
        assert len(nonzero) == len(clip) and valid[0] == len(clip)  # the clip exactly once
        np.testing.assert_array_equal(crops[0, nonzero[0]: nonzero[0] + len(clip)], clip)
        starts.add(int(nonzero[0]))
    assert len(starts) > 30 and min(starts) < 4000 and max(starts) > 24000
    fixed, valid = split_crops(clip, cfg, None)  # validation / inference: from the start
    np.testing.assert_array_equal(fixed[0, :4000], clip)
    assert not fixed[0, 4000:].any()


def test_start_placement_and_wrap_keep_the_old_behaviour():
    from kit.audio import split_crops

    clip = np.arange(1, 4001, dtype=np.float32)
    start = Config().override(["pad_mode=constant", "crop_s=1", "short_placement=start"]).audio
    crops, _ = split_crops(clip, start, np.random.default_rng(3))
    np.testing.assert_array_equal(crops[0, :4000], clip)
    wrap = Config().override(["pad_mode=wrap", "crop_s=1"]).audio  # a random rotation of the loop
    crops, _ = split_crops(clip, wrap, np.random.default_rng(3))
    assert sorted(crops[0, :4000]) == sorted(clip) and crops[0, 0] != 1.0


# ---- augmentation ----------------------------------------------------------------------------------
def _item(seed: int):
    rng = np.random.default_rng(seed)
    crops = np.zeros((2, 8000), np.float32)
    crops[:, 1000:3000] = rng.standard_normal((2, 2000)).astype(np.float32)
    return crops, np.array([1.0, 0.0, 0.5], np.float32)


def test_item_augmentation_is_a_function_of_its_seed():
    crops, target = _item(0)
    a = A.augment_item(crops, target, ALL_AUG, np.random.default_rng([1, 2, 3]))
    b = A.augment_item(crops, target, ALL_AUG, np.random.default_rng([1, 2, 3]))
    c = A.augment_item(crops, target, ALL_AUG, np.random.default_rng([1, 2, 4]))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    np.testing.assert_array_equal(crops, _item(0)[0])  # the input is not modified
    off = A.augment_item(crops, target, aug(), np.random.default_rng(0))
    assert off[0] is crops and off[1] is target


def test_empty_items_carry_no_target_and_noise_keeps_the_snr():
    crops, target = _item(0)
    empty = [A.augment_item(crops, target, aug(empty_p=1.0), np.random.default_rng(s)) for s in range(3)]
    assert all(not e[1].any() and e[0].std() > 0 for e in empty)
    noisy, _ = A.augment_item(crops, target, aug(noise_p=1.0, noise_snr_db=(10.0, 10.0)),
                              np.random.default_rng(0))
    noise = noisy - crops
    snr = 10 * np.log10(A.signal_power(crops) / np.mean(noise.astype(np.float64) ** 2))
    assert abs(snr - 10.0) < 0.01


def test_batch_steps_are_seeded_and_combine_targets():
    x = torch.randn(6, 1, 800)
    target = torch.eye(6)[:, :4].clone()
    cfg = aug(mixup_p=1.0, cutmix_p=0.0)
    m1, t1 = A.mixup(x, target, cfg, A.batch_rng(0, 1, 2))
    m2, t2 = A.mixup(x, target, cfg, A.batch_rng(0, 1, 2))
    torch.testing.assert_close(m1, m2)
    assert torch.equal(t1, t2) and not torch.equal(m1, x)
    assert ((t1 >= target).all() and (t1.sum(dim=1) >= target.sum(dim=1)).all())  # max: both sounds present
    blend, tb = A.mixup(x, target, aug(mixup_p=1.0, mixup_targets="blend"), A.batch_rng(0, 1, 2))
    assert ((tb >= 0) & (tb <= 1)).all() and (tb[:4, :4].diagonal() >= 0.5).all()  # own weight >= 1/2
    cut, tc = A.cutmix(x, target, aug(cutmix_p=1.0), A.batch_rng(5, 0, 0))
    changed = (cut != x).flatten(1).any(dim=1)
    assert changed.all() and (tc >= target).all()
    feats = torch.randn(3, 2, 1, 32, 50)
    masked = A.spec_augment(feats, aug(specaug_p=1.0, time_mask_frames=10, freq_mask_bins=8),
                            A.batch_rng(0, 0, 0))
    assert masked.shape == feats.shape and (masked != feats).any()
    torch.testing.assert_close(A.spec_augment(feats, aug(), A.batch_rng(0, 0, 0)), feats)


def test_augmentation_never_reaches_validation_or_inference(tmp_path):
    """The dataset's validation items are the same with and without augmentation, and a checkpoint trained
    with every part of the recipe predicts exactly like one without, given equal weights."""
    from kit.checkpoint import Checkpoint, load_model, save_checkpoint
    from kit.models import create_model
    from kit.train.data import RecordingDataset, read_labels

    csv = D.tone_clips(tmp_path / "data", per_label=2)
    table = read_labels(csv)
    plain = Config().override(D.TINY)
    recipe = plain.override(["mixup_p=0.5", "noise_p=0.5", "empty_p=0.3", "specaug_p=0.5", "loss=ce",
                             "ema_decay=0.99", "label_smoothing=0.1", "shift_p=0.5", "cutmix_p=0.5"])
    for i in range(len(table)):
        a = RecordingDataset(table, range(len(table)), plain, train=False)[i]
        b = RecordingDataset(table, range(len(table)), recipe, train=False)[i]
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    torch.manual_seed(0)
    weights = create_model(plain, 3, pretrained=False).state_dict()
    paths = [save_checkpoint(tmp_path / f"{n}.ckpt", Checkpoint(config=c, labels=table.labels, state_dict=weights))
             for n, c in (("plain", plain), ("recipe", recipe))]
    wave = torch.randn(4, 1, plain.audio.crop_samples)
    outs = []
    for path in paths:
        model, _ = load_model(path)
        with torch.no_grad():
            outs.append(model(wave))
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)


# ---- losses ----------------------------------------------------------------------------------------
def test_losses_against_hand_computed_values():
    z = torch.tensor([[2.0, -1.0, 0.0]])
    t = torch.tensor([[1.0, 0.0, 0.5]])
    sig = 1 / (1 + np.exp(-np.array([2.0, -1.0, 0.0])))
    by_hand = -np.mean([np.log(sig[0]), np.log(1 - sig[1]), 0.5 * np.log(sig[2]) + 0.5 * np.log(1 - sig[2])])
    assert abs(float(bce(z, t)) - by_hand) < 1e-6
    p_t = np.array([sig[0], 1 - sig[1], 0.5])  # soft target 0.5: p*t + (1-p)(1-t) = 0.5 at p = 0.5
    per = -np.array([np.log(sig[0]), np.log(1 - sig[1]), np.log(0.5)])
    assert abs(float(focal(z, t, gamma=2.0)) - np.mean((1 - p_t) ** 2 * per)) < 1e-6
    assert abs(float(focal(z, t, gamma=0.0)) - by_hand) < 1e-6  # gamma 0 is BCE
    soft = np.exp([2.0, -1.0, 0.0]) / np.exp([2.0, -1.0, 0.0]).sum()
    q = np.array([1.0, 0.0, 0.5]) / 1.5
    assert abs(float(soft_ce(z, t)) - float(-(q * np.log(soft)).sum())) < 1e-6
    empty = torch.zeros(1, 3)
    assert float(soft_ce(torch.cat([z, z]), torch.cat([t, empty]))) == pytest.approx(float(soft_ce(z, t)))
    assert float(soft_ce(z, empty)) == 0.0
    torch.testing.assert_close(smooth_targets(t, 0.2, "bce"), torch.tensor([[0.9, 0.1, 0.5]]))
    torch.testing.assert_close(smooth_targets(t, 0.3, "ce"), torch.tensor([[0.85, 0.15, 0.5]]))
    loss = make_loss(TrainConfig(loss="ce", label_smoothing=0.3))
    assert float(loss(z, t)) == pytest.approx(float(soft_ce(z, smooth_targets(t, 0.3, "ce"))))


def test_ce_equals_torch_cross_entropy_on_one_hot_targets():
    z = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 3, 1, 1, 2])
    assert float(soft_ce(z, F.one_hot(labels, 4).float())) == pytest.approx(float(F.cross_entropy(z, labels)))


# ---- SED head --------------------------------------------------------------------------------------
@pytest.mark.parametrize("backbone", ["cnn", "rnn", "resnet18"])
def test_sed_head_shapes_and_any_number_of_frames(backbone):
    from kit.models import create_model

    config = Config().override(D.TINY + [f"backbone={backbone}", "head=sed", "sed_hidden=16", "rnn_hidden=8"])
    model = create_model(config, 5, pretrained=False).eval()
    with torch.no_grad():
        out = model(torch.randn(3, 2, config.audio.crop_samples))
        feats, _ = model.spectrograms(torch.randn(2, config.audio.crop_samples))
        frames = model.backbone.frames(feats.flatten(0, 1))
        weights, frame_logits = model.head.frame_outputs(frames)
        longer = model.head(model.backbone.frames(torch.randn(2, *feats.shape[2:-1], 3 * feats.shape[-1])))
    assert out.shape == (3, 5) and torch.isfinite(out).all() and longer.shape == (2, 5)
    assert weights.shape == frame_logits.shape == (2, 5, frames.shape[-1])
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(2, 5))
    torch.testing.assert_close(model.head(frames), (weights * frame_logits).sum(-1))


def test_sed_head_exports_to_onnx_with_parity(tmp_path, shared_data):
    from kit.checkpoint import Checkpoint, save_checkpoint
    from kit.export import export_onnx
    from kit.infer import parity
    from kit.models import create_model

    config = Config().override(["cnn_channels=4,8", "n_mels=32", "head=sed", "sed_hidden=16"])
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "sed.ckpt", Checkpoint(config=config, labels=["a", "b", "c"],
                           state_dict=create_model(config, 3, pretrained=False).state_dict()))
    path = export_onnx(ckpt, tmp_path / "sed.onnx")
    assert parity(ckpt, path, shared_data / "field" / "birds_10s.ogg", n_windows=2) <= 1e-4


# ---- EMA -------------------------------------------------------------------------------------------
def test_ema_weights_are_the_ones_saved_and_resume_restores_both(tmp_path):
    from kit.checkpoint import load_checkpoint
    from kit.pipeline import train_run

    csv = D.tone_clips(tmp_path / "data", per_label=3)
    config = Config().override(D.TINY + ["epochs=2", "ema_decay=0.9", "valid_frac=0", "mixup_p=0.5",
                                         "specaug_p=0.5", "device=cpu", "amp=false"])
    train_run(config, csv, tmp_path / "run", log_path=tmp_path / "log.csv")
    last = load_checkpoint(tmp_path / "run" / "last.ckpt")
    raw, ema = last.extra["raw_state_dict"], last.state_dict
    assert last.extra["ema_steps"] > 0
    name = next(k for k in raw if k.endswith("classifier.weight"))
    assert not torch.equal(raw[name], ema[name])  # the saved weights are the average, not the last step
    interrupted = tmp_path / "run2"
    train_run(config, csv, interrupted, log_path=tmp_path / "log.csv", stop_after=1)
    train_run(config, csv, interrupted, resume=True, log_path=tmp_path / "log.csv")
    resumed = load_checkpoint(interrupted / "last.ckpt")
    for key in ema:
        torch.testing.assert_close(resumed.state_dict[key], ema[key])
        torch.testing.assert_close(resumed.extra["raw_state_dict"][key], raw[key])


@pytest.mark.parametrize("warmup_steps", [2, 3, 10])
def test_ema_warmup_weighs_each_step_as_the_closed_form_says(warmup_steps):
    """Uncapped, decay (1 + s) / (k + s) gives step t the weight (k - 1) / (k + t) * prod_{s > t} d_s:
    k=2 is the plain mean of the initial and every later weight (the initial one counted twice)."""
    from kit.train.ema import ModelEma

    net = torch.nn.Linear(1, 1, bias=False)
    values = [float(v) for v in np.random.default_rng(0).normal(size=13)]
    with torch.no_grad():
        net.weight.fill_(values[0])
    ema = ModelEma(net, decay=0.9999, warmup_steps=warmup_steps)
    for v in values[1:]:
        with torch.no_grad():
            net.weight.fill_(v)
        ema.update(net)
    k, steps = warmup_steps, len(values) - 1
    d = [(1 + s) / (k + s) for s in range(1, steps + 1)]
    weights = [float(np.prod(d))] + [(1 - d[t - 1]) * float(np.prod(d[t:])) for t in range(1, steps + 1)]
    assert sum(weights) == pytest.approx(1.0)
    expected = sum(w * v for w, v in zip(weights, values))
    assert ema.module.weight.item() == pytest.approx(expected, rel=1e-5)
    if k == 2:
        assert expected == pytest.approx((values[0] + sum(values)) / (steps + 2))


# ---- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize("assignment, key", [("mixup_p=1.5", "mixup_p"), ("noise_snr_db=20,5", "noise_snr_db"),
                                             ("empty_p=-0.1", "empty_p"), ("label_smoothing=1", "label_smoothing"),
                                             ("ema_decay=0.2", "ema_decay"), ("ema_warmup_steps=1", "ema_warmup_steps"),
                                             ("head=transformer", "head"),
                                             ("background_p=0.5", "background_dir"), ("loss=hinge", "loss")])
def test_out_of_range_recipe_keys_are_refused_naming_the_key(assignment, key):
    with pytest.raises(ConfigError, match=key):
        Config().override([assignment])


def test_background_folder_problems_are_clear(tmp_path):
    from kit.train.background import BackgroundError, BackgroundPool

    with pytest.raises(BackgroundError, match="folder not found"):
        BackgroundPool(tmp_path / "missing", 32000)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackgroundError, match="holds no audio file"):
        BackgroundPool(tmp_path / "empty", 32000)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.ogg").write_bytes(b"not audio at all")
    with pytest.raises(BackgroundError, match="none of its 1 audio files is readable"):
        BackgroundPool(tmp_path / "bad", 32000)
    D.tone_clips(tmp_path / "bad", per_label=1)
    pool = BackgroundPool(tmp_path / "bad", 32000)
    assert len(pool.files) == 3 and len(pool.skipped) == 1 and "x.ogg" in pool.skipped[0]
    draw = pool(50000, np.random.default_rng(0))
    assert draw.shape == (50000,) and draw.std() > 0  # 3 s files looped to 50000 samples


def test_sed_on_a_backbone_without_time_axis_and_ce_on_one_label_are_refused(tmp_path):
    from kit.models import ModelError, create_model
    from kit.train import train

    with pytest.raises(ModelError, match="head=sed needs a backbone with a time axis"):
        create_model(Config().override(D.TINY + ["backbone=tv:resnet18", "head=sed"]), 2, pretrained=False)
    csv = D.tone_clips(tmp_path / "one", labels=("only",), per_label=3)
    with pytest.raises(ValueError, match="loss=ce is a softmax over the labels"):
        train(Config().override(D.TINY + ["loss=ce", "epochs=1"]), csv, tmp_path / "run")


def test_cached_recordings_give_the_crops_read_from_the_file(shared_data):
    from kit.audio import AudioCache, load_crops

    cfg = Config().override(["pad_mode=constant", "crops_per_recording=2"]).audio
    cache, tiny = AudioCache(64), AudioCache(0.5)  # 64 MB; 0.5 MB holds no 60 s file
    for name in ("field/field_1min.ogg", "field/aru_1.ogg", "esc50/audio/dog/" + sorted(
            p.name for p in (shared_data / "esc50" / "audio" / "dog").iterdir())[0]):
        path = shared_data / name
        for seed in (0, 1, None):
            rng = lambda: None if seed is None else np.random.default_rng(seed)  # noqa: E731
            want = load_crops(path, cfg, rng())
            for c in (cache, tiny, cache):  # the second `cache` call is served from memory
                got = c.crops(path, cfg, rng())
                np.testing.assert_array_equal(got[0], want[0])
                np.testing.assert_array_equal(got[1], want[1])
    assert len(cache.samples) == 3 and str(shared_data / "field/field_1min.ogg") not in tiny.samples


def test_a_sed_model_trained_on_long_crops_predicts_short_windows(tmp_path, shared_data):
    """infer_crop_s: trained on 2 s crops, the submission path feeds 1 s windows (eager and ONNX agree)."""
    from kit.checkpoint import Checkpoint, save_checkpoint
    from kit.export import export_onnx
    from kit.infer import parity
    from kit.infer import load_members, predict_soundscapes
    from kit.models import create_model

    config = Config().override(["cnn_channels=4,8", "n_mels=32", "head=sed", "sed_hidden=16", "crop_s=2",
                                "window_s=1", "infer_crop_s=1"])
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "sed.ckpt", Checkpoint(config=config, labels=["a", "b"],
                           state_dict=create_model(config, 2, pretrained=False).state_dict()))
    member = load_members([ckpt], torch.device("cpu"))[0]
    assert member.config.audio.crop_s == 1.0 and member.config.audio.window_s == 1.0
    frame = predict_soundscapes([ckpt], shared_data / "field" / "aru_1.ogg", device="cpu")
    assert list(frame["row_id"]) == ["aru_1_1", "aru_1_2", "aru_1_3"]
    assert parity(ckpt, export_onnx(ckpt, tmp_path / "sed.onnx"), shared_data / "field" / "aru_1.ogg", 3) <= 1e-4
    with pytest.raises(ConfigError, match="infer_crop_s"):
        Config().override(["infer_crop_s=1.00001"])


def test_bce_plus_ce_is_the_sum_of_both():
    z = torch.tensor([[2.0, -1.0, 0.0], [0.3, 0.2, -0.4]])
    t = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    both = make_loss(TrainConfig(loss="bce+ce"))(z, t)
    assert float(both) == pytest.approx(float(bce(z, t)) + float(soft_ce(z, t)))
