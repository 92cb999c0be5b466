"""In-process or process-pool execution with a bounded number of batches in flight."""

from __future__ import annotations

from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, Iterator

from pipeline.dedup.fold import band_buckets

IN_FLIGHT_PER_WORKER = 2  # enough to keep workers busy; more would only hold results in memory


class LocalExecutor:
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
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        pending: deque = deque()
        for batch in batches:
            pending.append(self._pool.submit(fn, batch, *args))
            if len(pending) >= self.workers * IN_FLIGHT_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    band_buckets = staticmethod(band_buckets)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
