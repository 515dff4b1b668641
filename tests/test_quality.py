"""`python -m kit bench quality` (a benchmark script, so here only its logic on a tiny proxy): variants parsed and
refused early, every (variant, seed) row scored, the pseudo-label round and the distillation students, resume
from results.csv, the summary's means over seeds."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import train_data as D  # noqa: E402
from kit.bench.quality import bench_quality, markdown, parse_round_variant, parse_variant, summarize  # noqa: E402
from kit.config import ConfigError  # noqa: E402
from kit.softlabels import read_soft_labels  # noqa: E402

LABELS = ("chirping_birds", "church_bells", "dog")


def test_variants_are_parsed_and_bad_ones_refused_before_any_training():
    assert parse_variant("no noise=noise_p=0,shift_p=0") == ("no noise", ["noise_p=0", "shift_p=0"])
    assert parse_variant("defaults") == ("defaults", [])
    assert parse_variant("small=cnn_channels=8,16,32,lr=3e-3") == ("small", ["cnn_channels=8,16,32", "lr=3e-3"])
    with pytest.raises(ValueError, match="NAME=key=value"):
        parse_variant("x=noise_p")
    with pytest.raises(ConfigError, match="mixup_p"):
        parse_variant("x=mixup_p=1.5")
    assert parse_round_variant("sure=min_confidence=0.3,pseudo_init=scratch,epochs=20") == (
        "sure", ["min_confidence=0.3", "pseudo_init=scratch", "epochs=20"])
    with pytest.raises(ConfigError, match="pseudo_init"):
        parse_round_variant("x=pseudo_init=sideways")
    with pytest.raises(ConfigError, match="mixup_p"):
        parse_round_variant("x=power=2,mixup_p=1.5")


def test_summary_is_the_mean_over_seeds_per_variant_and_proxy():
    rows = [("short", "a", 0, 0.2, 0.8), ("short", "a", 1, 0.4, 0.9), ("esc50", "a", 0, 0.5, 0.7),
            ("short", "b", 0, 0.1, 0.6)]
    results = pd.DataFrame([{"proxy": p, "variant": v, "seed": s, "accuracy": a, "roc_auc": r, "cmap": 0.5,
                             "train_s": 10.0} for p, v, s, a, r in rows])
    summary = summarize(results).set_index("variant")
    assert summary.loc["a", "short top-1"] == pytest.approx(0.3)
    assert summary.loc["a", "short ROC-AUC"] == pytest.approx(0.85)
    assert summary.loc["a", "esc50 top-1"] == 0.5 and summary.loc["a", "seeds"] == 1  # esc50 has one seed
    assert np.isnan(summary.loc["b", "esc50 top-1"]) and "| a | 0.300 |" in markdown(summary.reset_index())


@pytest.fixture(scope="module")
def small_shared(shared_data, tmp_path_factory) -> Path:
    """A shared-data folder whose esc50/ holds three labels' clips (symlinked audio)."""
    root = tmp_path_factory.mktemp("shared")
    (root / "esc50").mkdir()
    (root / "esc50" / "audio").symlink_to(shared_data / "esc50" / "audio")
    meta = pd.read_csv(shared_data / "esc50" / "metadata.csv")
    meta[meta["label"].isin(LABELS)].to_csv(root / "esc50" / "metadata.csv", index=False)
    return root


def test_bench_runs_variants_a_pseudo_round_and_students_then_resumes(small_shared, tmp_path, monkeypatch):
    out = tmp_path / "q"
    kwargs = dict(proxies=["short"], seeds=[0], variants=[("defaults", [])],
                  extra=D.TINY + ["epochs=1", "noise_p=0.5"], shared=small_shared, pseudo_rounds=1,
                  student=["cnn_channels=4"], round_variants=[("sure", ["power=2", "top_k=1"])])
    summary = bench_quality(out, **kwargs)
    results = pd.read_csv(out / "results.csv")
    wanted = ["logreg baseline", "defaults", "defaults + 1 pseudo round", "ensemble of rounds 0-1", "round 1: sure",
              "student (labels only)", "student (distilled)"]
    assert results["variant"].tolist() == wanted and summary["variant"].tolist() == wanted
    scores = results[["accuracy", "roc_auc", "cmap"]].to_numpy()
    assert np.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all()
    runs = out / "runs" / "short"
    provenance, frame = read_soft_labels(runs / "distilled_seed0" / "teacher.csv")
    assert [Path(c).parent.name for c in provenance["checkpoints"]] == ["defaults_seed0", "rounds1_seed0"]
    assert {f.split("/")[0] for f in frame["filename"]} == {"train_soundscapes", "train_audio"}
    provenance, frame = read_soft_labels(runs / "round_sure_seed0" / "pseudo.csv")
    assert provenance["power"] == 2 and ((frame[list(LABELS)] > 0).sum(axis=1) <= 1).all()
    from kit.checkpoint import load_checkpoint

    round_config = load_checkpoint(runs / "round_sure_seed0" / "best.ckpt").config
    assert round_config.model.pretrained_path == str(runs / "defaults_seed0" / "best.ckpt")
    assert round_config.pseudo.pseudo_csv == str(runs / "round_sure_seed0" / "pseudo.csv")
    subs = [pd.read_csv(runs / name).set_index("row_id") for name in
            ("defaults_seed0/submission.csv", "rounds1_seed0/submission.csv", "rounds1_seed0/ensemble_submission.csv")]
    np.testing.assert_allclose(subs[2].to_numpy(), (subs[0] + subs[1]).to_numpy() / 2, atol=1e-5)  # the mean
    changes = results.set_index("variant")["changes"]
    assert changes["student (distilled)"].startswith("cnn_channels=4; teacher: 2 model(s)")
    assert (out / "summary.md").read_text().count("\n") == len(wanted) + 2 and (out / "summary.png").is_file()

    import kit.train

    monkeypatch.setattr(kit.train, "train", lambda *a, **k: pytest.fail("a finished run was trained again"))
    again = bench_quality(out, **kwargs)
    pd.testing.assert_frame_equal(again, summary)
