"""Features: per-item reductions (batch == items), golden values, librosa and torchaudio parity, mirroring."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from kit.audio import load_audio
from kit.config import AudioConfig, Config, FeatureConfig
from kit.features.frontend import FeatureExtractor, extract, mirror_frames

GOLDEN = Path(__file__).parent / "golden" / "logmel_default.json"


def synthetic(seconds=5.0, sr=32000, seed=0) -> np.ndarray:
    """A fixed signal: a chirp, a harmonic stack and a little seeded noise."""
    t = np.arange(int(seconds * sr)) / sr
    chirp = np.sin(2 * np.pi * (500 * t + 400 * t ** 2))
    stack = sum(np.sin(2 * np.pi * 1200 * h * t) / h for h in (1, 2, 3))
    noise = np.random.default_rng(seed).standard_normal(len(t))
    return (0.3 * chirp + 0.2 * stack + 0.01 * noise).astype(np.float32)


@pytest.mark.parametrize("kind", ["mel", "mfcc", "mel+mfcc"])
def test_shapes_and_frames(kind):
    cfg = Config().override([f"kind={kind}"])
    fe = FeatureExtractor(cfg.audio, cfg.features)
    out = fe(torch.zeros(2, 3, cfg.audio.crop_samples))
    assert out.shape == (2, 3, cfg.features.channels, cfg.features.height, 321)  # 160000 / 500 + 1
    assert fe.frames(cfg.audio.crop_samples) == 321


@pytest.mark.parametrize("kind", ["mel", "mfcc", "mel+mfcc"])
@pytest.mark.parametrize("norm", ["standard", "minmax", "none"])
def test_batch_equals_items_even_for_crops_40_db_apart(kind, norm):
    """The top_db trap: a clamp or normalization across crops would change the quiet crop."""
    cfg = Config().override([f"kind={kind}", f"norm_mel={norm}", f"norm_mfcc={norm}"])
    fe = FeatureExtractor(cfg.audio, cfg.features)
    loud = synthetic(seed=1)
    quiet = synthetic(seed=2) * 10 ** (-40 / 20)            # 40 dB below
    other = synthetic(seed=3)[::-1].copy() * 0.5
    crops = torch.from_numpy(np.stack([np.stack([loud, quiet]), np.stack([other, quiet])]))  # (2, 2, S)
    batch = fe(crops)
    for b in range(2):
        for k in range(2):
            single = fe(crops[b, k][None])[0]
            torch.testing.assert_close(batch[b, k], single, rtol=0, atol=1e-5)
    # and the quiet crop really is 40 dB down before normalization (so the test above had teeth)
    raw = FeatureExtractor(cfg.audio, FeatureConfig(top_db=80, norm_mel="none"))(crops)
    assert 35 < (raw[0, 0].amax() - raw[0, 1].amax()).item() < 45


def test_top_db_clamps_per_item():
    audio, feats = AudioConfig(), FeatureConfig(top_db=30, norm_mel="none")
    x = torch.from_numpy(np.stack([synthetic(seed=1), synthetic(seed=2) * 1e-3]))
    out = FeatureExtractor(audio, feats)(x)
    for item in out:
        assert item.amax() - item.amin() <= 30 + 1e-4
        assert item.amax() - item.amin() > 29  # the clamp is active on each item


def test_mel_and_mfcc_are_normalized_separately():
    cfg = Config().override(["kind=mel+mfcc", "norm_mel=standard", "norm_mfcc=minmax"])
    out = FeatureExtractor(cfg.audio, cfg.features)(torch.from_numpy(synthetic())[None])[0]
    mel, mfcc = out[0], out[1]
    assert abs(mel.mean().item()) < 1e-4 and abs(mel.std(unbiased=False).item() - 1) < 1e-3
    assert abs(mfcc.min().item()) < 1e-6 and abs(mfcc.max().item() - 1) < 1e-4


def test_silence_gives_a_finite_constant_feature():
    out = extract(np.zeros((1, 32000), np.float32), AudioConfig(crop_s=1.0), FeatureConfig())
    assert torch.isfinite(out).all() and out.abs().max() == 0


def test_shorter_than_one_hop_and_one_fft():
    for n in (1, 100, 499, 1500):
        out = extract(np.random.default_rng(n).standard_normal((1, n)).astype(np.float32), AudioConfig(),
                      FeatureConfig(flavour="torchaudio"))
        assert out.shape[-1] == n // 500 + 1 and torch.isfinite(out).all()


def test_golden_log_mel_values():
    """Committed values for the default config: a change of defaults (or of torch's maths) is caught."""
    golden = json.loads(GOLDEN.read_text())
    cfg = Config()
    assert golden["config"] == cfg.to_dict()["features"], "feature defaults changed: update the golden file " \
                                                          "deliberately (tests/golden/make_golden.py)"
    x = synthetic(seconds=golden["seconds"])
    out = extract(x[None], cfg.audio, cfg.features)[0, 0].numpy()
    rows, cols = golden["mel_rows"], golden["frame_cols"]
    np.testing.assert_allclose(out[np.ix_(rows, cols)], np.array(golden["values"]), rtol=0, atol=2e-4)


def test_mirror_after_spectrogram_reflects_frames_past_the_real_audio():
    spec = torch.arange(10, dtype=torch.float32).repeat(2, 3, 1)  # (N=2, F=3, T=10), frame t holds t
    out = mirror_frames(spec, torch.tensor([4 * 100, 0]), hop_length=100)
    # 400 real samples -> centred frames 0..3 are real; then 3,2,1,0,0,1
    assert out[0, 0].tolist() == [0, 1, 2, 3, 3, 2, 1, 0, 0, 1]
    assert out[1, 0].tolist() == list(range(10))  # no real samples: left as is
    cfg = Config().override(["pad_mode=mirror", "mirror_placement=spectrogram"])
    x = torch.from_numpy(synthetic(seconds=2.0))
    padded = torch.cat([x, torch.zeros(cfg.audio.crop_samples - len(x))])[None]
    a = FeatureExtractor(cfg.audio, cfg.features)(padded, torch.tensor([len(x)]))
    b = FeatureExtractor(cfg.audio, cfg.features)(padded)
    assert not torch.allclose(a, b)  # valid_samples changes the frames past 2 s


# ---- reference implementations ----------------------------------------------------------------------
def _real_clip(shared_data, seconds=5.0):
    path = sorted((shared_data / "esc50" / "audio" / "dog").glob("*.ogg"))[0]
    return load_audio(path, 32000)[: int(seconds * 32000)]


def test_librosa_flavour_matches_librosa(shared_data):
    librosa = pytest.importorskip("librosa")
    for x in (_real_clip(shared_data), load_audio(shared_data / "field" / "birds_10s.ogg", 32000)[:160000]):
        feats = FeatureConfig(norm_mel="none")
        ours = extract(x[None], AudioConfig(), feats)[0, 0].numpy()
        mel = librosa.feature.melspectrogram(y=x, sr=32000, n_fft=2048, hop_length=500, n_mels=128, fmin=20,
                                             fmax=16000, power=2.0)
        ref = librosa.power_to_db(mel, top_db=80)
        # float32 FFT rounding only shows in bins ~75 dB below the peak: 1e-5 of the item's dynamic range
        assert np.abs(ours - ref).max() <= 1e-5 * (ref.max() - ref.min()) + 1e-4
        # what the model sees (normalized per item) matches within 1e-4
        ours_n = extract(x[None], AudioConfig(), FeatureConfig())[0, 0].numpy()
        ref_n = (ref - ref.mean()) / (ref.std() + 1e-6)
        np.testing.assert_allclose(ours_n, ref_n, rtol=0, atol=1e-4)
        mfcc = extract(x[None], AudioConfig(), FeatureConfig(kind="mfcc", n_mfcc=20, norm_mfcc="none"))[0, 0]
        ref_mfcc = librosa.feature.mfcc(y=x, sr=32000, n_mfcc=20, n_fft=2048, hop_length=500, n_mels=128,
                                        fmin=20, fmax=16000)
        assert np.abs(mfcc.numpy() - ref_mfcc).max() <= 1e-5 * np.abs(ref_mfcc).max() + 1e-4


def test_torchaudio_flavour_matches_torchaudio_transforms(shared_data):
    import torchaudio

    x = torch.from_numpy(_real_clip(shared_data))
    ours = extract(x[None], AudioConfig(), FeatureConfig(flavour="torchaudio", norm_mel="none"))[0, 0]
    mel = torchaudio.transforms.MelSpectrogram(32000, n_fft=2048, hop_length=500, f_min=20, f_max=16000,
                                               n_mels=128)(x)
    ref = torchaudio.transforms.AmplitudeToDB("power", top_db=80)(mel[None])[0]  # 3-D input: per item
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-3)
    # and the flavours really differ (htk vs slaney), so the flag is not a no-op
    librosa_like = extract(x[None], AudioConfig(), FeatureConfig(norm_mel="none"))[0, 0]
    assert (librosa_like - ours).abs().max() > 1.0


