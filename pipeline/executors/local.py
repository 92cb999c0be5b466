"""In-process or process-pool execution with a bounded number of batches in flight."""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import pickle
import threading
import time
from collections import deque
from contextlib import suppress
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


# In a pool worker: the shared arguments of the map whose tasks it last ran, as (map number, arguments).
# Maps are numbered across the process, so no two executors' maps share a number.
_unpacked_args: tuple[int, tuple] = (-1, ())
_map_numbers = itertools.count()


def call_with_shared(fn: Callable, batch, map_number: int, shared: bytes):
    """fn(batch, *shared arguments), unpickling them only for a worker's first task of a map.

    The run's context carries its template keys (25,000 at 100k documents): unpickled for every task,
    it took 5% of the pipeline's time."""
    global _unpacked_args
    if _unpacked_args[0] != map_number:
        _unpacked_args = (map_number, pickle.loads(shared))
    return fn(batch, *_unpacked_args[1])


class LocalExecutor:
    shares_disk = True  # the workers see the run's output folder

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None
        self._preloading: threading.Thread | None = None

    def preload(self, load: Callable[[], object]) -> None:
        """Runs load here, in a thread, while the workers work: the pool forked next shares
        what it loaded (the records pass's tables: 0.1 s and 50 MB in each worker) instead of every worker
        loading it again. A load that fails is left to the workers, which report it."""
        # only forked workers share this process's memory
        if self.workers == 1 or self._preloading is not None or multiprocessing.get_start_method() != "fork":
            return

        def quietly() -> None:
            with suppress(Exception):
                load()

        self._preloading = threading.Thread(target=quietly, daemon=True)
        self._preloading.start()

    def map(self, fn: Callable, batches: Iterable, *args) -> Iterator:
        """fn(batch, *args) for every batch, results in batch order."""
        if self.workers == 1:
            for batch in batches:
                yield fn(batch, *args)
            return
        if self._pool is None:
            self._pool = self._start_pool()
        # pickled once here: a task carries them as bytes, which pickle again as a plain copy
        map_number, shared = next(_map_numbers), pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)
        pending: deque = deque()
        for batch in batches:
            pending.append(self._pool.submit(call_with_shared, fn, batch, map_number, shared))
            if len(pending) >= self.workers * IN_FLIGHT_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def _start_pool(self) -> ProcessPoolExecutor:
        self._await_preload()  # a fork amid the load would copy the locks it holds
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

    def _await_preload(self) -> None:
        if self._preloading is not None:
            self._preloading.join()
            self._preloading = None

    def close(self) -> None:
        self._await_preload()  # a failed run's, before a caller starts another run
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
