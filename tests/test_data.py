"""kit.train.data: reading BirdCLEF folders and filename,label CSVs, targets, the seeded stratified split, the
dataset."""
from __future__ import annotations

import numpy as np
import pytest

import badfiles as B
from kit.audio import AudioError
from kit.config import Config
from kit.train.data import DataError, RecordingDataset, check_files, read_labels, split_table, targets
from train_data import tone_clips


def test_birdclef_folder_secondary_labels_and_targets(tmp_path):
    B.birdclef_folder(tmp_path, secondary="['b', 'zzz']")
    table = read_labels(tmp_path)
    assert table.labels == ["a", "b"]
    assert table.frame["secondary_labels"][0] == ["b"]          # 'zzz' is not a label: dropped, with a note
    assert any("zzz" in note for note in table.notes)
    assert table.frame["path"][0] == str((tmp_path / "train_audio" / "a" / "a_0.ogg").resolve())
    y = targets(table, secondary_label_weight=0.5)
    np.testing.assert_array_equal(y[0], [1.0, 0.5])
    np.testing.assert_array_equal(y[2], [0.0, 1.0])


def test_sample_submission_fixes_label_order(tmp_path):
    B.birdclef_folder(tmp_path)
    B.sample_submission(tmp_path / "sample_submission.csv", ["c", "b", "a"], ["s_5"])
    table = read_labels(tmp_path)
    assert table.labels == ["c", "b", "a"]
    assert targets(table, 0.5)[0].tolist() == [0.0, 0.5, 1.0]


@pytest.mark.parametrize("secondary", ["['b'", "__import__('os').system('true')", "[1, 2]", "{'b': 1}"])
def test_malformed_secondary_labels_name_file_and_row(tmp_path, secondary):
    B.birdclef_folder(tmp_path, secondary=secondary)
    with pytest.raises(DataError, match=r"train\.csv: row 2: secondary_labels"):
        read_labels(tmp_path)


def test_missing_columns_escaping_paths_and_missing_files_are_refused(tmp_path):
    with pytest.raises(DataError, match=r"missing_columns\.csv: missing column\(s\) \['filename', 'primary_label'\]"):
        read_labels(B.csv_missing_columns(tmp_path))
    B.make_clip_folder(tmp_path)
    with pytest.raises(ValueError, match="escapes"):
        read_labels(B.csv_escaping(tmp_path, "../../etc/passwd"))
    with pytest.raises(DataError, match="not found"):
        read_labels(tmp_path / "nothing.csv")
    with pytest.raises(DataError, match="train_metadata.csv"):
        read_labels(tmp_path / "clips")


