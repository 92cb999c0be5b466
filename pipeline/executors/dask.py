"""Execution on an existing Dask cluster: per-document stages as tasks, LSH banding as a shuffle.

Workers read the input files themselves, so every worker must see the input folder at the same
path (a shared or network file system). The band table becomes a Dask DataFrame shuffled on the
band key; each partition then yields the buckets of the keys it holds, exactly as the local
grouping does for the whole table, so the fold decides the same clusters.
"""

from __future__ import annotations

from collections import deque
from itertools import chain
from typing import Callable, Iterable, Iterator

import pandas as pd

import numpy as np

from pipeline.dedup.fold import Buckets, shared_bands

IN_FLIGHT_PER_THREAD = 2
ROWS_PER_PARTITION = 1_000_000


class DaskError(RuntimeError):
    """The cluster could not be reached or used."""


class DaskExecutor:
    shares_disk = False  # workers may run on other machines

    def __init__(self, scheduler: str):
        if not scheduler:
            raise DaskError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
        try:
            from distributed import Client
        except ImportError:
            raise DaskError("the Dask executor needs the dask extra: pip install 'pipeline[dask]'") from None
        try:
            self.client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as err:
            raise DaskError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
        self.slots = max(1, sum(self.client.nthreads().values()))

    def map(self, fn: Callable, batches: Iterable, *args) -> Iterator:
        shared = [self.client.scatter(arg, broadcast=True) for arg in args]
        pending: deque = deque()
        for batch in batches:
            pending.append(self.client.submit(fn, batch, *shared, pure=False))
            if len(pending) >= self.slots * IN_FLIGHT_PER_THREAD:
                yield _take(pending.popleft())
        while pending:
            yield _take(pending.popleft())

    def band_buckets(self, keys: np.ndarray, rows: np.ndarray) -> list[Buckets]:
        import dask.dataframe as dd

        # One key column: the band number above the band's 32-bit key, so equal keys of two bands stay apart.
        bands = np.arange(keys.shape[1], dtype=np.int64)
        tagged = (bands << 32) | (keys.astype(np.int64) & 0xFFFFFFFF)
        partitions = max(self.slots, tagged.size // ROWS_PER_PARTITION + 1)
        table = pd.DataFrame({"key": tagged.ravel(), "row": np.repeat(rows.astype(np.int64), keys.shape[1])})
        frame = dd.from_pandas(table, npartitions=partitions, sort=False)
        buckets = frame.shuffle(on="key", npartitions=partitions).map_partitions(_partition_buckets, meta=_BUCKETS_META)
        found = set(self.client.compute(buckets).result()["rows"])  # a bucket found in several bands once
        members = np.fromiter(chain.from_iterable(found), np.int64)
        return [(members, np.fromiter(map(len, found), np.int64, len(found)))]

    def preload(self, load: Callable[[], object]) -> None:
        """Nothing loaded here reaches the cluster's workers, which load what they need themselves."""

    def release_workers(self) -> None:
        """The cluster's workers stay: the banding shuffle runs on them."""

    def close(self) -> None:
        self.client.close()


_BUCKETS_META = pd.DataFrame({"rows": pd.Series([], dtype=object)})


def _partition_buckets(frame: pd.DataFrame) -> pd.DataFrame:
    """A shuffled partition holds every row of its keys, so its buckets are whole buckets."""
    members, sizes = shared_bands(frame["key"].to_numpy(), frame["row"].to_numpy())
    buckets = [tuple(bucket.tolist()) for bucket in np.split(members, np.cumsum(sizes)[:-1])] if len(sizes) else []
    return pd.DataFrame({"rows": pd.Series(buckets, dtype=object)})


def _take(future):
    result = future.result()
    future.release()
    return result
