"""Notebooks run end to end (nbclient, the venv's python3 kernel) on a small BirdCLEF-layout folder:
train.ipynb trains and writes best.ckpt; submit.ipynb writes the same submission.csv as `python -m kit predict`,
and each window's probabilities equal the validation path's (split_crops -> crop_logits) to 1e-5."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import infer_helpers as H  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_only_the_first_code_cell_reads_the_environment():
    """Settings (and the KIT_* variables a script may set) live in the first code cell; the rest use them."""
    import nbformat

    for name in ("train.ipynb", "submit.ipynb"):
        code = [c.source for c in nbformat.read(ROOT / "notebooks" / name, as_version=4).cells
                if c.cell_type == "code"]
        assert "os.environ" in code[0] and "KIT_DATA" in code[0], name
        assert not [c for c in code[1:] if "environ" in c or "KIT_" in c.replace("KIT_PATH", "")], name


def run_notebook(name: str, cwd: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    code = sum(len(c.source.splitlines()) for c in notebook.cells if c.cell_type == "code")
    assert code <= 40, f"{name} has {code} lines of code"
    NotebookClient(notebook, kernel_name="python3", timeout=240, resources={"metadata": {"path": str(cwd)}}).execute()


@pytest.fixture(scope="module")
def competition(esc50_clips, tmp_path_factory):
    return H.make_competition_dir(esc50_clips, tmp_path_factory.mktemp("comp"), sample_extra_label="zz_unknown")


def test_submit_notebook_matches_cli_and_validation_path(competition, tmp_path, monkeypatch):
    comp, labels = competition
    ckpt = H.tiny_checkpoint(tmp_path / "best.ckpt", labels=labels)
    monkeypatch.setenv("KIT_PATH", str(ROOT))
    monkeypatch.setenv("KIT_DATA", str(comp))
    monkeypatch.setenv("KIT_CKPT", str(ckpt))
    monkeypatch.setenv("KIT_OUT", str(tmp_path / "nb.csv"))
    run_notebook("submit.ipynb", tmp_path)
    from kit.cli import main

    with pytest.warns(UserWarning, match="zz_unknown"):
        args = ["predict", "--checkpoint", str(ckpt), "--data", str(comp), "--out", str(tmp_path / "cli.csv")]
        assert main(args) == 0
    nb, cli = pd.read_csv(tmp_path / "nb.csv"), pd.read_csv(tmp_path / "cli.csv")
    pd.testing.assert_frame_equal(nb, cli)
    assert list(nb.columns) == ["row_id"] + labels + ["zz_unknown"] and (nb["zz_unknown"] == 0.0).all()
    for audio in sorted((comp / "test_soundscapes").iterdir()):
        rows = nb[nb.row_id.str.startswith(audio.stem + "_")]
        expected = H.validation_probs(ckpt, audio)
        assert len(rows) == len(expected) >= 3
        assert np.abs(rows[labels].to_numpy() - expected).max() <= 1e-5


def test_train_notebook_writes_a_checkpoint_that_predicts(competition, tmp_path, monkeypatch):
    comp, labels = competition
    monkeypatch.setenv("KIT_PATH", str(ROOT))
    monkeypatch.setenv("KIT_DATA", str(comp))
    monkeypatch.setenv("KIT_OUT", str(tmp_path / "run"))
    monkeypatch.setenv("KIT_SET", " ".join(H.TINY_SETS + ["epochs=1", "batch_size=4"]))
    run_notebook("train.ipynb", tmp_path)
    from kit.checkpoint import load_checkpoint
    from kit.infer.predict import predict_soundscapes

    ckpt = load_checkpoint(tmp_path / "run" / "best.ckpt")
    assert set(labels) <= set(ckpt.labels) and ckpt.config.model.cnn_channels == (4, 8)
    frame = predict_soundscapes([tmp_path / "run" / "best.ckpt"], comp / "test_soundscapes", device="cpu")
    assert len(frame) > 0 and list(frame.columns) == ["row_id"] + ckpt.labels


def test_train_notebook_runs_the_semi_supervised_loop(competition, shared_data, tmp_path, monkeypatch):
    """KIT_LOOP=1: 2 fold models -> pseudo-labels of train_soundscapes/ -> rounds 1 and 2 -> a student."""
    comp, labels = competition
    unlabeled = comp / "train_soundscapes"
    unlabeled.mkdir(exist_ok=True)
    if not (unlabeled / "aru_1.ogg").exists():
        (unlabeled / "aru_1.ogg").symlink_to(shared_data / "field" / "aru_1.ogg")
    monkeypatch.setenv("KIT_PATH", str(ROOT))
    monkeypatch.setenv("KIT_DATA", str(comp))
    monkeypatch.setenv("KIT_OUT", str(tmp_path / "loop"))
    monkeypatch.setenv("KIT_LOOP", "1")
    monkeypatch.setenv("KIT_FOLDS", "2")
    monkeypatch.setenv("KIT_ROUNDS", "2")
    monkeypatch.setenv("KIT_STUDENT", "rnn")
    monkeypatch.setenv("KIT_SET", " ".join(H.TINY_SETS + ["epochs=1", "batch_size=4", "rnn_hidden=8"]))
    run_notebook("train.ipynb", tmp_path)
    from kit.checkpoint import load_checkpoint
    from kit.softlabels import read_soft_labels

    out = tmp_path / "loop"
    assert len(pd.read_csv(out / "folds" / "oof.csv")) == 6   # every training recording once
    provenance, frame = read_soft_labels(out / "pseudo1.csv")
    assert len(provenance["checkpoints"]) == 2 and list(frame["filename"]) == ["aru_1.ogg"]
    round1 = out / "rounds" / "round_1" / "best.ckpt"  # kit.pipeline.train_rounds, as kit train --pseudo
    assert load_checkpoint(round1).config.pseudo.pseudo_csv == str(out / "pseudo1.csv")
    assert read_soft_labels(out / "rounds" / "pseudo_round_2.csv")[0]["checkpoints"] == [str(round1)]
    round2 = load_checkpoint(out / "rounds" / "best.ckpt").config
    assert round2.model.pretrained_path == str(round1)  # started from its teacher
    teacher = read_soft_labels(out / "teacher.csv")[1]
    assert set(teacher["filename"]) > {"train_soundscapes/aru_1.ogg"}   # the clips too
    student = load_checkpoint(out / "student" / "best.ckpt")
    assert student.config.model.backbone == "rnn" and student.labels == load_checkpoint(
        out / "rounds" / "best.ckpt").labels


def test_notebooks_train_on_the_2026_layout_validate_on_its_soundscapes_and_submit(tmp_path, monkeypatch):
    """BirdCLEF+ 2026's folder (tests/birdclef_years.py): train.ipynb trains on train_audio + the labelled
    soundscapes and validates on them; submit.ipynb writes sample_submission.csv's header byte for byte."""
    from birdclef_years import make_year

    folder = make_year(tmp_path / "data", 2026)
    monkeypatch.setenv("KIT_PATH", str(ROOT))
    monkeypatch.setenv("KIT_DATA", str(folder))
    monkeypatch.setenv("KIT_OUT", str(tmp_path / "run"))
    monkeypatch.setenv("KIT_SET", " ".join(H.TINY_SETS + ["epochs=1", "batch_size=4", "valid_set=soundscapes"]))
    run_notebook("train.ipynb", tmp_path)
    assert "validating on 15 windows of 2 soundscapes" in (tmp_path / "run" / "train.log").read_text()
    monkeypatch.setenv("KIT_CKPT", str(tmp_path / "run" / "best.ckpt"))
    monkeypatch.setenv("KIT_OUT", str(tmp_path / "submission.csv"))
    run_notebook("submit.ipynb", tmp_path)
    header = (folder / "sample_submission.csv").read_bytes().split(b"\n")[0]
    assert (tmp_path / "submission.csv").read_bytes().split(b"\n")[0] == header
    assert len(pd.read_csv(tmp_path / "submission.csv")) == 12   # one 60 s test soundscape
