"""submission.csv: row ids, validation errors, label alignment with fallback, atomic write, budget guard."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kit.formats import SubmissionError, read_sample_labels, row_ids
from kit.infer import BudgetGuard, align_labels, empty_submission, validate_submission, write_submission


def _frame(ids, values):
    frame = pd.DataFrame(np.asarray(values, dtype=np.float32), columns=["x", "y"])
    frame.insert(0, "row_id", ids)
    return frame


def test_row_ids_use_whole_second_window_ends():
    assert row_ids("S_1", [5.0, 10.0, 60.0]) == ["S_1_5", "S_1_10", "S_1_60"]
    with pytest.raises(SubmissionError, match="whole second"):
        row_ids("s", [2.5])


@pytest.mark.parametrize("ids,values,match", [
    (["a_5", "a_5"], [[0.1, 0.2], [0.3, 0.4]], "duplicate row_id"),
    (["a_5", "a"], [[0.1, 0.2], [0.3, 0.4]], "is not `<soundscape>_<end seconds>`"),
    (["a_5", "a_10"], [[0.1, np.nan], [0.3, 0.4]], "NaN"),
    (["a_5", "a_10"], [[0.1, 1.5], [0.3, 0.4]], "outside"),
])
def test_validation_rejects_bad_rows(ids, values, match):
    with pytest.raises(SubmissionError, match=match):
        validate_submission(_frame(ids, values))


def test_validation_checks_column_order():
    frame = _frame(["a_5"], [[0.1, 0.2]])
    validate_submission(frame, ["x", "y"])
    with pytest.raises(SubmissionError, match="label columns differ"):
        validate_submission(frame, ["y", "x"])


def test_align_labels_orders_and_fills_unknown_labels():
    frame = _frame(["a_5", "a_10"], [[0.1, 0.2], [0.3, 0.4]])
    with pytest.warns(UserWarning, match="1 label.*fallback_prob=0.05: z"):
        out = align_labels(frame, ["y", "z", "x"], 0.05)
    assert list(out.columns) == ["row_id", "y", "z", "x"]
    assert np.allclose(out[["y", "z", "x"]].to_numpy(), [[0.2, 0.05, 0.1], [0.4, 0.05, 0.3]])


def test_write_is_validated_and_atomic(tmp_path):
    good = _frame(["a_5"], [[0.1, 0.2]])
    path = write_submission(good, tmp_path / "sub.csv", ["x", "y"])
    assert pd.read_csv(path).row_id.tolist() == ["a_5"]
    with pytest.raises(SubmissionError):
        write_submission(_frame(["a_5"], [[0.1, 2.0]]), path)
    assert pd.read_csv(path).x.tolist() == [pytest.approx(0.1)]  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["sub.csv"]    # no temp file left behind


def test_sample_labels_and_empty_submission(tmp_path):
    (tmp_path / "sample_submission.csv").write_text("row_id,b,a\nq_5,0,0\nq_10,0,0\n")
    labels, sample = read_sample_labels(tmp_path / "sample_submission.csv")
    assert labels == ["b", "a"]
    out = empty_submission(sample, labels, 0.5)
    validate_submission(out, labels)
    assert out.row_id.tolist() == ["q_5", "q_10"] and (out[["b", "a"]].to_numpy() == 0.5).all()
    (tmp_path / "bad.csv").write_text("id,b\n")
    with pytest.raises(SubmissionError, match="row_id"):
        read_sample_labels(tmp_path / "bad.csv")
    with pytest.raises(FileNotFoundError, match="sample_submission"):
        read_sample_labels(tmp_path / "missing.csv")


def test_budget_guard_with_an_injected_clock():
    now = [100.0]
    guard = BudgetGuard(60.0, clock=lambda: now[0], reserve_s=5.0)
    now[0] += 10.0                       # 10 s spent on 10 units: 1 s per unit, 45 s left
    assert guard.fits(10, 40) and not guard.fits(10, 45)
    now[0] += 50.0
    assert guard.expired() and guard.remaining_s() == pytest.approx(-5.0)


# ---- the three kinds of sample_submission.csv, taxonomy.csv, scored_birds.json --------------------------
def test_sample_submission_kinds_are_told_apart(tmp_path):
    from kit.formats import BIRDCLEF2021, BIRDCLEF2022, WIDE, read_sample_submission

    cases = {"2021.csv": ("row_id,birds\n3575_COL_5,nocall\n3575_COL_10,wewpew batpig1\n", BIRDCLEF2021),
             "2022.csv": ("row_id,target\nsoundscape_1000170626_akiapo_5,False\n", BIRDCLEF2022),
             "2022_empty.csv": ("row_id,target\n", BIRDCLEF2022),
             "label_called_target.csv": ("row_id,target\nsoundscape_1_5,0.25\n", WIDE),   # a label's probabilities
             "2025.csv": ("row_id,1139490,ashgre1\nsoundscape_8358733_5,0,0\n", WIDE)}
    for name, (text, kind) in cases.items():
        (tmp_path / name).write_text(text)
        sample = read_sample_submission(tmp_path / name)
        assert sample.kind == kind, name
    assert read_sample_submission(tmp_path / "2025.csv").labels == ("1139490", "ashgre1")
    for name, column in (("2021.csv", "birds"), ("2022.csv", "target")):
        with pytest.raises(SubmissionError, match=rf"{name} is BirdCLEF 20\d\d's long format.*`{column}`"):
            read_sample_labels(tmp_path / name)


def test_taxonomy_and_scored_birds_are_read_in_order_and_checked(tmp_path):
    from kit.formats import competition_labels, read_scored_birds, read_taxonomy_labels

    (tmp_path / "taxonomy.csv").write_text("primary_label,inat_taxon_id,scientific_name,common_name,class_name\n"
                                           "ashgre1,1,A w,Ash-breasted Parakeet,Aves\n"
                                           "22961,2,L p,Pointedbelly Frog,Amphibia\n")
    assert read_taxonomy_labels(tmp_path / "taxonomy.csv") == ["ashgre1", "22961"]
    found = competition_labels(tmp_path)
    assert found.labels == ["ashgre1", "22961"] and "taxonomy.csv" in found.source
    (tmp_path / "sample_submission.csv").write_text("row_id,22961,ashgre1,zzz\ns_5,0,0,0\n")
    found = competition_labels(tmp_path)   # the submission's columns win; the difference is noted
    assert found.labels == ["22961", "ashgre1", "zzz"] and "zzz" in found.notes[0]
    (tmp_path / "dup.csv").write_text("primary_label\na\nb\na\n")
    with pytest.raises(SubmissionError, match=r"dup\.csv column primary_label: label 'a' is listed twice"):
        read_taxonomy_labels(tmp_path / "dup.csv")
    for text in ('{"akiapo": 1}', "[]", "not json", '["akiapo", 3]'):
        (tmp_path / "scored_birds.json").write_text(text)
        with pytest.raises(SubmissionError, match="scored_birds.json"):
            read_scored_birds(tmp_path / "scored_birds.json")


@pytest.mark.parametrize("rows,match", [
    ({"row_id": ["s_a_5", "s_a_5"], "target": [True, False]}, "duplicate row_id"),
    ({"row_id": ["s_5"], "target": [True]}, "is not `<soundscape>_<bird>_<end seconds>`"),
    ({"row_id": ["s_a_5"], "target": [0.7]}, "True/False"),
    ({"row_id": ["s_a_5"], "target": [True], "x": [1]}, "row_id,target"),
])
def test_long_submission_validation(rows, match):
    from kit.infer import validate_long_submission

    with pytest.raises(SubmissionError, match=match):
        validate_long_submission(pd.DataFrame(rows))
    with pytest.raises(SubmissionError, match="differ from test.csv"):
        validate_long_submission(pd.DataFrame({"row_id": ["s_a_5"], "target": [True]}), ["s_a_5", "s_a_10"])
