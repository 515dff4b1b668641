"""kit.models: every backbone name builds and runs, head layout, parameter budget, crop pooling, batch
consistency, precomputed features, local-only pretrained weights. Tiny inputs: 1 s at 8 kHz -> 32 x 81."""
from __future__ import annotations

import math
import socket

import pytest
import torch
from torch import nn

from kit.config import Config, ConfigError
from kit.models import (SUPPORTED, ModelError, PretrainedWeightsError, count_parameters, create_model,
                        describe_model, pool_crops)

TINY = ["sample_rate_hz=8000", "crop_s=1", "window_s=1", "n_fft=256", "hop_length=100", "n_mels=32",
        "n_mfcc=32", "max_params_m=60"]
SAMPLES, HEIGHT, FRAMES = 8000, 32, 81


def tiny(*overrides) -> Config:
    return Config().override([*TINY, *overrides])


def waves(batch=2, crops=2, seed=0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, crops, SAMPLES, generator=gen)


def first_conv(model) -> nn.Conv2d:
    return next(m for m in model.backbone.modules() if isinstance(m, nn.Conv2d))


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run fastest on one thread; two threads on a busy shared machine can be 100x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any connection attempt or timm download call fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:2]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    import timm.models._builder as builder

    for name in ("load_state_dict_from_hf", "load_state_dict_from_url", "download_cached_file"):
        monkeypatch.setattr(builder, name, refuse, raising=False)


# ---- every name builds and runs --------------------------------------------------------------------
@pytest.mark.parametrize("backbone", [*SUPPORTED, "tv:efficientnet_b0", "vit_tiny_patch16_224"])
def test_backbone_builds_and_runs(backbone):
    torch.manual_seed(0)
    model = create_model(tiny(f"backbone={backbone}"), num_classes=5).eval()
    if backbone == "rnn":
        assert model.backbone.net.frame_features == HEIGHT
    else:
        assert first_conv(model).in_channels == 1
    with torch.no_grad():
        out = model(waves())
        crops = model.crop_logits(waves())
    assert out.shape == (2, 5) and crops.shape == (2, 2, 5)
    assert torch.isfinite(out).all()
    assert model.backbone.name.startswith(backbone) and describe_model(model).startswith(model.backbone.name)


@pytest.mark.parametrize("backbone", ["cnn", "rnn", "resnet18", "tv:resnet18"])
def test_two_input_channels_for_mel_plus_mfcc(backbone):
    model = create_model(tiny(f"backbone={backbone}", "kind=mel+mfcc"), num_classes=3).eval()
    if backbone == "rnn":
        assert model.backbone.net.frame_features == 2 * HEIGHT
    else:
        assert first_conv(model).in_channels == 2
    with torch.no_grad():
        assert model(waves()).shape == (2, 3)


def test_fixed_size_models_fit_or_resize_the_spectrogram():
    eva = create_model(tiny("backbone=eva02_tiny"), num_classes=2)
    assert eva.backbone.resize_hw is None and f"({HEIGHT}, {FRAMES})" in eva.backbone.note
    # LeViT's attention biases are tied to its 224x224 grid (a model timm 0.9 has too: kit promises the older
    # Kaggle stack; timm 1.0's ViTs take any size, so they would not test the resize)
    levit = create_model(tiny("backbone=levit_128s"), num_classes=2)
    assert levit.backbone.resize_hw == (224, 224) and "resized to 224x224" in describe_model(levit)


def test_large_backbones_count_their_parameters():
    for name, low, high in (("resnet50", 23e6, 25e6), ("tf_efficientnetv2_s", 19e6, 22e6),
                            ("swinv2", 26e6, 29e6)):
        model = create_model(tiny(f"backbone={name}"), num_classes=4)
        assert low < count_parameters(model.backbone) < high, name
        assert count_parameters(model) == sum(p.numel() for p in model.parameters())


# ---- names -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, close", [("resnet81", "resnet18"), ("cnnn", "cnn"), ("tv:resnet81", "tv:resnet18"),
                                         ("eva02_tiny_patch14", "eva02_tiny")])
def test_unknown_backbone_lists_close_matches(name, close):
    with pytest.raises(ConfigError, match=f"unknown backbone.*did you mean.*{close}"):
        create_model(tiny(f"backbone={name}"), num_classes=2)


def test_hub_names_refused():
    with pytest.raises(ModelError, match="hub weights go in pretrained=hf-hub"):
        create_model(tiny("backbone=hf-hub:timm/resnet18.a1_in1k"), num_classes=2)


