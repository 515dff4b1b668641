"""Every BirdCLEF year's files as they are (2021-2026, tests/birdclef_years.py): each layout is read, trains one
epoch of a tiny model and predicts, or is refused with a message naming the format and its column. 2026's labelled
train soundscapes: tests/test_y2026.py."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import badfiles as B  # noqa: E402
from birdclef_years import TAXONOMY_2025, TAXONOMY_2026, YEARS, make_year  # noqa: E402
from train_data import TINY  # noqa: E402

from kit.checkpoint import load_checkpoint  # noqa: E402
from kit.config import Config, InferConfig  # noqa: E402
from kit.formats import SubmissionError  # noqa: E402
from kit.infer import predict_competition, predict_soundscapes  # noqa: E402
from kit.train import read_labels, train  # noqa: E402

ONE_EPOCH = TINY + ["epochs=1", "batch_size=4", "device=cpu", "amp=false"]
WINDOWS = (5, 10, 15)   # the 15 s test soundscapes


def _train(folder, out, sets=()) -> dict:
    return train(Config().override(ONE_EPOCH + list(sets)), folder, out)


@pytest.mark.parametrize("year,labels,paths", [
    (2021, ["acafly", "amegfi"], "train_short_audio/acafly/XC109605.ogg"),
    (2022, ["afrsil1", "akiapo", "aniani", "houfin"], "train_audio/afrsil1/XC125458.ogg"),
    (2023, ["abethr1", "abhori1", "abythr1", "afbfly1"], "train_audio/abethr1/XC128013.ogg"),
    (2024, ["asbfly", "ashdro1", "ashpri1"], "train_audio/asbfly/XC134896.ogg"),
    (2025, [p for p, _, _ in TAXONOMY_2025], "train_audio/1139490/CSA36385.ogg"),
    (2026, [p for p, _, _ in TAXONOMY_2026], "train_audio/1161364/iNat1216197.ogg"),
])
def test_each_year_reads_as_it_is(tmp_path, year, labels, paths):
    folder = make_year(tmp_path / str(year), year)
    if year == 2021:
        with pytest.warns(UserWarning, match="BirdCLEF 2021.*row_id,birds.*refuses"):
            table = read_labels(folder)
    else:
        table = read_labels(folder)
    assert table.labels == labels
    assert table.frame["path"][0] == str((folder / paths).resolve())
    assert all(Path(p).is_file() for p in table.frame["path"])
    assert "rating" in table.frame.columns and "secondary_labels" in table.frame.columns
    secondary = dict(zip(table.frame["path"].map(lambda p: Path(p).stem), table.frame["secondary_labels"]))
    expected = {2021: ("XC187480", ["acafly"]),          # "['acafly', 'amegfi']" on an amegfi row: primary dropped
                2022: ("XC126500", ["houfin"]),          # apapan is not a label: dropped with a note
                2023: ("XC363502", ["abhori1"]),
                2024: ("XC175797", ["ashdro1"]),
                2025: ("XC308716", ["41663"]),           # "['ashgre1', '41663']": numeric label, primary dropped
                2026: ("XC308716", ["rufhor2", "1161364"])}[year]
    assert secondary[expected[0]] == expected[1]
    if year == 2025:
        assert secondary["CSA36385"] == [] and table.frame["primary_label"][0] == "1139490"   # [''], a string


def test_eBird_taxonomy_is_not_a_label_list(tmp_path):
    """2022-2024 ship eBird_Taxonomy_v2021.csv (the whole eBird taxonomy): never read as the labels."""
    folder = make_year(tmp_path, 2024, drop=["sample_submission.csv"])
    assert read_labels(folder).labels == ["asbfly", "ashdro1", "ashpri1"]


@pytest.mark.parametrize("year", [2023, 2024, 2025, 2026])
def test_wide_years_train_and_predict_in_the_submission_order(tmp_path, year):
    folder = make_year(tmp_path / "data", year)
    result = _train(folder, tmp_path / "run")
    sample = pd.read_csv(folder / "sample_submission.csv")
    assert load_checkpoint(result["best"]).labels == list(sample.columns[1:])
    frame = predict_competition([result["best"]], folder, tmp_path / "submission.csv", device="cpu")
    written = pd.read_csv(tmp_path / "submission.csv", dtype={"row_id": str})
    assert list(written.columns) == list(sample.columns) and list(frame.columns) == list(sample.columns)
    stem = next((folder / "test_soundscapes").iterdir()).stem
    ends = range(5, int(YEARS[year].get("soundscape_s", WINDOWS[-1])) + 1, 5)
    assert written["row_id"].tolist() == [f"{stem}_{e}" for e in ends]
    header = (folder / "sample_submission.csv").read_bytes().split(b"\n")[0]
    assert (tmp_path / "submission.csv").read_bytes().split(b"\n")[0] == header   # byte for byte
    values = written.iloc[:, 1:].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()


def test_2025_taxonomy_alone_fixes_the_labels_and_their_order(tmp_path):
    """Trained without sample_submission.csv: taxonomy.csv's order (not sorted) becomes the checkpoint's and
    reaches the submission header; train.log names the labels with no training recording."""
    folder = make_year(tmp_path / "data", 2025, drop=["sample_submission.csv"])
    result = _train(folder, tmp_path / "run")
    taxonomy = [p for p, _, _ in TAXONOMY_2025]
    assert load_checkpoint(result["best"]).labels == taxonomy != sorted(taxonomy)
    log = (tmp_path / "run" / "train.log").read_text()
    assert "2 of 6 label(s) have no training recording" in log and "['1192948', '22961']" in log
    make_year(tmp_path / "submit", 2025)   # the competition's sample_submission.csv, same order
    with_sample = tmp_path / "submit"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no label falls back: the model knows all 6
        predict_competition([result["best"]], with_sample, tmp_path / "submission.csv", device="cpu")
    header = (tmp_path / "submission.csv").read_text().splitlines()[0]
    assert header == "row_id," + ",".join(taxonomy)


@pytest.fixture(scope="module")
def year_2022(tmp_path_factory):
    """A BirdCLEF 2022 folder and a model trained on it (1 epoch)."""
    root = tmp_path_factory.mktemp("y2022")
    folder = make_year(root / "data", 2022)
    return folder, _train(folder, root / "run")


def test_2022_trains_on_metadata_labels_plus_the_scored_birds(year_2022):
    folder, result = year_2022
    assert load_checkpoint(result["best"]).labels == ["afrsil1", "akiapo", "aniani", "houfin"]
    log = (Path(result["best"]).parent / "train.log").read_text()
    assert "BirdCLEF 2022's long format" in log and "`target`" in log
    assert "have no training recording" in log and "['aniani']" in log


def test_2022_long_submission_holds_test_csv_rows_thresholded(year_2022, tmp_path):
    folder, result = year_2022
    out = tmp_path / "submission.csv"
    frame = predict_competition([result["best"]], folder, out, device="cpu",
                                infer=InferConfig(decision_threshold=0.5))
    test = pd.read_csv(folder / "test.csv")
    written = pd.read_csv(out)
    assert list(written.columns) == ["row_id", "target"] and written["row_id"].tolist() == test["row_id"].tolist()
    assert written["target"].dtype == bool
    assert set(out.read_text().splitlines()[1:]) <= {f"{r},{v}" for r in test["row_id"] for v in ("True", "False")}
    wide = predict_soundscapes([result["best"]], folder / "test_soundscapes", device="cpu").set_index("row_id")
    expected = [wide.loc[f"{f}_{e}", b] >= 0.5 for f, b, e in zip(test["file_id"], test["bird"], test["end_time"])]
    assert frame["target"].tolist() == expected
    for threshold, value in ((0.0, True), (1.0, False)):
        again = predict_competition([result["best"]], folder, out, device="cpu",
                                    infer=InferConfig(decision_threshold=threshold))
        assert again["target"].tolist() == [value] * len(test)


def test_2022_without_test_csv_writes_every_window_and_scored_bird(year_2022, tmp_path):
    folder, result = year_2022
    for name in ("test_soundscapes", "scored_birds.json", "sample_submission.csv", "train_metadata.csv"):
        target = tmp_path / "c" / name
        target.parent.mkdir(exist_ok=True)
        target.symlink_to(folder / name)
    frame = predict_competition([result["best"]], tmp_path / "c", tmp_path / "sub.csv", device="cpu")
    birds = json.loads((folder / "scored_birds.json").read_text())
    assert sorted(frame["row_id"]) == sorted(f"soundscape_453028782_{b}_{e}" for b in birds for e in WINDOWS)
    (tmp_path / "c" / "scored_birds.json").unlink()
    with pytest.raises(SubmissionError, match="scored_birds.json.*test.csv"):
        predict_competition([result["best"]], tmp_path / "c", tmp_path / "sub2.csv", device="cpu")
    assert not (tmp_path / "sub2.csv").exists()


def test_2022_empty_test_folder_writes_the_sample_rows(year_2022, tmp_path):
    folder, result = year_2022
    for name in ("scored_birds.json", "sample_submission.csv"):
        (tmp_path / name).symlink_to(folder / name)
    with pytest.warns(UserWarning, match="empty or missing"):
        frame = predict_competition([result["best"]], tmp_path, tmp_path / "sub.csv", device="cpu")
    sample = pd.read_csv(folder / "sample_submission.csv")
    assert frame["row_id"].tolist() == sample["row_id"].tolist() and not frame["target"].any()


def test_2021_trains_but_predict_refuses_naming_the_format(tmp_path, capsys):
    folder = make_year(tmp_path / "data", 2021)
    with pytest.warns(UserWarning, match="row_id,birds"):
        result = _train(folder, tmp_path / "run")
    assert load_checkpoint(result["best"]).labels == ["acafly", "amegfi"]
    assert "refuses" in (tmp_path / "run" / "train.log").read_text()
    out = tmp_path / "submission.csv"
    err = B.assert_cli_error(["predict", "--checkpoint", result["best"], "--data", folder, "--out", out,
                              "--device", "cpu"], capsys, "sample_submission.csv", "BirdCLEF 2021", "`birds`",
                             "no file was written")
    assert "Traceback" not in err and not out.exists()


def test_predict_cli_writes_2022_long_rows(year_2022, tmp_path, capsys):
    folder, result = year_2022
    out = tmp_path / "submission.csv"
    rc, stdout, err = B.run_cli(["predict", "--checkpoint", result["best"], "--data", folder, "--out", out,
                                 "--device", "cpu", "--set", "decision_threshold=0"], capsys)
    assert rc == 0, err
    assert "9 rows x row_id,target" in stdout and set(pd.read_csv(out)["target"]) == {True}


def test_rating_and_group_keys_train_and_are_saved_in_the_checkpoint(tmp_path):
    """2024 metadata: min_rating=3 keeps 5 rated + 1 unrated of 9, every recording's loss weighs rating / 5,
    and the split is grouped by author (no author on both sides); the keys live in the checkpoint."""
    from kit.train import group_labels, split_table
    from kit.train.labels import filter_by_rating

    folder = make_year(tmp_path / "data", 2024)
    sets = ["min_rating=3", "rating_weight=true", "group_column=author", "valid_frac=0.4"]
    result = _train(folder, tmp_path / "run", sets)
    config = load_checkpoint(result["best"]).config
    assert (config.data.min_rating, config.data.rating_weight, config.data.group_column) == (3.0, True, "author")
    log = (tmp_path / "run" / "train.log").read_text()
    assert "min_rating=3.0: kept 6 of 9 recordings (1 unrated, kept by keep_unrated)" in log
    assert "split grouped by 'author'" in log
    table, _ = filter_by_rating(read_labels(folder), config.data)
    train_index, valid_index, _ = split_table(table, config.data)
    groups = group_labels(table, "author")
    assert len(valid_index) and not set(groups[train_index]) & set(groups[valid_index])
    assert f"train {len(train_index)}, valid {len(valid_index)}" in log
