"""Kaggle bundle: a dataset folder (kit source + checkpoints) and a kernel folder (the submission notebook).

    python -m kit bundle --checkpoint best.ckpt [--checkpoint ...] --out bundle/ [--user NAME] [--upload]

Layout:
    OUT/dataset/kit/...               copy of the kit package (no __pycache__, no credentials)
    OUT/dataset/checkpoints/*.ckpt (and each one's *.int8.onnx when kit export --precision int8 wrote one)
    OUT/dataset/dataset-metadata.json
    OUT/kernel/submit.ipynb           notebooks/submit.ipynb (adds the dataset folder to sys.path)
    OUT/kernel/kernel-metadata.json   internet off, the dataset and the competition attached

Without --upload nothing leaves the machine. The bundle never holds credentials: files such as
kaggle.json, .env, .netrc or *token* are never copied, and a final scan refuses the bundle if any file holds
the KAGGLE_KEY of the environment or of kaggle.json.
"""
from __future__ import annotations

import fnmatch
import json
import os
import shutil
from pathlib import Path

CREDENTIAL_PATTERNS = ("kaggle.json", ".env", ".env.*", ".netrc", "*token*", "*secret*", "*.pem", "*.key",
                       "id_rsa*", "id_ed25519*", "credentials*")
IGNORED_PATTERNS = ("__pycache__", "*.pyc", "*.pyo", ".ipynb_checkpoints", ".DS_Store", ".git*")


class BundleError(ValueError):
    """The bundle cannot be made (missing input) or would be unsafe (a credential inside)."""


def _is_credential(name: str) -> bool:
    return any(fnmatch.fnmatch(name.lower(), p) for p in CREDENTIAL_PATTERNS)


def _ignore(_folder, names) -> set:
    return {n for n in names if _is_credential(n) or any(fnmatch.fnmatch(n, p) for p in IGNORED_PATTERNS)}


def _known_secrets() -> list:
    """KAGGLE_KEY values this machine holds (environment, kaggle.json), to make sure none is bundled."""
    secrets = [os.environ.get("KAGGLE_KEY", ""), os.environ.get("KAGGLE_API_TOKEN", "")]
    for folder in (os.environ.get("KAGGLE_CONFIG_DIR"), Path.home() / ".kaggle", Path.home() / ".config" / "kaggle"):
        path = Path(folder) / "kaggle.json" if folder else None
        if path is not None and path.is_file():
            try:
                secrets.append(str(json.loads(path.read_text()).get("key", "")))
            except (OSError, ValueError):
                continue
    return [s for s in secrets if len(s) >= 8]


def check_no_credentials(folder) -> None:
    """Raise BundleError if a credential file or a known secret value is inside `folder`."""
    secrets = [s.encode() for s in _known_secrets()]
    for path in Path(folder).rglob("*"):
        if _is_credential(path.name):
            raise BundleError(f"{path}: looks like a credential file; refusing to bundle it")
        if path.is_file() and secrets:
            data = path.read_bytes()
            if any(s in data for s in secrets):
                raise BundleError(f"{path}: holds a Kaggle API key; refusing to bundle it")


def _copy_checkpoints(checkpoints, folder: Path) -> list:
    from kit.checkpoint import load_checkpoint
    from kit.export.quantize import int8_path_for

    for ckpt in map(Path, checkpoints):  # refuse a corrupt or foreign-version checkpoint now, not on Kaggle
        load_checkpoint(ckpt)
        if _is_credential(ckpt.name):
            raise BundleError(f"{ckpt}: a checkpoint name that looks like a credential file; rename it")
    folder.mkdir(parents=True)
    names = []
    for i, ckpt in enumerate(map(Path, checkpoints)):
        name = ckpt.name if ckpt.name not in names else f"{i}_{ckpt.name}"
        shutil.copy2(ckpt, folder / name)
        int8 = int8_path_for(ckpt)  # its int8 network (kit export --precision int8) travels with it
        if int8.is_file():
            shutil.copy2(int8, int8_path_for(folder / name))
        names.append(name)
    return names


