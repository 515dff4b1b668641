"""The teacher-embedding file written beside a teacher's soft-label CSV (`teacher.csv` ->
`teacher.embeddings.npz`): one row per window the teacher computed (also those the CSV leaves out for low
confidence), keyed like the CSV by `filename` (relative to the provenance's `root`) and `end_s`.

Arrays (numpy .npz, read with allow_pickle=False): `filename` (N,) str, `end_s` (N,) int32, `embedding` (N, D)
float16, `provenance` a JSON string (the model, its class-name file, rate, input length, views, window_s, root,
kit version, the CSV it belongs to).
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kit.foreign.errors import ForeignModelError

SUFFIX = ".embeddings.npz"
ARRAYS = ("filename", "end_s", "embedding", "provenance")


def embeddings_path(csv) -> Path:
    """teacher.csv -> teacher.embeddings.npz (same folder)."""
    csv = Path(csv)
    return csv.with_name(csv.stem + SUFFIX)


@dataclass
class EmbeddingTable:
    provenance: dict
    filenames: np.ndarray     # (N,) str, relative to provenance["root"]
    end_s: np.ndarray         # (N,) int
    vectors: np.ndarray       # (N, D) float32
    source: str = ""

    def __len__(self) -> int:
        return len(self.filenames)


def write_embeddings(path, filenames, end_s, vectors: np.ndarray, provenance: dict) -> Path:
    """Write the file atomically (float16 vectors)."""
    from kit.utils import atomic_write_bytes

    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(filenames) or len(end_s) != len(filenames):
        raise ForeignModelError(f"{path}: {len(filenames)} filenames, {len(end_s)} window ends and embeddings of "
                                f"shape {vectors.shape} do not line up")
    buffer = io.BytesIO()
    np.savez(buffer, filename=np.asarray(filenames, dtype=str), end_s=np.asarray(end_s, dtype=np.int32),
             embedding=vectors.astype(np.float16), provenance=np.asarray(json.dumps(provenance, sort_keys=True)))
    return atomic_write_bytes(path, buffer.getvalue())


def read_embeddings(path) -> EmbeddingTable:
    """The file as an EmbeddingTable; errors name the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ForeignModelError(f"{path}: teacher-embedding file not found (python -m kit pseudo-label --teacher "
                                f"... writes it beside its CSV)")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [a for a in ARRAYS if a not in data.files]
            if missing:
                raise ForeignModelError(f"{path}: not a kit teacher-embedding file (no {missing} array)")
            arrays = {a: data[a] for a in ARRAYS}
        provenance = json.loads(str(arrays["provenance"]))
    except ForeignModelError:
        raise
    except Exception as exc:
        raise ForeignModelError(f"{path}: not a readable .npz teacher-embedding file ({type(exc).__name__}: "
                                f"{exc})") from exc
    vectors = arrays["embedding"].astype(np.float32)
    if vectors.ndim != 2 or len(vectors) != len(arrays["filename"]) or len(vectors) != len(arrays["end_s"]):
        raise ForeignModelError(f"{path}: embedding shape {vectors.shape} does not match its "
                                f"{len(arrays['filename'])} filenames / {len(arrays['end_s'])} window ends")
    if not np.isfinite(vectors).all():
        row = int(np.flatnonzero(~np.isfinite(vectors).all(axis=1))[0])
        raise ForeignModelError(f"{path}: row {row} ({arrays['filename'][row]} @ {arrays['end_s'][row]} s) holds "
                                f"NaN or Inf")
    return EmbeddingTable(provenance, arrays["filename"].astype(str), arrays["end_s"].astype(np.int64), vectors,
                          str(path))


__all__ = ["EmbeddingTable", "write_embeddings", "read_embeddings", "embeddings_path", "SUFFIX"]
