"""Security: no eval/pickle of user text, weights_only loading, CSV paths stay inside their root, bundles
never carry credentials, uploading never prompts."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from kit.utils import resolve_inside

sys.path.insert(0, str(Path(__file__).parent))
import badfiles as B  # noqa: E402

KIT = Path(__file__).resolve().parents[1] / "kit"
FORBIDDEN = {
    r"(?<![.\w])eval\(": "eval() of text",
    r"(?<![.\w])exec\(": "exec() of text",
    r"pickle\.loads?\(": "pickle.load of a file",
    r"weights_only\s*=\s*False": "torch.load with weights_only=False",
    r"yaml\.load\(": "yaml.load (use safe_load)",
    r"shell\s*=\s*True": "subprocess with shell=True",
}
SECRET = "kit-test-secret-0123456789abcdef"


def test_secondary_labels_parser_never_runs_code(tmp_path):
    """BirdCLEF writes secondary_labels as a Python list ("['a', 'b']"): parsed with ast.literal_eval, which
    evaluates literals only: a call inside the text is refused, not run."""
    import kit.train.data as data
    marker = tmp_path / "ran"
    for text in (f"__import__('os').system('touch {marker}')", "[open('x')]", "[" * 5000 + "]" * 5000):
        with pytest.raises(ValueError, match="secondary_labels"):
            data.parse_secondary(text, "train.csv", 2)
    assert not marker.exists()


def _sources():
    files = sorted(KIT.rglob("*.py"))
    assert len(files) >= 5, f"kit sources not found under {KIT}"
    return files


@pytest.mark.parametrize("pattern", sorted(FORBIDDEN))
def test_no_unsafe_calls_in_kit(pattern):
    hits = []
    for path in _sources():
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            if re.search(pattern, code):
                hits.append(f"{path.relative_to(KIT.parent)}:{n}: {line.strip()}")
    assert not hits, f"{FORBIDDEN[pattern]} found:\n" + "\n".join(hits)


def _call_text(text: str, open_paren: int) -> str:
    depth = 0
    for i in range(open_paren, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[open_paren: i + 1]
    return text[open_paren:]


def test_every_torch_load_is_weights_only():
    for path in _sources():
        text = path.read_text()
        for match in re.finditer(r"torch\.load\(", text):
            call = _call_text(text, match.end() - 1)
            assert "weights_only=True" in call, f"{path.name}: {call} without weights_only=True"


@pytest.mark.parametrize("relative", ["../x.ogg", "../../etc/passwd", "a/../../x.ogg", "/etc/passwd"])
def test_resolve_inside_refuses_escapes(tmp_path, relative):
    with pytest.raises(ValueError, match="escapes"):
        resolve_inside(tmp_path / "root", relative)


def test_resolve_inside_allows_inner_paths(tmp_path):
    assert resolve_inside(tmp_path, "a/../b/c.ogg") == tmp_path / "b" / "c.ogg"


def test_resolve_inside_keeps_user_symlinks(tmp_path):
    """A symlinked audio folder (train_audio -> /kaggle/input/...) is the user's choice, not an escape."""
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "train_audio").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    assert resolve_inside(tmp_path / "root", "train_audio/x.ogg") == tmp_path / "root" / "train_audio" / "x.ogg"
    with pytest.raises(ValueError, match="escapes"):
        resolve_inside(tmp_path / "root", "train_audio/../../elsewhere/x.ogg")


def test_competition_refuses_escaping_filenames(tmp_path):
    import kit.compete.competition as competition
    outside = B.make_ogg(tmp_path, "outside.ogg", 2.0)
    data = tmp_path / "data"
    labels_csv = B.make_clip_folder(data)
    escape = B.csv_escaping(data, f"../{outside.name}")
    with pytest.raises(ValueError, match="escapes"):
        competition.make_competition(escape, tmp_path / "out", 1, 10.0)
    assert labels_csv.is_file() and not (tmp_path / "out" / "train_audio").exists()


def test_dataset_refuses_escaping_filenames(tmp_path):
    import kit.train.data as data
    B.make_ogg(tmp_path, "outside.ogg", 2.0)
    root = tmp_path / "data"
    B.make_clip_folder(root)
    with pytest.raises(ValueError, match="escapes|outside"):
        data.read_labels(B.csv_escaping(root, "../outside.ogg"))


def _plant_credentials(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    (home / ".kaggle").mkdir(parents=True)
    creds = home / ".kaggle" / "kaggle.json"
    creds.write_text('{"username": "someone", "key": "%s"}' % SECRET)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(home / ".kaggle"))
    monkeypatch.setenv("KAGGLE_KEY", SECRET)
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("HF_TOKEN", SECRET)
    return creds


def _tiny_checkpoint(path: Path) -> Path:
    from kit.checkpoint import Checkpoint, save_checkpoint
    from kit.config import Config

    config = Config().override(["cnn_channels=4", "head_hidden=8", "n_mels=16", "n_mfcc=16"])
    import kit.models as models
    model = models.create_model(config, num_classes=2)
    save_checkpoint(path, Checkpoint(config=config, labels=["a", "b"], state_dict=model.state_dict()))
    return path


def _bundle(bundle_mod, checkpoint: Path, out: Path):
    return bundle_mod.make_bundle([checkpoint], out)


def test_bundle_never_holds_credentials(tmp_path, monkeypatch):
    import kit.export.bundle as bundle_mod
    _plant_credentials(tmp_path, monkeypatch)
    work = tmp_path / "work"
    work.mkdir()
    (work / "kaggle.json").write_text('{"key": "%s"}' % SECRET)  # a stray copy beside the checkpoint
    (work / ".env").write_text(f"KAGGLE_KEY={SECRET}\n")
    monkeypatch.chdir(work)
    ckpt = _tiny_checkpoint(work / "best.ckpt")
    out = tmp_path / "bundle"
    _bundle(bundle_mod, ckpt, out)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files, "the bundle is empty"
    names = {p.name for p in files}
    assert "kaggle.json" not in names and ".env" not in names, f"credential file in the bundle: {sorted(names)}"
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), f"{path} holds a credential"


def test_upload_never_prompts(tmp_path, monkeypatch):
    """Uploading (dry run) with stdin closed and no credentials fails fast or succeeds, never waits."""
    import kit.export.bundle as bundle_mod
    upload = bundle_mod.upload
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "nowhere"))
    for var in ("KAGGLE_KEY", "KAGGLE_USERNAME"):
        monkeypatch.delenv(var, raising=False)

    def no_input(*args, **kwargs):
        raise AssertionError("upload asked for interactive input")

    monkeypatch.setattr("builtins.input", no_input)
    monkeypatch.setattr("getpass.getpass", no_input)
    (tmp_path / "bundle").mkdir()
    try:
        upload(tmp_path / "bundle")
    except (ValueError, FileNotFoundError, PermissionError, RuntimeError, OSError) as exc:
        assert "kaggle" in str(exc).lower() or "credential" in str(exc).lower(), f"unclear upload error: {exc}"