def _notebook_path() -> Path:
    import kit

    path = Path(kit.__file__).resolve().parents[1] / "notebooks" / "submit.ipynb"
    if not path.is_file():
        raise BundleError(f"{path}: submission notebook not found (bundle from a kit source checkout)")
    return path


def make_bundle(checkpoints, out_dir, user: str = "", slug: str = "kit-bundle",
                competition: str = "birdclef-2026") -> dict:
    """Write the dataset and kernel folders; returns their paths. Nothing is uploaded."""
    import kit

    if not checkpoints:
        raise BundleError("no checkpoint given: pass at least one --checkpoint")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise BundleError(f"{out_dir}: output folder exists and is not empty; choose a new one")
    user = user or os.environ.get("KAGGLE_USERNAME", "") or "YOUR_KAGGLE_USERNAME"
    dataset, kernel = out_dir / "dataset", out_dir / "kernel"
    names = _copy_checkpoints(checkpoints, dataset / "checkpoints")
    shutil.copytree(Path(kit.__file__).resolve().parent, dataset / "kit", ignore=_ignore)
    meta = {"title": slug, "id": f"{user}/{slug}", "licenses": [{"name": "CC0-1.0"}]}
    (dataset / "dataset-metadata.json").write_text(json.dumps(meta, indent=2))
    kernel.mkdir(parents=True)
    shutil.copy2(_notebook_path(), kernel / "submit.ipynb")
    kmeta = {"id": f"{user}/{slug}-submit", "title": f"{slug}-submit", "code_file": "submit.ipynb",
             "language": "python", "kernel_type": "notebook", "is_private": True, "enable_gpu": False,
             "enable_internet": False, "dataset_sources": [f"{user}/{slug}"],
             "competition_sources": [competition] if competition else [], "kernel_sources": []}
    (kernel / "kernel-metadata.json").write_text(json.dumps(kmeta, indent=2))
    try:
        check_no_credentials(out_dir)
    except BundleError:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise
    return {"dataset": dataset, "kernel": kernel, "checkpoints": [dataset / "checkpoints" / n for n in names],
            "kit_version": kit.__version__}


def _has_credentials() -> bool:
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return True
    folders = [os.environ.get("KAGGLE_CONFIG_DIR"), Path.home() / ".kaggle", Path.home() / ".config" / "kaggle"]
    return any(f and (Path(f) / "kaggle.json").is_file() for f in folders)


def upload(bundle_dir, new_dataset: bool = True, push_kernel: bool = True) -> None:
    """Upload the dataset (new or new version) and push the kernel with the `kaggle` package. Never prompts."""
    bundle_dir = Path(bundle_dir)
    dataset = bundle_dir / "dataset" if (bundle_dir / "dataset").is_dir() else bundle_dir
    if not _has_credentials():
        raise RuntimeError("kaggle credentials not found: set KAGGLE_USERNAME and KAGGLE_KEY or put kaggle.json "
                           "in ~/.kaggle (https://www.kaggle.com/settings -> API); nothing was uploaded")
    if not (dataset / "dataset-metadata.json").is_file():
        raise BundleError(f"{dataset}: no dataset-metadata.json, not a kaggle bundle; make it with "
                          f"`python -m kit bundle` first")
    check_no_credentials(bundle_dir)
    try:
        from kaggle.api.kaggle_api_extended import KaggleApi
    except Exception as exc:  # not installed, or broken (e.g. a missing dependency)
        raise RuntimeError(f"the kaggle package cannot be imported ({type(exc).__name__}: {exc}); "
                           f"pip install kaggle; nothing was uploaded") from exc
    api = KaggleApi()
    api.authenticate()
    if new_dataset:
        api.dataset_create_new(str(dataset), dir_mode="zip", quiet=True)
    else:
        api.dataset_create_version(str(dataset), "kit bundle update", dir_mode="zip", quiet=True)
    if push_kernel and (bundle_dir / "kernel" / "kernel-metadata.json").is_file():
        api.kernels_push(str(bundle_dir / "kernel"))
