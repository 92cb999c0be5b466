"""Where the per-document stages and the LSH grouping run: this machine, or a Dask cluster."""

from pipeline.executors.local import LocalExecutor


def make_executor(kind: str, workers: int, scheduler: str = ""):
    if kind == "dask":
        from pipeline.executors.dask import DaskExecutor

        return DaskExecutor(scheduler)
    return LocalExecutor(workers)


__all__ = ["LocalExecutor", "make_executor"]
