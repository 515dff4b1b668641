"""Kaggle bundle: layout, metadata, no credentials, and a fresh Python process predicts from it alone."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import infer_helpers as H  # noqa: E402
from kit.export import bundle  # noqa: E402

FRESH = r"""
import importlib.util, json, sys
sys.path = [p for p in sys.path if p not in ("", ".")]
sys.meta_path = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()
                 and "editable" not in getattr(f, "__name__", "").lower()]
assert importlib.util.find_spec("kit") is None, "kit importable without the bundle"
sys.path.insert(0, sys.argv[1])
import kit, kit.infer
assert kit.__file__.startswith(sys.argv[1]), kit.__file__
frame = kit.infer.predict_soundscapes([sys.argv[2]], sys.argv[3], device="cpu")
frame.to_csv(sys.argv[4], index=False)
print(kit.__file__)
"""


def test_bundle_layout_and_metadata(tmp_path, monkeypatch):
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    ckpt = H.tiny_checkpoint(tmp_path / "best.ckpt")
    paths = bundle.make_bundle([ckpt, ckpt], tmp_path / "out", user="me", slug="my-kit")
    dataset, kernel = paths["dataset"], paths["kernel"]
    assert (dataset / "kit" / "infer" / "predict.py").is_file() and (dataset / "kit" / "models").is_dir()
    assert not list(dataset.rglob("__pycache__")) and not list(dataset.rglob("*.pyc"))
    assert sorted(p.name for p in (dataset / "checkpoints").iterdir()) == ["1_best.ckpt", "best.ckpt"]
    meta = json.loads((dataset / "dataset-metadata.json").read_text())
    kmeta = json.loads((kernel / "kernel-metadata.json").read_text())
    assert meta["id"] == "me/my-kit" and kmeta["dataset_sources"] == ["me/my-kit"]
    assert kmeta["enable_internet"] is False and kmeta["code_file"] == "submit.ipynb"
    assert (kernel / "submit.ipynb").is_file()
    with pytest.raises(bundle.BundleError, match="not empty"):
        bundle.make_bundle([ckpt], tmp_path / "out")


def test_credentials_are_never_bundled(tmp_path, monkeypatch):
    secret = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("KAGGLE_KEY", secret)
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for name in ("kaggle.json", ".env", "api_token.txt", "ok.py"):
        (src / "sub" / name).write_text("x = 1\n")
    ignored = bundle._ignore(str(src / "sub"), os.listdir(src / "sub"))
    assert ignored == {"kaggle.json", ".env", "api_token.txt"}
    with pytest.raises(bundle.BundleError, match="credential file"):
        bundle.check_no_credentials(src / "sub")
    clean = src / "clean"
    clean.mkdir()
    (clean / "ok.py").write_text("x = 1\n")
    bundle.check_no_credentials(clean)
    (clean / "leak.py").write_text(f"KEY = '{secret}'\n")
    with pytest.raises(bundle.BundleError, match="leak.py: holds a Kaggle API key"):
        bundle.check_no_credentials(clean)


def test_upload_without_credentials_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "none"))
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    with pytest.raises(RuntimeError, match="kaggle credentials not found"):
        bundle.upload(tmp_path)


def test_fresh_process_predicts_identically_from_a_copied_bundle(tmp_path, shared_data):
    ckpt = H.tiny_checkpoint(tmp_path / "best.ckpt")
    paths = bundle.make_bundle([ckpt], tmp_path / "out")
    copy = tmp_path / "elsewhere" / "kit-bundle"
    shutil.copytree(paths["dataset"], copy)
    audio = tmp_path / "test"
    audio.mkdir()
    (audio / "birds_10s.ogg").symlink_to(shared_data / "field" / "birds_10s.ogg")
    script = tmp_path / "fresh.py"
    script.write_text(FRESH)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "TQDM_DISABLE": "1"}
    run = subprocess.run([sys.executable, str(script), str(copy), str(copy / "checkpoints" / "best.ckpt"),
                          str(audio), str(tmp_path / "fresh.csv")], cwd=tmp_path / "elsewhere", env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().startswith(str(copy))
    from kit.infer.predict import predict_soundscapes

    here = predict_soundscapes([ckpt], audio, device="cpu")
    fresh = pd.read_csv(tmp_path / "fresh.csv")
    assert fresh.row_id.tolist() == here.row_id.tolist() == ["birds_10s_5", "birds_10s_10", "birds_10s_15"]
    assert np.abs(fresh[["a", "b", "c"]].to_numpy() - here[["a", "b", "c"]].to_numpy()).max() < 1e-6
