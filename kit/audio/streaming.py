"""Streaming soundscape windows of many files to the model (used by kit.infer), two ways:

- background (`Prefetch(produce_windows(...))`): one decoding thread fills a bounded queue while the model runs
  (soundfile and numpy release the GIL for most of their work). Best where a core is free for it: a GPU runs
  the model, or the CPU has 4+ cores (torch then leaves one core to decoding).
- lockstep (`lockstep_windows`): when the model's threads use every core (a 2-core CPU), a background decoder
  only slows them down (their parallel ops wait for the preempted thread): measured worse than no overlap at
  all. Instead, decoding gets its own phase: one thread per core, each decoding one batch of windows by seeking
  in its own handle of the file; then the model runs on every core over those batches.
Both yield the same items in the same order; memory holds a few batches.
"""
from __future__ import annotations

import os
import queue
import threading

import numpy as np

from kit.audio.crops import valid_samples, waveform_pad_mode
from kit.audio.io import AudioError, _check_samples, _to_mono
from kit.audio.windows import _window_from_buffer, iter_windows, stream_history, window_count, window_input_start

# libsndfile formats whose seek + read gives exactly the samples of a front-to-back decode (checked on OGG
# Vorbis at random offsets; PCM and FLAC are exact by construction). Others (MP3, ...) decode front to back.
SEEK_EXACT_FORMATS = frozenset({"OGG", "FLAC", "WAV", "WAVEX", "AIFF", "W64", "RF64", "CAF"})

_END = object()


def produce_windows(files: list, audio_cfg, chunk_windows: int):
    for fi, path in enumerate(files):
        row = 0
        try:
            for wb in iter_windows(path, audio_cfg, chunk_windows):
                yield "chunk", fi, row, (wb.crops, wb.valid.astype(np.int64))
                row += len(wb.crops)
            yield "done", fi, row, None
        except Exception as exc:  # one bad file must not sink the submission: its rows get the fallback
            yield "error", fi, row, exc


class Prefetch:
    """Iterate a generator in a daemon thread with a bounded queue; close() stops it early."""

    def __init__(self, generator, depth: int = 3):
        self.queue, self.stop = queue.Queue(maxsize=depth), threading.Event()
        self.thread = threading.Thread(target=self._run, args=(generator,), daemon=True)
        self.thread.start()

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, generator) -> None:
        try:
            for item in generator:
                if not self._put(item):
                    return
        except BaseException as exc:  # surfaced in the consumer
            self._put(("fatal", exc))
        finally:
            self._put(_END)

    def __iter__(self):
        while True:
            item = self.queue.get()
            if item is _END:
                return
            if isinstance(item, tuple) and item[0] == "fatal":
                raise item[1]
            yield item

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def take_rows(buffer: list, n: int) -> list:
    """Pop the first `n` rows of buffered (fi, first_row, crops, valid) pieces, splitting the last one."""
    pieces, left = [], n
    while buffer and left > 0:
        fi, row, crops, valid = buffer[0]
        if len(crops) <= left:
            pieces.append(buffer.pop(0))
            left -= len(crops)
        else:
            pieces.append((fi, row, crops[:left], valid[:left]))
            buffer[0] = (fi, row + left, crops[left:], valid[left:])
            left = 0
    return pieces


class _HeaderMismatch(Exception):
    """The file holds fewer or more samples than its header says: decode it front to back instead."""


def _read_exact(handle, start: int, count: int) -> np.ndarray:
    handle.seek(start)
    data = _to_mono(handle.read(count, dtype="float32", always_2d=True))
    if len(data) != count:
        raise _HeaderMismatch()
    return data


def read_windows(path, cfg, first: int, count: int, n_samples: int) -> tuple:
    """(crops, valid) of windows [first, first + count) of a file of n_samples, read by seeking: the same
    samples as iter_windows, which reads front to back (tests/test_streaming.py)."""
    import soundfile as sf

    L, mode, n, keep = cfg.crop_samples, waveform_pad_mode(cfg), n_samples, stream_history(cfg)
    starts = [window_input_start(k, cfg) for k in range(first, first + count)]
    edge = starts[-1] + L > n                        # the tail window: extended by the pad mode
    lo = max(0, min(starts[0], n) - keep) if edge else starts[0]
    try:
        with sf.SoundFile(str(path)) as handle:
            buf = _check_samples(path, _read_exact(handle, lo, min(n, starts[-1] + L) - lo))
            head = buf[:0]
            if edge:
                if handle.read(1, dtype="float32").size:
                    raise _HeaderMismatch()
                head = buf[:keep] if lo == 0 else _read_exact(handle, 0, min(n, keep))
    except (_HeaderMismatch, AudioError):
        raise
    except Exception as exc:  # the caller decodes the file in order instead (and reports its errors)
        raise AudioError(path, f"cannot decode audio at {lo / cfg.sample_rate_hz:.1f} s "
                               f"({type(exc).__name__}: {exc})") from exc
    if not edge and starts == list(range(starts[0], starts[0] + count * L, L)):
        return buf.reshape(count, L), valid_samples(starts, L, n).astype(np.int64)  # back-to-back windows
    crops = np.empty((count, L), dtype=np.float32)
    for row, start in enumerate(starts):
        crops[row] = _window_from_buffer(path, buf, lo, head, start, L, n, mode)
    return crops, valid_samples(starts, L, n).astype(np.int64)


