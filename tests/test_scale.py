"""Scale-out: the process pool and a Dask cluster give the same outputs as one local process."""

import json
import os
import time
import re
import shutil

import pyarrow.compute as pc
import pytest

from tests.conftest import DATA, RAW, run_cli

OUTPUTS = ("records.csv", "duplicates.csv", "removed.csv", "errors.csv")


def _corpus(tmp_path):
    """Samples, the text dev set and spun copies: enough files for several batches and some folding."""
    from pipeline.bench.spun import write_corpus

    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "devset" / "dumps", corpus / "devset")
    shutil.copytree(RAW, corpus / "raw")
    write_corpus(corpus / "spun", seed=5)
    return corpus


def _outputs(out):
    run_id = (out / "latest_run").read_text().strip()
    return {name: (out / name).read_text(encoding="utf-8-sig").replace(run_id, "RUN") for name in OUTPUTS}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("scale")
    corpus = _corpus(tmp_path)
    run_cli("run", corpus, "--out", tmp_path / "one", "--workers", "1")
    return tmp_path, corpus, _outputs(tmp_path / "one")


def test_two_workers_write_what_one_writes(local_run):
    tmp_path, corpus, expected = local_run
    run_cli("run", corpus, "--out", tmp_path / "two", "--workers", "2")
    assert _outputs(tmp_path / "two") == expected
    assert not list((tmp_path / "two").glob(".spool-*")), "what the passes keep for one another is removed"
    assert "canonical_record_id" in expected["duplicates.csv"] and expected["duplicates.csv"].count("\n") > 50


def test_dask_cluster_writes_what_the_local_executor_writes(local_run):
    distributed = pytest.importorskip("distributed")
    tmp_path, corpus, expected = local_run
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = run_cli("run", corpus, "--out", tmp_path / "dask", "--executor", "dask",
                         "--scheduler", cluster.scheduler_address)
    assert result.returncode == 0, result.stderr
    assert _outputs(tmp_path / "dask") == expected
    run_id = (tmp_path / "dask" / "latest_run").read_text().strip()
    assert json.loads((tmp_path / "dask" / "runs" / run_id / "run.json").read_text())["executor"] == "dask"


def test_unreachable_scheduler_is_a_usage_error(tmp_path):
    result = run_cli("run", RAW, "--out", tmp_path / "out", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9",
                     check=False)
    assert result.returncode == 2 and "Dask scheduler" in result.stderr and "Traceback" not in result.stderr


def test_bench_command_prints_stage_figures_and_the_baseline_ratio(tmp_path):
    result = run_cli("bench", "--docs", 300, "--baseline-docs", 20, "--workers", 2, "--dir", tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    for stage in ("select_inputs", "learn_templates", "clean_sign", "fold", "build_records", "write"):
        assert re.search(rf"^{stage}\s+[\d.]+\s+[\d,]+\s+[\d,]+$", out, re.M), stage
    precision, recall = map(float, re.search(r"precision (\d\.\d+), recall (\d\.\d+)", out).groups())
    assert precision >= 0.95 and recall >= 0.9
    assert re.search(r"incremental run adding 3 new docs", out)
    assert re.search(r"^  stages: select_inputs [\d.]+ s, .*, write [\d.]+ s$", out, re.M)
    assert re.search(r"pipeline / baseline: [\d.]+x", out)
    assert len(list((tmp_path / "corpus").rglob("*.html"))) > 10
    assert re.search(r"document size: median \d+\.\d KB", out)


def test_a_longer_corpus_has_the_same_copies_of_longer_articles(tmp_path):
    from pipeline.bench.corpus import CorpusSpec
    from pipeline.bench.harness import generate

    short = generate(tmp_path / "short", CorpusSpec(400))
    long = generate(tmp_path / "long", CorpusSpec(400, length=2.5))
    assert short.column("source") == long.column("source")
    median = {name: pc.approximate_median(table.column("bytes")).as_py() for name, table in [("short", short), ("long", long)]}
    assert 1.6 < median["long"] / median["short"] < 2.6


def test_a_context_that_has_cleaned_pages_still_travels_to_workers():
    """Dask workers pass the shared context to one another after using it: its caches must not travel."""
    import pickle

    from pipeline.config import Config
    from pipeline.run import Run
    from pipeline.stages import StageContext, process_batch

    run = Run(Config(input_dir=str(RAW)))
    context = StageContext(str(RAW), run.rules, run.builder, None, "run", frozenset())
    files = sorted(path.name for path in RAW.iterdir())
    expected = process_batch(files, context).records
    travelled = pickle.loads(pickle.dumps(context))
    assert process_batch(files, travelled).records == expected


_LOADED: dict[str, int] = {}


def _load_table() -> None:
    time.sleep(0.3)  # longer than forking a pool: a fork that does not wait would miss the table
    _LOADED["table"] = os.getpid()


def _failing_load() -> None:
    raise OSError("no such table")


def _table_of_worker(batch) -> tuple[int | None, int]:
    return _LOADED.get("table"), os.getpid()


def test_workers_forked_after_a_preload_share_what_it_loaded():
    """The records pass's tables are loaded once, in the run's process, while the cleaning pass runs."""
    from pipeline.executors.local import LocalExecutor

    executor = LocalExecutor(2)
    try:
        executor.preload(_load_table)
        loaded_by, worker = next(executor.map(_table_of_worker, [[]]))
        assert loaded_by == os.getpid() != worker  # loaded here, seen there
        executor.close()
        executor.preload(_failing_load)  # left to the workers, which would report it
        assert list(executor.map(_table_of_worker, [[], []]))
    finally:
        executor.close()
        _LOADED.clear()
