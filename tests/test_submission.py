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
