"""Makers of awkward and broken inputs, written into a test's tmp_path (never into the repo).

Each `make_*` returns the path it wrote. `AUDIO_CASES` lists every bad or awkward audio file with the
behaviour kit documents for it: `error` (an AudioError naming the file and the problem) or `ok` (loads;
the comment says which fallback applies).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLE_RATE_HZ = 32000


def tone(seconds: float, sample_rate_hz: int = SAMPLE_RATE_HZ, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A 440 Hz tone with a little noise, (frames,) or (frames, channels), float32 in [-0.5, 0.5]."""
    n = int(round(seconds * sample_rate_hz))
    rng = np.random.default_rng(seed)
    x = 0.3 * np.sin(2 * np.pi * 440.0 * np.arange(n) / sample_rate_hz) + 0.02 * rng.standard_normal(n)
    x = x.astype(np.float32)
    return x if channels == 1 else np.repeat(x[:, None], channels, axis=1)


def write(path, data: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ, subtype=None, fmt=None) -> Path:
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, sample_rate_hz, subtype=subtype, format=fmt)
    return path


# ---- audio -------------------------------------------------------------------------------------
def make_missing(folder) -> Path:
    return Path(folder) / "missing.ogg"


def make_zero_byte(folder) -> Path:
    path = Path(folder) / "zero_byte.ogg"
    path.write_bytes(b"")
    return path


def _cut_ogg(folder, name: str, seconds: float, keep_bytes) -> Path:
    """An OGG Vorbis tone of `seconds`, cut to its first keep_bytes(total bytes) bytes, saved as `name`."""
    full = write(Path(folder) / f"full_for_{name}", tone(seconds))
    data = full.read_bytes()
    full.unlink()
    path = Path(folder) / name
    path.write_bytes(data[: keep_bytes(len(data))])
    return path


