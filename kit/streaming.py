"""Streaming soundscape windows of many files through a background decoding thread (used by kit.inference).

The decoding thread (soundfile and numpy release the GIL for most of their work) fills a bounded queue while
the model runs, so the end-to-end rate stays close to the model-only rate and memory holds a few batches.
"""
from __future__ import annotations

import queue
import threading

import numpy as np

from kit.audio import iter_windows

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


__all__ = ["produce_windows", "Prefetch", "take_rows"]
