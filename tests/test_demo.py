"""demo --quick end to end: synthetic clips -> competition -> train -> predict_competition -> score -> report."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kit.cli import main
from kit.compete.report import results_table


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    from kit.compete.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    return out, run_demo(out, quick=True, seed=0)


def test_quick_demo_scores_far_above_chance(quick_demo):
    out, result = quick_demo
    rows = {row["model"]: row for row in result["rows"]}
    chance, cnn = rows["chance"], rows["cnn"]
    assert chance["roc_auc"] == pytest.approx(0.5)
    assert cnn["roc_auc"] > 0.75, cnn
    assert cnn["cmap"] > chance["cmap"] + 0.1, (cnn, chance)
    assert cnn["accuracy"] > chance["accuracy"] + 0.25, (cnn, chance)
    assert cnn["windows_per_s"] > 0 and cnn["train_min"] > 0


def test_quick_demo_writes_a_valid_submission_and_report(quick_demo):
    out, result = quick_demo
    comp = result["competition"]
    sample = pd.read_csv(comp / "sample_submission.csv")
    submission = pd.read_csv(out / "runs" / "cnn" / "submission.csv")
    assert list(submission.columns) == list(sample.columns)
    assert sorted(submission["row_id"]) == sorted(sample["row_id"])
    probs = submission.drop(columns=["row_id"]).to_numpy()
    assert np.isfinite(probs).all() and probs.min() >= 0 and probs.max() <= 1 and probs.std() > 0
    report = (out / "report.md").read_text()
    assert "| cnn |" in report and "| chance |" in report and "baseline" in report
    for png in ("runs/cnn/per_class_ap.png", "runs/cnn/curves.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG", png
        assert png in report
    results = pd.read_csv(out / "results.csv")
    assert set(results["model"]) >= {"chance", "cnn"} and len(results) == 3


def test_results_table_formats_rows():
    table = results_table([{"model": "m", "cmap": 0.91234, "roc_auc": float("nan"), "params": 1234567}])
    assert "| m | 0.912 | n/a | - | - | - | 1.23 M |" in table


def test_demo_cli_refuses_config_file(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--config", "x.json"]) == 2
    assert "--set" in capsys.readouterr().err
