"""kit.compete.score: hand-computed small cases, agreement with scikit-learn, validation errors, CLI."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from kit.cli import main
from kit.compete.score import per_class_ap, score_files


def _write(tmp_path, name, ids, labels, values) -> str:
    frame = pd.DataFrame(values, columns=labels)
    frame.insert(0, "row_id", ids)
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


@pytest.fixture
def small(tmp_path):
    ids = ["s_5", "s_10", "s_15"]
    sol = _write(tmp_path, "solution.csv", ids, ["a", "b"], [[1, 0], [0, 1], [0, 0]])
    sub = _write(tmp_path, "submission.csv", ids, ["a", "b"], [[0.9, 0.8], [0.4, 0.3], [0.2, 0.1]])
    return sub, sol, tmp_path


def test_hand_computed_small_case(small):
    sub, sol, _ = small
    scores = score_files(sub, sol)
    # class a: perfect ranking -> AP 1 (padded), AUC 1. class b: after 5 padded ones, ranking
    # 0.8(neg) 0.3(pos) 0.1(neg): AP = (5 + 6/7) / 6 = 41/42; AUC = 0.5 (pos beats one of two negatives).
    assert scores["cmap"] == pytest.approx((1 + 41 / 42) / 2)
    assert scores["roc_auc"] == pytest.approx(0.75)
    # row s_5: argmax a (true); row s_10: argmax a (0.4 > 0.3), truth b -> wrong; s_15 has no positives.
    assert scores["accuracy"] == pytest.approx(0.5)


def test_row_order_and_column_order_do_not_matter(small, tmp_path):
    sub, sol, _ = small
    frame = pd.read_csv(sub).iloc[[2, 0, 1]][["b", "row_id", "a"]]
    shuffled = tmp_path / "shuffled.csv"
    frame.to_csv(shuffled, index=False)
    assert score_files(shuffled, sol) == pytest.approx(score_files(sub, sol))


def test_matches_scikit_learn_and_skips_classes_without_positives(tmp_path):
    rng = np.random.default_rng(3)
    truth = (rng.random((40, 6)) < 0.3).astype(int)
    truth[:, 5] = 0                                    # a class without positives
    score = rng.random((40, 6))
    ids = [f"x_{5 * (i + 1)}" for i in range(40)]
    labels = [f"c{j}" for j in range(6)]
    sol = _write(tmp_path, "sol.csv", ids, labels, truth)
    sub = _write(tmp_path, "sub.csv", ids, labels, score)
    got = score_files(sub, sol)
    padded_t, padded_s = np.vstack([truth, np.ones((5, 6))]), np.vstack([score, np.ones((5, 6))])
    assert got["cmap"] == pytest.approx(average_precision_score(padded_t, padded_s, average="macro"))
    assert got["roc_auc"] == pytest.approx(roc_auc_score(truth[:, :5], score[:, :5], average="macro"))
    rows = truth.sum(1) > 0
    expected_acc = truth[rows][np.arange(rows.sum()), score[rows].argmax(1)].mean()
    assert got["accuracy"] == pytest.approx(expected_acc)
    ap = per_class_ap(sub, sol)
    assert ap["ap"].iloc[0] == pytest.approx(average_precision_score(truth[:, 0], score[:, 0]))
    assert np.isnan(ap["ap"].iloc[5]) and ap["positives"].iloc[5] == 0


def _broken(small, edit):
    sub, sol, tmp_path = small
    frame = pd.read_csv(sub, dtype={"row_id": str})
    frame = edit(frame)
    path = tmp_path / "broken.csv"
    frame.to_csv(path, index=False)
    return path, sol


@pytest.mark.parametrize("edit, message", [
    (lambda f: f.iloc[:2], "missing 1 row_id"),
    (lambda f: pd.concat([f, f.iloc[[0]].assign(row_id="zz_5")]), "not in the solution"),
    (lambda f: f.drop(columns=["b"]), "missing 1 label column"),
    (lambda f: f.assign(c=0.1), "not in the solution"),
    (lambda f: f.assign(a=[0.1, np.nan, 0.3]), "NaN"),
    (lambda f: pd.concat([f, f.iloc[[0]]]), "duplicate row_id"),
    (lambda f: f.assign(a=["0.1", "high", "0.3"]), "non-numeric"),
    (lambda f: f.drop(columns=["row_id"]), r"missing column\(s\) \['row_id'\]"),
])
def test_validation_errors_are_clear(small, edit, message):
    path, sol = _broken(small, edit)
    with pytest.raises(ValueError, match=message):
        score_files(path, sol)


def test_cli_prints_scores_and_clean_errors(small, capsys):
    sub, sol, tmp_path = small
    assert main(["score", "--submission", sub, "--solution", sol]) == 0
    assert f"padded cmAP {(1 + 41 / 42) / 2:.4f}" in capsys.readouterr().out
    assert main(["score", "--submission", str(tmp_path / "nope.csv"), "--solution", sol]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "nope.csv" in err and "Traceback" not in err