# ---- head ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("hidden", [(1024, 512), (1024, 1024, 512)])
def test_head_blocks_follow_head_hidden(hidden):
    model = create_model(tiny("head_hidden=" + ",".join(map(str, hidden))), num_classes=7)
    blocks = list(model.head.blocks)
    assert len(blocks) == len(hidden)
    widths_in = [model.backbone.num_features, *hidden[:-1]]
    for block, w_in, w_out in zip(blocks, widths_in, hidden):
        assert [type(m).__name__ for m in block] == ["Linear", "RowSafeBatchNorm1d", "PReLU"]
        assert isinstance(block.bn, nn.BatchNorm1d)
        assert (block.linear.in_features, block.linear.out_features, block.bn.num_features) == (w_in, w_out, w_out)
    assert (model.head.classifier.in_features, model.head.classifier.out_features) == (hidden[-1], 7)
    assert not any(isinstance(m, nn.Dropout) for m in model.modules())


def test_head_dropout_present():
    model = create_model(tiny("head_hidden=64,32", "head_dropout=0.3"), num_classes=3)
    drops = [m for m in model.head.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 2 and all(d.p == 0.3 for d in drops)
    bare = create_model(tiny("head_hidden=", "head_dropout=0.5"), num_classes=3)
    assert len(bare.head.blocks) == 0 and isinstance(bare.head.dropout, nn.Dropout)
    assert bare.head.classifier.in_features == bare.backbone.num_features


def test_cnn_keeps_frequency_so_it_can_tell_pitch():
    """A horizontal line moved by a multiple of the pooling stride: pooling over frequency would give the
    same features (convolutions are shift-invariant); the CNN keeps frequency bins, so they differ."""
    from kit.models.builtin import CompactCNN

    torch.manual_seed(0)
    cnn = CompactCNN(1, (4, 8), height=HEIGHT).eval()
    assert cnn.num_features == 2 * 8 * (HEIGHT // 4)
    low, high = torch.zeros(2, 1, 1, HEIGHT, FRAMES)
    low[..., 8, :], high[..., 16, :] = 1.0, 1.0
    with torch.no_grad():
        a, b = cnn(low), cnn(high)
    assert a.shape == (1, cnn.num_features)
    assert (a - b).abs().max() > 0.1 * a.abs().max()
    assert torch.allclose(a.reshape(2, 8, -1).sum(-1), b.reshape(2, 8, -1).sum(-1), atol=1e-4)  # same, shifted


def test_single_crop_batch_trains_and_evaluates():
    model = create_model(tiny(), num_classes=3)
    bn = model.head.blocks[0].bn
    before = bn.running_mean.clone()
    model.train()
    out = model(waves(batch=1, crops=1))  # one row: BatchNorm1d would raise in training mode
    out.sum().backward()
    assert torch.equal(bn.running_mean, before)  # running statistics used, not updated
    model.eval()
    with torch.no_grad():
        assert model(waves(batch=1, crops=1)).shape == (1, 3)


# ---- budget ----------------------------------------------------------------------------------------
def test_over_budget_refused_with_name_and_count():
    with pytest.raises(ModelError, match=r"'resnet18'.* 11\.\d M parameters.*max_params_m=5"):
        create_model(tiny("backbone=resnet18", "max_params_m=5"), num_classes=2)


def test_over_budget_warns_when_asked():
    with pytest.warns(UserWarning, match=r"'resnet18'.*above max_params_m=5"):
        model = create_model(tiny("backbone=resnet18", "max_params_m=5", "over_budget=warn"), num_classes=2)
    assert count_parameters(model) > 5e6


# ---- pooling ---------------------------------------------------------------------------------------
def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_pooling_on_a_hand_checkable_case():
    # one recording, two crops, two classes: crop probabilities 0.2/0.6 and 0.5/0.9
    z = torch.tensor([[[_logit(0.2), _logit(0.5)], [_logit(0.6), _logit(0.9)]]])
    mean_logits = pool_crops(z, "mean", "logits")[0]
    assert mean_logits.tolist() == pytest.approx([(_logit(0.2) + _logit(0.6)) / 2, _logit(0.9) / 2], abs=1e-5)
    assert pool_crops(z, "max", "logits")[0].tolist() == pytest.approx([_logit(0.6), _logit(0.9)], abs=1e-5)
    assert pool_crops(z, "mean", "probs")[0].tolist() == pytest.approx([_logit(0.4), _logit(0.7)], abs=1e-5)
    assert pool_crops(z, "max", "probs")[0].tolist() == pytest.approx([_logit(0.6), _logit(0.9)], abs=1e-5)
    # a masked crop (pure padding) is left out; an all-masked row uses every crop
    mask = torch.tensor([[True, False]])
    assert pool_crops(z, "mean", "probs", mask)[0].tolist() == pytest.approx([_logit(0.2), 0.0], abs=1e-5)
    assert torch.allclose(pool_crops(z, "mean", "logits", ~torch.ones(1, 2, dtype=torch.bool)), mean_logits[None])


def test_probability_pooling_stays_finite_and_differentiable():
    z = torch.tensor([[[40.0, 30.0], [40.0, -30.0]]], requires_grad=True)
    out = pool_crops(z, "mean", "probs")
    assert torch.isfinite(out).all() and out[0, 1].abs() < 1e-4  # mean of p=1 and p=0 is 0.5
    assert out[0, 0] > 30
    out.sum().backward()
    assert torch.isfinite(z.grad).all() and z.grad[0, :, 0].abs().sum() > 0


@pytest.mark.parametrize("pool, over", [("mean", "logits"), ("max", "logits"), ("mean", "probs"),
                                        ("max", "probs")])
def test_model_forward_pools_its_crop_logits(pool, over):
    torch.manual_seed(0)
    model = create_model(tiny(f"crop_pool={pool}", f"pool_over={over}"), num_classes=4).eval()
    x = waves(batch=2, crops=3)
    valid = torch.tensor([[SAMPLES, SAMPLES, 0], [SAMPLES, 10, 0]])
    with torch.no_grad():
        crops = model.crop_logits(x)
        out = model(x, valid_samples=valid)
    assert torch.allclose(out, pool_crops(crops[:, :2], pool, over), atol=1e-5)  # third crops are padding
    if pool == "max":
        assert torch.allclose(out, crops[:, :2].amax(dim=1), atol=1e-5)


# ---- batches, features outside the model -------------------------------------------------------------
@pytest.mark.parametrize("backbone", ["cnn", "rnn", "regnety_008"])
def test_batch_equals_items_one_by_one_in_eval(backbone):
    torch.manual_seed(0)
    model = create_model(tiny(f"backbone={backbone}", "head_hidden=32,16"), num_classes=3).eval()
    x = waves(batch=3, crops=2, seed=1)
    with torch.no_grad():
        whole = model(x)
        single = torch.cat([model(x[i:i + 1]) for i in range(3)])
        per_crop = torch.cat([model.crop_logits(x[:, k:k + 1]) for k in range(2)], dim=1)
        assert torch.allclose(model.crop_logits(x), per_crop, atol=1e-4)
    assert torch.allclose(whole, single, atol=1e-4)


def test_precomputed_features_path_matches_the_waveform_path():
    from kit.features.frontend import extract

    cfg_in = tiny("backbone=cnn")
    inside = create_model(cfg_in, num_classes=3).eval()
    outside = create_model(cfg_in.override(["features_in_model=false"]), num_classes=3).eval()
    assert inside.frontend is not None and outside.frontend is None
    outside.load_state_dict(inside.state_dict())  # the front-end holds no weights: same state dict
    x = waves()
    feats = extract(x, cfg_in.audio, cfg_in.features)
    assert feats.shape == (2, 2, 1, HEIGHT, FRAMES)
    with torch.no_grad():
        assert torch.allclose(outside(feats), inside(x), atol=1e-5)
        assert outside(feats[:, 0]).shape == (2, 3)  # (B, C, H, T) is one crop per item
    with pytest.raises(ValueError, match="features"):
        outside(x)
    with pytest.raises(ValueError, match="1 feature channel"):
        outside(torch.cat([feats, feats], dim=2))  # mel+mfcc-shaped features for a mel model


# ---- pretrained weights from a local file only --------------------------------------------------------
def test_pretrained_backbone_state_dict_loads(tmp_path):
    torch.manual_seed(1)
    source = create_model(tiny(), num_classes=3)
    path = tmp_path / "cnn_backbone.pt"
    torch.save(source.backbone.net.state_dict(), path)
    torch.manual_seed(2)
    model = create_model(tiny(f"pretrained_path={path}"), num_classes=3)
    for key, value in source.backbone.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[key], value), key
    assert "backbone weights from" in describe_model(model)


def test_pretrained_kit_checkpoint_reuses_what_fits(tmp_path):
    from kit.checkpoint import Checkpoint, save_checkpoint

    torch.manual_seed(1)
    source = create_model(tiny(), num_classes=5)
    path = save_checkpoint(tmp_path / "old.ckpt", Checkpoint(tiny(), ["a", "b", "c", "d", "e"],
                                                             source.state_dict()))
    torch.manual_seed(2)
    model = create_model(tiny(f"pretrained_path={path}"), num_classes=3)  # new label set: new classifier
    new, old = model.state_dict(), source.state_dict()
    assert all(torch.equal(new[k], old[k]) for k in old if not k.startswith("head.classifier"))
    assert new["head.classifier.weight"].shape == (3, 256)
    assert "kept fresh: head.classifier.weight, head.classifier.bias" in model.pretrained_note


def test_pretrained_timm_weights_are_adapted_without_network(tmp_path):
    import timm

    torch.manual_seed(1)
    imagenet = timm.create_model("resnet18", pretrained=False)  # the layout of a downloaded timm file
    path = tmp_path / "resnet18.pth"
    torch.save({"state_dict": imagenet.state_dict()}, path)
    model = create_model(tiny("backbone=resnet18", f"pretrained_path={path}"), num_classes=2)
    net = model.backbone.net
    assert torch.allclose(net.conv1.weight, imagenet.conv1.weight.sum(dim=1, keepdim=True))  # RGB -> 1 channel
    assert torch.equal(net.layer4[1].conv2.weight, imagenet.layer4[1].conv2.weight)


def test_pretrained_fixed_size_model_gets_its_position_embedding_resampled(tmp_path):
    import timm

    imagenet = timm.create_model("eva02_tiny_patch14_224", pretrained=False)  # 16 x 16 patches + class token
    path = tmp_path / "eva.pth"
    torch.save(imagenet.state_dict(), path)
    model = create_model(tiny("backbone=eva02_tiny", f"pretrained_path={path}"), num_classes=2)
    net = model.backbone.net
    assert model.backbone.resize_hw is None
    assert net.pos_embed.shape[1] == 1 + (HEIGHT // 14) * (FRAMES // 14)  # resampled to the spectrogram grid
    assert torch.equal(net.blocks[0].attn.qkv.weight, imagenet.blocks[0].attn.qkv.weight)


def test_pretrained_torchvision_weights_from_safetensors(tmp_path):
    import torchvision
    from safetensors.torch import save_file

    torch.manual_seed(1)
    imagenet = torchvision.models.resnet18(weights=None)
    path = tmp_path / "tv_resnet18.safetensors"
    save_file({k: v.contiguous() for k, v in imagenet.state_dict().items()}, str(path))
    model = create_model(tiny("backbone=tv:resnet18", "kind=mel+mfcc", f"pretrained_path={path}"), num_classes=2)
    conv = model.backbone.net.conv1
    assert conv.in_channels == 2
    assert torch.allclose(conv.weight, imagenet.conv1.weight[:, :2] * 1.5)  # timm's rule: RGB[:2] * 3/2
    assert torch.equal(model.backbone.net.layer1[0].conv1.weight, imagenet.layer1[0].conv1.weight)


def test_missing_or_unfit_or_unsafe_pretrained_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere.pt"
    with pytest.raises(PretrainedWeightsError, match=r"nowhere\.pt: file not found.*never downloaded"):
        create_model(tiny(f"pretrained_path={missing}"), num_classes=2)
    other = tmp_path / "other.pt"
    torch.save(create_model(tiny("backbone=rnn"), 2).backbone.net.state_dict(), other)
    with pytest.raises(PretrainedWeightsError, match=r"other\.pt: weights do not fit backbone 'cnn"):
        create_model(tiny(f"pretrained_path={other}"), num_classes=2)
    with pytest.raises(PretrainedWeightsError, match=r"other\.pt: weights do not fit timm backbone 'resnet18'"):
        create_model(tiny("backbone=resnet18", f"pretrained_path={other}"), num_classes=2)
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"weights": torch.zeros(2), "extra": Config()}, unsafe)  # a pickled Python object inside
    with pytest.raises(PretrainedWeightsError, match=r"unsafe\.pt: .*(pickled|cannot read)"):
        create_model(tiny(f"pretrained_path={unsafe}"), num_classes=2)


def test_checkpoint_loads_after_the_pretrained_file_is_gone(tmp_path):
    from kit.checkpoint import Checkpoint, load_model, save_checkpoint

    weights = tmp_path / "w.pt"
    torch.save(create_model(tiny(), 2).backbone.net.state_dict(), weights)
    config = tiny(f"pretrained_path={weights}")
    model = create_model(config, num_classes=2).eval()
    ckpt = save_checkpoint(tmp_path / "best.ckpt", Checkpoint(config, ["a", "b"], model.state_dict()))
    weights.unlink()  # e.g. the Kaggle notebook has only the checkpoint
    loaded, _ = load_model(ckpt)
    x = waves()
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-6)


def test_default_config_is_small_and_trains_on_full_size_crops():
    config = Config()
    model = create_model(config, num_classes=25)
    assert count_parameters(model) < 1e6 and model.input_shape == (1, 128, 321)
    x = torch.randn(2, 1, config.audio.crop_samples)
    loss = nn.functional.binary_cross_entropy_with_logits(model(x), torch.zeros(2, 25))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