def _tasks(files: list, cfg, per_task: int):
    """(fi, first, count, n_samples) chunks of seekable files; (fi, None, 0, 0) for a file to decode in order."""
    import soundfile as sf

    for fi, path in enumerate(files):
        try:
            info = sf.info(str(path))
            seekable = (info.format in SEEK_EXACT_FORMATS and info.frames > 0
                        and int(info.samplerate) == cfg.sample_rate_hz)
        except Exception:  # the in-order decoder reports it as the file's error
            seekable = False
        if not seekable:
            yield fi, None, 0, 0
            continue
        total = window_count(int(info.frames), cfg)
        for first in range(0, total, per_task):
            yield fi, first, min(per_task, total - first), int(info.frames)


def _in_order(files: list, fi: int, cfg, chunk_windows: int, skip_rows: int = 0):
    """produce_windows' items for one file, leaving out rows already handed over."""
    for kind, _, row, payload in produce_windows([files[fi]], cfg, chunk_windows):
        if kind == "chunk" and row + len(payload[0]) <= skip_rows:
            continue
        if kind == "chunk" and row < skip_rows:
            payload, row = (payload[0][skip_rows - row:], payload[1][skip_rows - row:]), skip_rows
        yield kind, fi, row, payload


def _lockstep(files: list, cfg, batch_windows: int, threads: int):
    from concurrent.futures import ThreadPoolExecutor

    # one task = one model batch (handed over without concatenation); a phase decodes `threads` batches
    tasks, finished, handed = _tasks(files, cfg, batch_windows), set(), {}
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kit-decode") as pool:
        while True:
            group = [t for _, t in zip(range(threads), tasks)]
            if not group:
                return
            futures = [pool.submit(read_windows, files[fi], cfg, first, count, n)
                       if first is not None and fi not in finished else None for fi, first, count, n in group]
            for (fi, first, count, n), future in zip(group, futures):
                if fi in finished:
                    continue
                if future is None:
                    finished.add(fi)
                    yield from _in_order(files, fi, cfg, batch_windows)
                    continue
                try:
                    crops, valid = future.result()
                except Exception:  # a header that lies, a decode error: the in-order decoder takes over the
                    finished.add(fi)  # rest of this file and reports its error exactly as the background mode
                    yield from _in_order(files, fi, cfg, batch_windows, handed.get(fi, 0))
                    continue
                yield "chunk", fi, first, (crops, valid)
                handed[fi] = first + count
                if first + count == window_count(n, cfg):
                    finished.add(fi)
                    yield "done", fi, first + count, None


class lockstep_windows:
    """produce_windows' items, each batch decoded by `threads` threads in its own phase (module docstring)."""

    def __init__(self, files: list, cfg, batch_windows: int, threads: int = 0):
        self.generator = _lockstep(files, cfg, batch_windows, threads or os.cpu_count() or 1)

    def __iter__(self):
        return self.generator

    def close(self) -> None:
        self.generator.close()


def window_stream(files: list, cfg, batch_windows: int, device, mode: str = "auto") -> object:
    """The stream that suits the device: lockstep on a CPU with fewer than 4 cores, else background (mode
    auto); mode lockstep or background chooses."""
    if mode not in ("auto", "lockstep", "background"):
        raise ValueError(f"decode={mode!r}: use auto, lockstep or background")
    if mode == "auto":
        on_cpu = getattr(device, "type", str(device)) == "cpu"
        mode = "lockstep" if on_cpu and (os.cpu_count() or 1) < 4 else "background"
    if mode == "lockstep":
        return lockstep_windows(files, cfg, batch_windows)
    return Prefetch(produce_windows(files, cfg, batch_windows))


__all__ = ["produce_windows", "Prefetch", "take_rows", "read_windows", "lockstep_windows", "window_stream"]