def test_runs_on_available_accelerator():
    from kit.utils import pick_device

    device = pick_device("auto")
    cfg = Config()
    fe = FeatureExtractor(cfg.audio, cfg.features).to(device)
    x = torch.from_numpy(synthetic(seconds=1.0))[None]
    out = fe(x.to(device)).cpu()
    torch.testing.assert_close(out, fe.cpu()(x), rtol=0, atol=1e-3)


def test_cpu_chunks_equal_one_call_and_keep_valid_samples(monkeypatch):
    """On the CPU the front-end runs a few items at a time (cache); the result equals one call on the batch,
    including the per-item valid lengths that spectrogram mirroring uses."""
    import kit.features.frontend as F

    cfg = Config().override(["pad_mode=mirror", "mirror_placement=spectrogram", "crop_s=2"])
    assert F.cpu_chunk_items(2048, 321) == 1 and F.cpu_chunk_items(256, 65) > 4
    wave = torch.randn(2, 3, cfg.audio.crop_samples, generator=torch.Generator().manual_seed(0))
    valid = torch.tensor([[64000, 30000, 0], [12345, 64000, 500]])
    fe = FeatureExtractor(cfg.audio, cfg.features)
    chunked = fe(wave, valid)
    calls = []
    monkeypatch.setattr(F, "cpu_chunk_items", lambda *a: calls.append(a) or 10 ** 9)
    whole = fe(wave, valid)
    assert calls and chunked.shape == whole.shape == (2, 3, 1, 128, 129)
    torch.testing.assert_close(chunked, whole, atol=1e-5, rtol=1e-5)
    for i in range(2):  # and each item alone
        for k in range(3):
            torch.testing.assert_close(fe(wave[i, k][None], valid[i, k][None])[0], chunked[i, k], atol=1e-5,
                                       rtol=1e-5)


def test_tune_malloc_applies_on_glibc_and_can_be_turned_off(monkeypatch):
    import platform

    from kit.utils import MALLOC_TUNING, set_malloc_tuning, tune_malloc

    monkeypatch.setitem(MALLOC_TUNING, "enabled", True)
    set_malloc_tuning(False)
    assert tune_malloc() is False
    set_malloc_tuning(True)
    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert tune_malloc() is glibc
