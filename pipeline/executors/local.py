"""In-process or process-pool execution with a bounded number of batches in flight."""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, Iterator

from pipeline.dedup.fold import band_buckets

IN_FLIGHT_PER_WORKER = 2  # enough to keep workers busy; more would only hold results in memory


def exit_with_parent(parent_pid: int) -> None:
    """Pool worker set-up: a worker whose run was killed exits instead of waiting for work forever."""
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


class LocalExecutor:
    shares_disk = True  # the workers see the run's output folder

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable, batches: Iterable, *args) -> Iterator:
        """fn(batch, *args) for every batch, results in batch order."""
        if self.workers == 1:
            for batch in batches:
                yield fn(batch, *args)
            return
        if self._pool is None:
            self._pool = self._start_pool()
        pending: deque = deque()
        for batch in batches:
            pending.append(self._pool.submit(fn, batch, *args))
            if len(pending) >= self.workers * IN_FLIGHT_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def _start_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(max_workers=self.workers, initializer=exit_with_parent, initargs=(os.getpid(),))
        # Forked workers share this process's memory until they write to it, and a garbage collection in a
        # worker writes to every object it visits: this process's objects (after the fold of a million
        # records, lists and tuples of their ids and paths) are kept out of the workers' collections.
        # The pool forks all its workers for its first task.
        gc.freeze()
        try:
            pool.submit(int).result()
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
        finally:
            gc.unfreeze()
        return pool

    band_buckets = staticmethod(band_buckets)

    def release_workers(self) -> None:
        """The per-document stages are done: the worker processes (a few hundred MB each) go before the
        fold and the writes, which run here."""
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
