"""Pseudo-labels: `kit pseudo-label` equals predict's probabilities, sharpening/filtering, the CSV's provenance
and every bad input `kit train --pseudo` can meet; soft targets reach the loss unchanged."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import infer_helpers as H  # noqa: E402
import train_data as D  # noqa: E402
from kit.config import Config  # noqa: E402
from kit.infer.pseudo import pseudo_label, sharpen  # noqa: E402
from kit.softlabels import MARKER, PseudoLabelError, read_soft_labels  # noqa: E402
from kit.train.pseudo import MixedDataset, PseudoDataset, read_pseudo  # noqa: E402

LABELS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def made(shared_data, tmp_path_factory):
    """(checkpoint, soundscape folder, pseudo.csv, predict's frame) on two real field recordings."""
    from kit.infer import predict_soundscapes

    folder = tmp_path_factory.mktemp("pseudo")
    sounds = folder / "sounds"
    (sounds / "deeper").mkdir(parents=True)
    (sounds / "field_1min.ogg").symlink_to(shared_data / "field" / "field_1min.ogg")
    (sounds / "deeper" / "birds_10s.ogg").symlink_to(shared_data / "field" / "birds_10s.ogg")
    ckpt = H.tiny_checkpoint(folder / "m.ckpt", labels=LABELS)
    out = pseudo_label([ckpt], [sounds], folder / "pseudo.csv", device="cpu", min_confidence=0)
    files = [sounds / "deeper" / "birds_10s.ogg", sounds / "field_1min.ogg"]
    return ckpt, sounds, folder / "pseudo.csv", out, predict_soundscapes([ckpt], files, device="cpu")


def test_pseudo_labels_equal_predict_on_the_same_windows(made):
    ckpt, sounds, csv, out, predicted = made
    provenance, frame = read_soft_labels(csv)
    assert provenance["labels"] == LABELS and provenance["checkpoints"] == [str(Path(ckpt).absolute())]
    assert provenance["root"] == str(sounds.absolute()) and provenance["power"] == 1.0
    assert list(frame["filename"].unique()) == ["deeper/birds_10s.ogg", "field_1min.ogg"]
    assert len(frame) == len(predicted) == 3 + 12  # birds_10s: 10.x s, a partial third window
    np.testing.assert_allclose(frame[LABELS].to_numpy(), predicted[LABELS].to_numpy(), atol=1e-6)
    ends = [int(r.rsplit("_", 1)[1]) for r in predicted["row_id"]]
    assert frame["end_s"].tolist() == ends


def test_min_confidence_leaves_out_the_unsure_windows(made, tmp_path):
    ckpt, sounds, _, out, _ = made
    cut = float(np.median(out[LABELS].max(axis=1)))
    kept = pseudo_label([ckpt], [sounds], tmp_path / "sure.csv", device="cpu", min_confidence=cut)
    sure = out[out[LABELS].max(axis=1) >= cut].reset_index(drop=True)
    assert 0 < len(kept) < len(out) and len(kept) == len(sure)
    np.testing.assert_allclose(kept[LABELS].to_numpy(), sure[LABELS].to_numpy(), atol=1e-6)
    assert kept["end_s"].tolist() == sure["end_s"].tolist()
    assert read_soft_labels(tmp_path / "sure.csv")[0]["min_confidence"] == cut
    with pytest.raises(ValueError, match="min_confidence"):
        pseudo_label([ckpt], [sounds], tmp_path / "bad.csv", device="cpu", min_confidence=1.0)
    assert not (tmp_path / "bad.csv").exists()
    with pytest.warns(UserWarning, match="no window's top probability reaches"):
        none = pseudo_label([ckpt], [sounds], tmp_path / "none.csv", device="cpu", min_confidence=0.999999)
    assert len(none) == 0 and len(read_pseudo(tmp_path / "none.csv", LABELS, Config().override(D.TINY))) == 0
    from kit.pipeline import train_run

    clips = D.tone_clips(tmp_path / "clips", labels=LABELS, per_label=2)
    config = Config().override(D.TINY + ["epochs=1", f"pseudo_csv={tmp_path / 'none.csv'}", "pseudo_init=scratch"])
    assert Path(train_run(config, clips, tmp_path / "run", log_path=tmp_path / "log.csv")["best"]).is_file()


def test_sharpen_power_threshold_and_top_k():
    p = np.array([[0.9, 0.5, 0.2, 0.1]], np.float32)
    np.testing.assert_allclose(sharpen(p, power=2), p ** 2, rtol=1e-6)
    np.testing.assert_allclose(sharpen(p, threshold=0.3), [[0.9, 0.5, 0, 0]])
    np.testing.assert_allclose(sharpen(p, top_k=1), [[0.9, 0, 0, 0]])
    np.testing.assert_allclose(sharpen(p, power=2, threshold=0.1, top_k=3), [[0.81, 0.25, 0, 0]], rtol=1e-6)
    with pytest.raises(ValueError):
        sharpen(p, power=0)


def test_soft_targets_reach_the_loss_unchanged(made, tmp_path):
    """Read back, a window's target is the CSV's row (augmentation off), through the mixed training set."""
    import torch

    from kit.audio import AudioCache, load_audio
    from kit.pipeline import train_run
    from kit.train.data import RecordingDataset, read_labels

    _, sounds, csv, out, _ = made
    config = Config().override(D.TINY)
    table = read_pseudo(csv, LABELS, config)
    np.testing.assert_array_equal(table.targets, read_soft_labels(csv)[1][LABELS].to_numpy(np.float32))
    np.testing.assert_allclose(table.targets, out[LABELS].to_numpy(), atol=1e-6)  # 6 significant digits
    dataset = PseudoDataset(table, config, 0, AudioCache(64))
    crops, valid, target, _ = dataset[5]  # field_1min (after birds_10s's 3), window 2 (10-15 s): 1 s centred on it
    np.testing.assert_array_equal(target, table.targets[5])
    x = load_audio(sounds / "field_1min.ogg", 32000)
    np.testing.assert_array_equal(crops[0], x[12 * 32000: 13 * 32000])
    clips = D.tone_clips(tmp_path / "clips", labels=LABELS, per_label=2)
    labelled = RecordingDataset(read_labels(clips), range(6), config, train=True)
    mixed = MixedDataset(labelled, dataset, ratio=1.0, seed=0)
    mixed.set_epoch(1)
    assert len(mixed) == 12 and len(set(mixed.chosen)) == 6
    seen = [mixed[i][2] for i in range(6, 12)]
    np.testing.assert_array_equal(np.stack(seen), table.targets[mixed.chosen])
    losses = []
    original = torch.nn.functional.binary_cross_entropy_with_logits

    def spy(logits, target, *args, **kwargs):
        losses.append(target.detach().clone())
        return original(logits, target, *args, **kwargs)
    from kit.train import losses as L

    L.F.binary_cross_entropy_with_logits = spy
    try:
        pseudo_cfg = config.override(["epochs=1", "batch_size=64", f"pseudo_csv={csv}", "ema_decay=0",
                                      "valid_frac=0", "label_smoothing=0", "pseudo_ratio=3", "pseudo_mixup_p=0"])
        train_run(pseudo_cfg, clips, tmp_path / "run", log_path=tmp_path / "log.csv")
    finally:
        L.F.binary_cross_entropy_with_logits = original
    rows = {tuple(r.tolist()) for r in losses[0]}
    assert {tuple(t.tolist()) for t in table.targets} <= rows  # every pseudo window's soft target, as written


def test_a_pseudo_run_starts_from_its_teacher(made, tmp_path):
    """pseudo_init=teacher: the run starts from the weights that made its pseudo labels, for pseudo_epoch_frac of
    its epochs; a teacher of another backbone (a student), pseudo_init=scratch or a pretrained_path of its own
    train from where they were. The resolved config is the one saved: the labelling settings of the CSV, the mixup
    that ran (pseudo_mixup_p), the rounds rule (2 from the teacher, else 1); resolving it again changes nothing."""
    from kit.checkpoint import load_checkpoint, load_model
    from kit.pipeline import train_run
    from kit.train import resolve_config

    sounds = made[1]
    clips = D.tone_clips(tmp_path / "clips", labels=LABELS, per_label=2)
    base = Config().override(D.TINY + ["epochs=1", "valid_frac=0"])
    teacher = Path(train_run(base, clips, tmp_path / "teacher", log_path=tmp_path / "log.csv")["best"])
    pseudo_label([teacher], [sounds], tmp_path / "p.csv", device="cpu", power=2.0, min_confidence=0.1)
    config, notes = base.override([f"pseudo_csv={tmp_path / 'p.csv'}", "epochs=4", "pseudo_epoch_frac=0.5"]), []
    started = resolve_config(config, notes.append)
    assert started.model.pretrained_path == str(teacher.absolute()) and started.train.epochs == 2
    assert started.augment.mixup_p == config.pseudo.pseudo_mixup_p == 0.5 and started.pseudo.pseudo_rounds == 2
    assert (started.pseudo.pseudo_power, started.pseudo.pseudo_min_confidence) == (2.0, 0.1)  # the CSV's settings
    assert "starting from their teacher's weights" in notes[-1]
    assert resolve_config(started, notes.append) == started
    for extra, said in ((["cnn_channels=4"], "another backbone"), (["pseudo_init=scratch"], None),
                        ([f"pretrained_path={teacher}"], None)):
        notes.clear()
        other = resolve_config(config.override(extra), notes.append)
        assert other.model == config.override(extra).model and other.train.epochs == 4
        assert other.pseudo.pseudo_rounds == 1 and other.augment.mixup_p == 0.5
        assert (said in notes[-1]) if said else not notes
    result = train_run(config.override(["epochs=1", "lr=1e-9", "ema_decay=0"]), clips, tmp_path / "round",
                       log_path=tmp_path / "log.csv")
    assert "starting from their teacher's weights" in (tmp_path / "round" / "train.log").read_text()
    saved = load_checkpoint(result["best"]).config
    assert saved.model.pretrained_path == str(teacher.absolute())
    assert saved.augment.mixup_p == 0.5 and Config.load(tmp_path / "round" / "config.json") == saved
    import torch

    ours, _ = load_model(result["best"], device="cpu")
    theirs, _ = load_model(teacher, device="cpu")
    fresh = train_run(config.override(["epochs=1", "lr=1e-9", "ema_decay=0", "pseudo_init=scratch"]), clips,
                      tmp_path / "scratch", log_path=tmp_path / "log.csv")
    scratch, _ = load_model(fresh["best"], device="cpu")
    for (name, mine), other, new in zip(ours.backbone.named_parameters(), theirs.backbone.parameters(),
                                        scratch.backbone.parameters()):
        torch.testing.assert_close(mine, other, atol=1e-6, rtol=0, msg=name)  # lr 1e-9: still the teacher's
    assert any((a - b).abs().max() > 1e-3 for a, b in zip(theirs.backbone.parameters(), scratch.backbone.parameters()))


def _rewrite(csv: Path, tmp_path: Path, edit=None, header=None) -> Path:
    provenance, frame = read_soft_labels(csv)
    if header:
        provenance.update(header)
    if edit:
        frame = edit(frame)
    out = tmp_path / "edited.csv"
    out.write_text(MARKER + json.dumps(provenance) + "\n" + frame.to_csv(index=False))
    return out


@pytest.mark.parametrize("case, message", [
    ("unknown label", "not in the training label list"),
    ("nan", "row 3, label 'a'"),
    ("above one", "is not a probability"),
    ("duplicate", "listed twice"),
    ("past the end", "is not one of the 3 windows"),
    ("missing file", "file not found"),
    ("window", "made with window_s=10"),
    ("no header", "not a kit pseudo-label CSV"),
])
def test_bad_pseudo_csvs_are_refused_naming_file_and_row(made, tmp_path, case, message):
    csv = made[2]
    edits = {
        "unknown label": lambda f: f.rename(columns={"c": "zz"}),
        "nan": lambda f: f.assign(a=[np.nan] + list(f["a"][1:])),
        "above one": lambda f: f.assign(b=[1.5] + list(f["b"][1:])),
        "duplicate": lambda f: pd.concat([f, f.iloc[:1]]),
        "past the end": lambda f: f.assign(end_s=[20] + list(f["end_s"][1:])),
        "missing file": lambda f: f.assign(filename=["gone.ogg"] + list(f["filename"][1:])),
    }
    if case == "unknown label":
        path = _rewrite(csv, tmp_path, edits[case], {"labels": ["a", "b", "zz"]})
    elif case == "window":
        path = _rewrite(csv, tmp_path, header={"window_s": 10.0})
    elif case == "no header":
        path = tmp_path / "plain.csv"
        path.write_text("\n".join(csv.read_text().splitlines()[1:]) + "\n")
    else:
        path = _rewrite(csv, tmp_path, edits[case])
    with pytest.raises(PseudoLabelError, match=message) as info:
        read_pseudo(path, LABELS, Config())
    assert str(path) in str(info.value)


def test_other_label_order_is_aligned_by_name_and_missing_labels_noted(made, tmp_path):
    csv = made[2]
    provenance, frame = read_soft_labels(csv)
    swapped = _rewrite(csv, tmp_path, lambda f: f[["filename", "end_s", "c", "a", "b"]], {"labels": ["c", "a", "b"]})
    table = read_pseudo(swapped, LABELS, Config())
    np.testing.assert_array_equal(table.targets, frame[LABELS].to_numpy(np.float32))
    assert any("aligned by name" in n for n in table.notes)
    wider = read_pseudo(csv, LABELS + ["d"], Config())
    assert (wider.targets[:, 3] == 0).all() and any("get target 0" in n for n in wider.notes)


def _offset_in(x: np.ndarray, crop: np.ndarray, start: int, most: int) -> int:
    """Where `crop` sits in `x` relative to `start`, searched within +-most samples (asserts an exact match)."""
    low = max(0, start - most)
    views = np.lib.stride_tricks.sliding_window_view(x[low: start + most + 64], 64)
    hits = np.flatnonzero((views == crop[:64]).all(axis=1))
    assert len(hits) >= 1, "the crop is no slice of its recording near its window"
    offset = low + int(hits[0]) - start
    np.testing.assert_array_equal(crop, x[start + offset: start + offset + len(crop)])
    return offset


def test_pseudo_jitter_moves_the_window_seeded_and_keeps_the_target(made):
    """pseudo_jitter_s: the input is the recording's own samples, moved by at most +-jitter, the same for the same
    (seed, epoch), other across epochs, never outside the recording; the soft target is unchanged; 0 = the window."""
    from kit.audio import AudioCache, load_audio

    _, sounds, csv, _, _ = made
    x = load_audio(sounds / "field_1min.ogg", 32000)
    start = 12 * 32000  # window 2 of field_1min (item 5), 1 s crop centred on it
    still = PseudoDataset(read_pseudo(csv, LABELS, Config().override(D.TINY)), Config().override(D.TINY), 0,
                          AudioCache(64))
    np.testing.assert_array_equal(still[5][0][0], x[start: start + 32000])
    config = Config().override(D.TINY + ["pseudo_jitter_s=0.5"])
    table = read_pseudo(csv, LABELS, config)
    moved = PseudoDataset(table, config, 0, AudioCache(64))
    offsets = []
    for epoch in range(6):
        moved.set_epoch(epoch)
        crops, valid, target, _ = moved[5]
        offsets.append(_offset_in(x, crops[0], start, 16000))
        np.testing.assert_array_equal(target, table.targets[5])
        assert valid[0] == 32000
        np.testing.assert_array_equal(moved[5][0], crops)  # seeded: the same draw again
    assert all(abs(o) <= 16000 for o in offsets) and len(set(offsets)) > 3
    far = PseudoDataset(table, config.override(["pseudo_jitter_s=4.9"]), 0, AudioCache(64))
    for epoch in range(8):  # birds_10s (10.x s): +-4.9 s from its windows 0 and 1 would reach past either end
        far.set_epoch(epoch)
        for item in (0, 1):
            crops, valid, _, _ = far[item]
            assert valid[0] == 32000 and np.abs(crops[0]).max() > 0
    with pytest.raises(Exception, match="pseudo_jitter_s"):
        Config().override(["pseudo_jitter_s=5"])


@pytest.mark.parametrize("shift_s", [0.5, 2.5])  # 2.5 s moves the 1 s inputs of the first windows past 0: clipped
def test_shifted_views_average_the_window_moved_by_real_audio(made, tmp_path, shift_s):
    """shift_s: each window's labels are the mean of predict's probabilities and the model's on the input moved by
    -shift_s and +shift_s of the recording (clipped inside it), computed here by hand with the model itself."""
    import torch

    from kit.audio import load_audio, segment, window_input_start
    from kit.infer.members import load_members

    ckpt, sounds, _, out, _ = made
    moved = pseudo_label([ckpt], [sounds], tmp_path / "moved.csv", device="cpu", min_confidence=0, shift_s=shift_s)
    assert read_soft_labels(tmp_path / "moved.csv")[0]["shift_s"] == shift_s
    member = load_members([ckpt], "cpu")[0]
    cfg = member.config.audio
    for name, first in (("deeper/birds_10s.ogg", 0), ("field_1min.ogg", 3)):
        x = load_audio(sounds / name, cfg.sample_rate_hz)
        rows = out.index[out["filename"] == name]
        by_hand = []
        for i, row in enumerate(rows):
            start = window_input_start(i, cfg)
            views = [start + d for d in (-int(shift_s * 32000), int(shift_s * 32000))]
            views = [min(max(v, 0), max(start, len(x) - cfg.crop_samples)) for v in views]
            crops = torch.from_numpy(np.stack([segment(x, v, cfg.crop_samples, "constant") for v in views]))
            valid = torch.tensor([max(0, min(cfg.crop_samples, len(x) - v)) for v in views])
            with torch.no_grad():
                probs = torch.sigmoid(member.model(crops[:, None], valid_samples=valid[:, None])).numpy()
            by_hand.append((out.loc[row, LABELS].to_numpy(float) + probs.sum(0)) / 3)
        np.testing.assert_allclose(moved.loc[rows, LABELS].to_numpy(float), np.stack(by_hand), atol=1e-5)
        assert first == rows[0]
    assert not np.allclose(moved[LABELS].to_numpy(float), out[LABELS].to_numpy(float), atol=1e-4)
    from kit.cli import main

    assert main(["pseudo-label", "--checkpoint", str(ckpt), "--soundscapes", str(sounds), "--out", str(tmp_path / "cli.csv"),
                "--min-confidence", "0", "--shift-s", str(shift_s), "--device", "cpu"]) == 0
    from_cli = read_soft_labels(tmp_path / "cli.csv")
    assert from_cli[0]["shift_s"] == shift_s and from_cli[1].equals(read_soft_labels(tmp_path / "moved.csv")[1])
    with pytest.raises(ValueError, match="shift_s"):
        pseudo_label([ckpt], [sounds], tmp_path / "bad.csv", device="cpu", shift_s=5)