def make_truncated_ogg(folder) -> Path:
    """An OGG Vorbis file cut after its headers and a little audio (a download that stopped)."""
    return _cut_ogg(folder, "truncated.ogg", 3.0, lambda n: max(200, n // 3))


def make_truncated(folder, fmt: str) -> Path:
    """A 20 s WAV or FLAC cut at half its bytes: the header promises more frames than the file holds."""
    path = write(Path(folder) / f"truncated.{fmt.lower()}", tone(20.0), fmt=fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_header_only_ogg(folder) -> Path:
    """Only the first 60 bytes of an OGG file: the header itself is cut."""
    return _cut_ogg(folder, "header_only.ogg", 1.0, lambda n: 60)


def make_garbage_ogg(folder) -> Path:
    """Random bytes named .ogg."""
    path = Path(folder) / "garbage.ogg"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    return path


def make_text_as_ogg(folder) -> Path:
    path = Path(folder) / "notes.ogg"
    path.write_text("this is a text file, not audio\n" * 20)
    return path


def make_zero_samples(folder) -> Path:
    """A valid mono WAV header with 0 frames."""
    return write(Path(folder) / "zero_samples.wav", np.zeros(0, np.float32), subtype="PCM_16")


def make_shorter_than_hop(folder, samples: int = 100) -> Path:
    return write(Path(folder) / "shorter_than_hop.wav", tone(samples / SAMPLE_RATE_HZ), subtype="PCM_16")


def make_silent(folder, seconds: float = 3.0) -> Path:
    return write(Path(folder) / "silent.wav", np.zeros(int(seconds * SAMPLE_RATE_HZ), np.float32), subtype="PCM_16")


def make_nonfinite_wav(folder, value: float = np.nan) -> Path:
    """A float WAV with a few NaN (or Inf) samples in the middle."""
    x = tone(2.0)
    x[1000:1010] = value
    name = "nan.wav" if np.isnan(value) else "inf.wav"
    return write(Path(folder) / name, x, subtype="FLOAT")


def make_channels(folder, channels: int) -> Path:
    return write(Path(folder) / f"channels_{channels}.wav", tone(2.0, channels=channels), subtype="PCM_16")


def make_rate(folder, sample_rate_hz: int) -> Path:
    return write(Path(folder) / f"rate_{sample_rate_hz}.wav", tone(2.0, sample_rate_hz), sample_rate_hz, "PCM_16")


def make_subtype(folder, fmt: str, subtype: str) -> Path:
    """16- or 24-bit WAV / FLAC at 32 kHz."""
    return write(Path(folder) / f"{subtype.lower()}.{fmt.lower()}", tone(2.0), subtype=subtype, fmt=fmt)


def make_ogg(folder, name: str = "good.ogg", seconds: float = 6.0, seed: int = 0) -> Path:
    return write(Path(folder) / name, tone(seconds, seed=seed))


# (case id, maker(folder) -> path, expected: "error" + words of the message, or "ok" + fallback note)
AUDIO_CASES = [
    ("missing", make_missing, "error", "not found"),
    ("zero_byte", make_zero_byte, "error", "empty"),
    ("truncated_ogg", make_truncated_ogg, "ok", "decodes the part that is there"),
    ("truncated_wav", lambda d: make_truncated(d, "WAV"), "ok", "the frames that are there"),
    ("truncated_flac", lambda d: make_truncated(d, "FLAC"), "error", "cannot decode"),
    ("header_only_ogg", make_header_only_ogg, "error", "not a readable audio file"),
    ("garbage_ogg", make_garbage_ogg, "error", "not a readable audio file"),
    ("text_as_ogg", make_text_as_ogg, "error", "not a readable audio file"),
    ("zero_samples", make_zero_samples, "error", "0 samples"),
    ("shorter_than_hop", make_shorter_than_hop, "ok", "padded by the pad mode"),
    ("silent", make_silent, "ok", "constant, finite feature map"),
    ("nan", make_nonfinite_wav, "error", "NaN or Inf"),
    ("inf", lambda d: make_nonfinite_wav(d, np.inf), "error", "NaN or Inf"),
    ("stereo", lambda d: make_channels(d, 2), "ok", "channels averaged"),
    ("surround_5_1", lambda d: make_channels(d, 6), "ok", "channels averaged"),
    ("rate_8k", lambda d: make_rate(d, 8000), "ok", "resampled"),
    ("rate_22k", lambda d: make_rate(d, 22050), "ok", "resampled"),
    ("rate_44k", lambda d: make_rate(d, 44100), "ok", "resampled"),
    ("rate_48k", lambda d: make_rate(d, 48000), "ok", "resampled"),
    ("wav_16", lambda d: make_subtype(d, "WAV", "PCM_16"), "ok", "read as float"),
    ("wav_24", lambda d: make_subtype(d, "WAV", "PCM_24"), "ok", "read as float"),
    ("flac_16", lambda d: make_subtype(d, "FLAC", "PCM_16"), "ok", "read as float"),
    ("flac_24", lambda d: make_subtype(d, "FLAC", "PCM_24"), "ok", "read as float"),
    ("directory", lambda d: _mkdir(Path(d) / "folder.ogg"), "error", "directory"),
]

# the real awkward files of ../shared/data/edge_cases: name -> ("error", words) or ("ok", note)
EDGE_CASES = {
    "empty_2c.wav": ("error", "0 samples"),
    "stereo.wav": ("ok", "5 float frames at 44.1 kHz: resampled, then padded"),
    "veryshort.wav": ("ok", "0.14 s at 44.1 kHz: resampled, then padded"),
    "short_no_metadata.wav": ("ok", "0.14 s at 44.1 kHz: resampled, then padded"),
    "silence_10s.mp3": ("ok", "MP3 decoded by libsndfile >= 1.1"),
    "audiomoth_gps.wav": ("ok", "metadata chunk ignored, 48 kHz resampled"),
    "metadata.wav": ("ok", "metadata chunk ignored"),
}


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---- long recordings ---------------------------------------------------------------------------
def make_long(path, minutes: float, fmt: str = "FLAC", sample_rate_hz: int = SAMPLE_RATE_HZ) -> Path:
    """A long mono recording written block by block (one minute of tone + noise repeated, shifted).

    FLAC: 2 hours take ~3 s to write (OGG Vorbis ~25 s, 16-bit WAV 460 MB).
    """
    import soundfile as sf

    subtype = {"FLAC": "PCM_16", "WAV": "PCM_16", "OGG": "VORBIS"}[fmt]
    block = tone(60.0, sample_rate_hz)
    whole, rest = int(minutes), minutes - int(minutes)
    path = Path(path)
    with sf.SoundFile(str(path), "w", sample_rate_hz, 1, format=fmt, subtype=subtype) as handle:
        for i in range(whole):
            handle.write(np.roll(block, 997 * i))
        if rest > 0:
            handle.write(block[: int(rest * 60 * sample_rate_hz)])
    return path


# ---- CSVs --------------------------------------------------------------------------------------
def make_clip_folder(folder, labels=("a", "b"), per_label: int = 3, seconds: float = 2.0) -> Path:
    """`folder/clips/*.ogg` plus `folder/labels.csv` with columns filename,label (filenames relative)."""
    folder = Path(folder)
    rows = []
    for li, label in enumerate(labels):
        for j in range(per_label):
            name = f"{label}_{j}.ogg"
            write(folder / "clips" / name, tone(seconds, seed=10 * li + j) * (0.5 + 0.5 * li))
            rows.append(f"clips/{name},{label}")
    (folder / "labels.csv").write_text("filename,label\n" + "\n".join(rows) + "\n")
    return folder / "labels.csv"


def csv_missing_columns(folder) -> Path:
    path = Path(folder) / "missing_columns.csv"
    path.write_text("file,category\nclips/a_0.ogg,a\n")
    return path


def csv_duplicated_rows(folder, labels_csv) -> Path:
    lines = Path(labels_csv).read_text().splitlines()
    path = Path(folder) / "duplicated.csv"
    path.write_text("\n".join(lines + lines[1:3]) + "\n")
    return path


def csv_non_utf8(folder) -> Path:
    path = Path(folder) / "latin1.csv"
    path.write_bytes("filename,label\nclips/a_0.ogg,caf\u00e9\n".encode("latin-1"))
    return path


def csv_escaping(folder, target: str = "../../etc/passwd") -> Path:
    path = Path(folder) / "escape.csv"
    path.write_text(f"filename,label\nclips/a_0.ogg,a\n{target},b\n")
    return path


def birdclef_folder(folder, secondary: str = "['b']", primary=("a", "b"), seconds: float = 2.0) -> Path:
    """A BirdCLEF-layout folder: train_audio/<label>/*.ogg + train.csv (primary_label, secondary_labels,
    filename). `secondary` is written verbatim into the first row (use it for malformed values)."""
    folder = Path(folder)
    rows = []
    for li, label in enumerate(primary):
        for j in range(2):
            name = f"{label}/{label}_{j}.ogg"
            write(folder / "train_audio" / name, tone(seconds, seed=li * 5 + j))
            sec = secondary if (li, j) == (0, 0) else "[]"
            rows.append(f'{label},"{sec}",{name}')
    (folder / "train.csv").write_text("primary_label,secondary_labels,filename\n" + "\n".join(rows) + "\n")
    return folder


def sample_submission(path, labels, row_ids) -> Path:
    import pandas as pd

    frame = pd.DataFrame({"row_id": list(row_ids)})
    for label in labels:
        frame[label] = 0.5
    frame.to_csv(path, index=False)
    return Path(path)


# ---- a tiny waveform model for inference tests (independent of kit.models) --------------------------
def tiny_member(labels=("a", "b", "c"), config=None, oom_above: int = 0, seed: int = 0):
    """A kit.infer.Member around a 1-layer model on band energies of the raw waveform.

    `oom_above` > 0: the forward raises a CUDA-style out-of-memory RuntimeError for batches larger than it.
    """
    import torch
    from torch import nn

    from kit.config import Config
    from kit.infer import Member

    class TinyWave(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(seed)
            self.head = nn.Linear(8, len(labels))

        def forward(self, x, valid_samples=None):  # x (B, K, samples) -> (B, classes)
            if oom_above and x.shape[0] > oom_above:
                raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (simulated)")
            chunks = x.reshape(x.shape[0], x.shape[1], 8, -1)
            energy = torch.log(chunks.square().mean(-1) + 1e-6)  # (B, K, 8)
            return self.head(energy).mean(dim=1)

    config = config or Config()
    return Member.from_model(TinyWave(), config, list(labels), device="cpu", path=f"tiny-{seed}")


# ---- command-line helpers shared by the bad-input tests -------------------------------------------------
def run_cli(argv, capsys) -> tuple:
    """(exit code, stdout, stderr) of `python -m kit ...` run in this process."""
    from kit.cli import main

    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_cli_error(argv, capsys, *words) -> str:
    """The CLI exits 2 with `error: ...` holding every one of `words` (file names, problems), no traceback."""
    rc, _, err = run_cli(argv, capsys)
    assert rc == 2 and err.startswith("error: "), f"rc={rc}, stderr={err[-500:]}"
    assert "Traceback" not in err
    for word in words:
        assert str(word).lower() in err.lower(), f"{word!r} not in: {err}"
    return err