def _table(tmp_path, counts):
    lines = ["filename,label"] + [f"clips/{lab}_{i}.ogg,{lab}" for lab, n in counts.items() for i in range(n)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    return read_labels(tmp_path / "t.csv")


def test_split_is_stratified_seeded_and_keeps_single_recording_labels(tmp_path):
    table = _table(tmp_path, {"a": 10, "b": 10, "c": 5, "solo": 1})
    cfg = Config().override(["valid_frac=0.2"]).data
    train, valid, notes = split_table(table, cfg)
    again, valid_again, _ = split_table(table, cfg)
    np.testing.assert_array_equal(valid, valid_again)
    np.testing.assert_array_equal(train, again)
    other = split_table(table, Config().override(["split_seed=1", "valid_frac=0.2"]).data)[1]
    assert set(other) != set(valid)
    labels = table.frame["primary_label"].to_numpy()
    assert not set(train) & set(valid) and len(train) + len(valid) == len(table)
    assert sorted(labels[valid].tolist()) == ["a", "a", "b", "b", "c"]  # 20 % of each label
    assert "solo" in labels[train] and any("solo" in n for n in notes)


def test_data_fraction_and_validate_on_train(tmp_path):
    table = _table(tmp_path, {"a": 10, "b": 4, "c": 1})
    train, valid, _ = split_table(table, Config().override(["data_fraction=0.5", "valid_frac=0"]).data)
    labels = table.frame["primary_label"].to_numpy()
    assert sorted(set(labels[train])) == ["a", "b", "c"] and len(train) == 5 + 2 + 1
    assert set(valid) <= set(train) and len(valid) >= 2          # validate on a slice of the training set
    with pytest.warns(FutureWarning, match="validate_on_train=true is data.valid_frac=0"):  # the old key, still read
        old = Config().override(["valid_frac=0.2", "validate_on_train=true"])
    train2, valid2, notes = split_table(table, old.data)
    assert old.data.valid_frac == 0 and len(train2) == len(table) and set(valid2) <= set(train2)


def test_bad_files_skip_with_warning_or_stop_with_the_name(tmp_path):
    labels_csv = B.make_clip_folder(tmp_path)
    (tmp_path / "clips" / "a_1.ogg").write_bytes(b"")
    table = read_labels(labels_csv)
    with pytest.warns(UserWarning, match="a_1.ogg"):
        kept, bad = check_files(table, "skip")
    assert len(kept) == len(table) - 1 and bad[0][0].endswith("a_1.ogg") and "empty" in bad[0][1]
    with pytest.raises(AudioError, match=r"a_1\.ogg.*empty"):
        check_files(table, "stop")


def test_dataset_crops_depend_only_on_seed_epoch_index(tmp_path):
    table = read_labels(tone_clips(tmp_path, per_label=2, seconds=3.0))
    config = Config().override(["crop_s=1", "crops_per_recording=2"])
    ds = RecordingDataset(table, np.arange(len(table)), config, train=True, seed=3)
    crops, valid, target, weight = ds[1]
    assert crops.shape == (2, 32000) and valid.tolist() == [32000, 32000] and target.sum() == 1.0 and weight == 1
    np.testing.assert_array_equal(ds[1][0], crops)                     # same (seed, epoch, index)
    ds.set_epoch(1)
    assert not np.array_equal(ds[1][0], crops)                         # another epoch, another offset
    val = RecordingDataset(table, np.arange(len(table)), config, train=False)
    from kit.audio import load_audio

    first_2s = load_audio(table.frame["path"][1], 32000)[:64000]
    np.testing.assert_array_equal(val[1][0].reshape(-1), first_2s)  # validation: deterministic, from the start


def test_dataset_features_on_cpu_and_workers_give_the_same_batches(tmp_path):
    import torch
    from torch.utils.data import DataLoader

    table = read_labels(tone_clips(tmp_path, per_label=2, seconds=2.0))
    config = Config().override(["crop_s=1", "crops_per_recording=2", "features_in_model=false", "n_mels=32",
                                "n_mfcc=32"])
    ds = RecordingDataset(table, np.arange(len(table)), config, train=True, seed=0)
    feats, valid, _, _ = ds[0]
    assert feats.shape == (2, 1, 32, 65) and feats.dtype == np.float32
    batches = [torch.cat([b[0] for b in DataLoader(ds, batch_size=2, num_workers=w)]) for w in (0, 2)]
    # the same crops; the features agree to float rounding (a worker runs torch on one thread, the main process on
    # all cores: the mel matmul's summation order may differ, as it did once in CI under load)
    torch.testing.assert_close(batches[0], batches[1], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(batches[0], torch.cat([b[0] for b in DataLoader(
        RecordingDataset(table, np.arange(len(table)), config, train=True, seed=1), batch_size=2)]))  # seeded crops


# ---- secondary labels: the missing comma, and the real forms that must keep working -------------------
def test_missing_comma_between_secondary_labels_is_refused(tmp_path):
    from kit.train.data import parse_secondary

    with pytest.raises(DataError, match=r"m\.csv: row 7: secondary_labels \"\['a' 'b'\]\" has two quoted labels"):
        parse_secondary("['a' 'b']", "m.csv", 7)             # Python would read ['ab']
    B.birdclef_folder(tmp_path, secondary="['b' 'a']")
    with pytest.raises(DataError, match=r"train\.csv: row 2: secondary_labels .*no comma"):
        read_labels(tmp_path)
    for text, expected in [("[]", []), ("['']", []), ("['1139490']", ["1139490"]), ("['a', 'b']", ["a", "b"]),
                           ('["a", "b"]', ["a", "b"]), ("", [])]:
        assert parse_secondary(text, "m.csv", 2) == expected


# ---- ratings: minimum rating and loss weights --------------------------------------------------------
def _rated(tmp_path, ratings, authors=None):
    lines = ["filename,label,rating,author"] + [
        f"clips/{i}.ogg,{'ab'[i % 2]},{r},{(authors or [f'p{i}' for i in range(len(ratings))])[i]}"
        for i, r in enumerate(ratings)]
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    return read_labels(tmp_path / "r.csv")


def test_min_rating_drops_low_ratings_and_keeps_unrated_as_configured(tmp_path):
    from kit.train import filter_by_rating, recording_weights

    table = _rated(tmp_path, ["5.0", "2.5", "0.0", "", "3.0", "1"])
    kept, notes = filter_by_rating(table, Config().override(["min_rating=3"]).data)
    assert kept.frame["row"].tolist() == [2, 4, 5, 6] and "kept 4 of 6" in notes[0] and "2 unrated" in notes[0]
    strict, _ = filter_by_rating(table, Config().override(["min_rating=3", "keep_unrated=false"]).data)
    assert strict.frame["row"].tolist() == [2, 6]
    assert filter_by_rating(table, Config().data)[0] is table              # min_rating=0: every recording
    weights = recording_weights(table, Config().override(["rating_weight=true"]).data)
    np.testing.assert_allclose(weights, [1.0, 0.5, 1.0, 1.0, 0.6, 0.2])    # rating / 5, unrated 1
    assert recording_weights(table, Config().data).tolist() == [1.0] * 6
    ds = RecordingDataset(table, [1, 5], Config().override(["rating_weight=true"]), train=False)
    assert ds.weights.tolist() == pytest.approx([0.5, 0.2])


def test_bad_or_missing_ratings_name_the_file_and_row(tmp_path):
    from kit.train import filter_by_rating, recording_weights

    with pytest.raises(DataError, match=r"r\.csv: row 3: rating 'great' is not a number in 0-5"):
        filter_by_rating(_rated(tmp_path, ["4", "great"]), Config().override(["min_rating=1"]).data)
    with pytest.raises(DataError, match=r"row 2: rating '7'"):
        recording_weights(_rated(tmp_path, ["7", "1"]), Config().override(["rating_weight=true"]).data)
    table = read_labels(B.make_clip_folder(tmp_path / "plain"))
    with pytest.raises(DataError, match=r"labels\.csv: min_rating=2\.0 needs a `rating` column"):
        filter_by_rating(table, Config().override(["min_rating=2"]).data)
    with pytest.raises(DataError, match="keeps no recording"):
        filter_by_rating(_rated(tmp_path, ["1", "1"]), Config().override(["min_rating=4"]).data)


@pytest.mark.parametrize("kind", ["bce", "focal", "ce"])
def test_loss_weights_average_rows_and_unit_weights_change_nothing(kind):
    import torch

    from kit.config import TrainConfig
    from kit.train.losses import make_loss

    loss = make_loss(TrainConfig(loss=kind))
    logits, target = torch.tensor([[2.0, -1.0], [0.5, 0.3]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    plain = loss(logits, target)
    assert torch.allclose(loss(logits, target, torch.ones(2)), plain)
    first = loss(logits[:1], target[:1])
    assert torch.allclose(loss(logits, target, torch.tensor([1.0, 0.0])), first) and not torch.allclose(first, plain)
    second = loss(logits[1:], target[1:])
    assert torch.allclose(loss(logits, target, torch.tensor([0.2, 0.6])), (0.2 * first + 0.6 * second) / 0.8)


# ---- grouped split --------------------------------------------------------------------------------------
def _authored(tmp_path, per_label=5, per_author=2, labels="abcd"):
    lines = ["filename,label,author"]
    for label in labels:
        for a in range(per_label):
            lines += [f"clips/{label}{a}_{k}.ogg,{label},{label}-author{a}" for k in range(per_author)]
    lines += ["clips/solo.ogg,solo,a-author0", "clips/anon1.ogg,a,", "clips/anon2.ogg,b,"]
    (tmp_path / "g.csv").write_text("\n".join(lines) + "\n")
    return read_labels(tmp_path / "g.csv")


def test_group_split_never_straddles_and_is_seeded_and_stratified(tmp_path):
    from kit.train import group_labels

    table = _authored(tmp_path)
    cfg = Config().override(["group_column=author", "valid_frac=0.2"]).data
    train, valid, notes = split_table(table, cfg)
    groups, labels = group_labels(table, "author"), table.frame["primary_label"].to_numpy()
    assert not set(groups[train]) & set(groups[valid]) and len(train) + len(valid) == len(table)
    assert set(labels[valid]) == set("abcd") and set(labels[train]) == set("abcd") | {"solo"}
    assert 6 <= len(valid) <= 14 and any("grouped by 'author'" in n for n in notes)    # ~20 % of 43
    assert "a-author0" in set(groups[train])            # the group of the single-recording label trains
    assert groups[labels == "a"][-1] != groups[labels == "b"][-1]   # empty authors: one group each
    again = split_table(table, cfg)[1]
    np.testing.assert_array_equal(valid, again)
    assert any(set(split_table(table, Config().override(["group_column=author", f"split_seed={s}"]).data)[1])
               != set(valid) for s in (1, 2, 3))


def test_stratified_group_folds_put_each_group_in_one_fold(tmp_path):
    from kit.train import group_labels, stratified_group_folds

    table = _authored(tmp_path)
    groups = group_labels(table, "author")
    folds = stratified_group_folds(table.frame["primary_label"].to_numpy(), groups, 4, seed=0)
    assert set(folds) == {0, 1, 2, 3}
    for group in set(groups):
        assert len(set(folds[groups == group])) == 1
    assert stratified_group_folds(np.array(["a", "a"]), np.array(["g", "g"]), 5, 0).tolist() == [0, 0]


def test_missing_group_column_is_refused_naming_the_columns(tmp_path):
    table = _authored(tmp_path)
    with pytest.raises(DataError, match=r"g\.csv: group_column='url' is not a metadata column; it has \['author'\]"):
        split_table(table, Config().override(["group_column=url"]).data)


def test_default_trains_on_every_recording_and_validates_on_a_slice(tmp_path):
    """valid_frac=0 (the default): every recording trains; the curves come from a seeded stratified slice."""
    table = _table(tmp_path, {"a": 6, "b": 6, "c": 6})
    train, valid, notes = split_table(table, Config().data)
    assert sorted(train) == list(range(len(table))) and set(valid) <= set(train)
    assert len(valid) == round(0.33 * len(table)) and any("valid_frac=0: every recording trains" in n for n in notes)
    labels = table.frame["primary_label"].to_numpy()
    assert sorted(set(labels[valid])) == ["a", "b", "c"]
    np.testing.assert_array_equal(valid, split_table(table, Config().data)[1])
