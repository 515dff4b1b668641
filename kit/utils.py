"""Small shared helpers: atomic writes, device choice, seeding, progress bars."""
from __future__ import annotations

import os
import random
import sys
import tempfile
from pathlib import Path


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write to a temp file in the same folder, fsync, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_torch_save(obj, path) -> Path:
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def atomic_write_csv(frame, path, **kwargs) -> Path:
    return atomic_write_text(path, frame.to_csv(index=False, **kwargs))


def pick_device(name: str = "auto"):
    """'auto' picks cuda, then mps, then cpu; anything else is passed to torch.device."""
    import torch

    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


MALLOC_TUNING = {"enabled": True}  # set_malloc_tuning(False) turns it off (notebooks: their first cell)


def set_malloc_tuning(enabled: bool) -> None:
    """Whether tune_malloc() applies (process-wide; call it from an entry point or a notebook's first cell)."""
    MALLOC_TUNING["enabled"] = bool(enabled)


def tune_malloc() -> bool:
    """On Linux/glibc, keep freed memory in the process (what MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=... in
    the environment do, applied at run time): eager CPU inference allocates and frees ~100 MB tensors per batch,
    and returning them to the OS each time made it 2.7x slower here (20.2 vs 7.4 ms per 5 s window, efficientnet_b0).
    The price: the process keeps its peak memory. set_malloc_tuning(False) turns it off. True when applied."""
    if not MALLOC_TUNING["enabled"] or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_max = -1, -4
        return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 2 ** 31 - 1))
    except (OSError, AttributeError):  # not glibc (musl, ...): leave the allocator alone
        return False


def progress(iterable, desc: str = "", total=None, leave: bool = False, **kwargs):
    """tqdm progress bar on stderr; TQDM_DISABLE=1 in the environment silences it (tqdm >= 4.66 reads it)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=leave, file=sys.stderr, **kwargs)


def set_cpu_threads(device, threads: int = 0) -> int:
    """Torch's CPU threads for inference, process-wide (entry points only: `kit predict`, `kit pseudo-label`, the
    submission notebook). threads > 0: that many. 0: on a CPU every core, one left for decoding on 4+ cores; an
    OMP_NUM_THREADS in the environment is left as the user set it (processes sharing a machine: more threads
    than cores make torch's threads wait for each other, several times slower). Also tune_malloc() on a CPU.
    Returns the thread count in force."""
    import torch

    on_cpu = getattr(device, "type", str(device)) == "cpu"
    if on_cpu:
        tune_malloc()
    if threads:
        torch.set_num_threads(int(threads))
    elif on_cpu and not os.environ.get("OMP_NUM_THREADS"):
        cores = os.cpu_count() or 1
        torch.set_num_threads(max(1, cores - 1) if cores >= 4 else cores)
    return torch.get_num_threads()


def resolve_inside(root, relative) -> Path:
    """Resolve `relative` under `root`, refusing paths that escape it (`../..`, absolute paths).

    The check is on the path text (normalized), not on symlink targets: a CSV cannot climb out of its
    folder, while symlinks the user placed (e.g. train_audio -> /kaggle/input/...) keep working.
    """
    root = Path(os.path.abspath(root))
    target = Path(os.path.normpath(root / str(relative)))
    if target != root and root not in target.parents:
        raise ValueError(f"path {relative!r} escapes its data folder {root}; refusing it")
    return target


def read_csv_checked(path, what: str, error=ValueError, required=(), **read_kwargs):
    """A CSV as a DataFrame; a missing file, non-UTF-8 text, an unparsable file or missing `required` columns
    raise an error (`error` class; FileNotFoundError when absent) that names the file and the problem."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found")
    try:
        frame = pd.read_csv(path, **read_kwargs)
    except UnicodeDecodeError as exc:
        raise error(f"{path}: {what} is not UTF-8 text ({exc}); save it as UTF-8") from exc
    except Exception as exc:  # empty file, ragged rows, binary junk ...
        raise error(f"{path}: {what} is not a readable CSV ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise error(f"{path}: {what} is missing column(s) {missing}; found {list(frame.columns)[:8]}")
    return frame


def shared_data_dir() -> Path:
    """`../shared/data` beside the kit checkout (real audio for benchmarks and demos; the benches' --data
    overrides it)."""
    return Path(__file__).resolve().parents[2] / "shared" / "data"
