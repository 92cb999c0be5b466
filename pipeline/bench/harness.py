"""`pipeline bench`: throughput and memory of the pipeline against the obvious implementation.

One process, one corpus: the synthetic crawl is generated, the pipeline runs on it (full, then
incrementally with 1% new documents), and the naive baseline — per-shingle `MinHash.update`,
`jieba.analyse.extract_tags`, an in-memory `MinHashLSH` — runs on a slice of the same files, so the
ratios compare like with like on the same machine at the same moment.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa

from pipeline.bench.corpus import WRITTEN_SCHEMA, CorpusSpec, write_corpus
from pipeline.bench.spun import pairwise_scores
from pipeline.config import Config
from pipeline.run import Run, RunSummary

GENERATE_CHUNK = 2_000


@dataclass
class StageMeter:
    """Samples the memory of this process and its workers, keeping the peak per stage.

    Proportional set size: forked workers share pages with this process, which their resident sizes
    would each count again. Each sample reads every process's memory map from /proc, about a
    millisecond apiece: at twenty samples a second that took 5-20% of an incremental run's time."""

    interval: float = 0.2
    peaks: dict[str, int] = field(default_factory=dict)
    stage: str = "start"

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "StageMeter":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def set_stage(self, name: str) -> None:
        self.stage = name or "done"

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(self.interval):
            try:
                used = sum(process.memory_full_info().pss for process in (me, *me.children(recursive=True)))
            except psutil.Error:
                continue
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0), used)


def generate(corpus: Path, spec: CorpusSpec, start: int = 0, workers: int = 1) -> pa.Table:
    """Writes documents start..spec.docs-1; returns per document its path, the unique article it carries and
    its size.

    As Arrow columns: the benchmark measures the memory of its own process, and a dict of a million
    paths would add 200 MB to the pipeline's figure."""
    chunks = [(corpus, replace(spec, docs=min(lo + GENERATE_CHUNK, spec.docs)), lo)
              for lo in range(start, spec.docs, GENERATE_CHUNK)]
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        parts = list(pool.map(_generate_chunk, chunks))
    return pa.concat_tables(parts).combine_chunks() if parts else WRITTEN_SCHEMA.empty_table()


def _generate_chunk(args) -> pa.Table:
    corpus, spec, start = args
    return write_corpus(corpus, spec, start=start)


def run_pipeline(corpus: Path, out: Path, workers: int, executor: str = "local", scheduler: str = "",
                 metered: bool = True):
    """Runs the pipeline: its summary, seconds and (metered) peak memory per stage."""
    config = Config(input_dir=str(corpus), out_dir=str(out), workers=workers, executor=executor, scheduler=scheduler)
    meter = StageMeter()
    with meter if metered else nullcontext():
        started = time.perf_counter()
        summary = Run(config, on_stage=meter.set_stage if metered else None).execute()
        seconds = time.perf_counter() - started
    return summary, seconds, meter.peaks


def naive_baseline(corpus: Path, paths: list[str]) -> tuple[float, dict[str, float]]:
    """The obvious implementation on the same files: docs/s and seconds per step, in this process."""
    import jieba.analyse
    from datasketch import MinHash, MinHashLSH

    from pipeline.clean import clean_page, load_rules
    from pipeline.model import Page
    from pipeline.readers import read_source

    rules = load_rules()
    lsh = MinHashLSH(threshold=0.3, num_perm=64)
    jieba.analyse.extract_tags("预热分词词典", topK=1)
    steps = dict.fromkeys(("read+clean", "extract_tags", "minhash", "lsh"), 0.0)
    started = time.process_time()
    for n, rel in enumerate(paths):
        t0 = time.process_time()
        pages = [p for p in read_source(corpus / rel, rel, corpus) if isinstance(p, Page)]
        bodies = ["\n".join(a.body for a in clean_page(p, rules).articles) for p in pages]
        t1 = time.process_time()
        for body in bodies:
            jieba.analyse.extract_tags(body, topK=8)
        t2 = time.process_time()
        hashes = []
        for body in bodies:
            m = MinHash(num_perm=64)
            for i in range(len(body) - 2):
                m.update(body[i:i + 3].encode("utf-8"))
            hashes.append(m)
        t3 = time.process_time()
        for k, m in enumerate(hashes):
            lsh.query(m)
            lsh.insert(f"{n}:{k}", m)
        t4 = time.process_time()
        for name, seconds in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            steps[name] += seconds
    return len(paths) / (time.process_time() - started), steps


def dedup_scores(out: Path, truth: pa.Table) -> tuple[float, float]:
    import pandas as pd

    duplicates = pd.read_parquet(out / "duplicates.parquet", columns=["source_path", "canonical_source_path"])
    predicted = dict(zip(duplicates["source_path"], duplicates["canonical_source_path"]))
    paths = truth.column("path").to_pylist()
    return pairwise_scores(dict(zip(paths, map(str, truth.column("source").to_pylist()))),
                           {k: predicted.get(k, k) for k in paths})


def bench(work_dir: Path, docs: int, html_share: float, workers: int, baseline_docs: int, length: float = 1.0,
          incremental_share: float = 0.01, echo=print) -> dict:
    """Runs the whole benchmark, printing as it goes; returns the figures."""
    spec = CorpusSpec(docs, html_share=html_share, length=length)
    corpus, out = work_dir / "corpus", work_dir / "out"
    echo(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; corpus {docs:,} docs "
         f"({html_share:.0%} HTML, {spec.copy_share:.0%} spun copies, article length x{length:g}) in {corpus}")
    started = time.perf_counter()
    truth = generate(corpus, spec, workers=workers)
    sizes = np.percentile(truth.column("bytes").to_numpy(), [10, 50, 90]) / 1000
    echo(f"generated in {time.perf_counter() - started:.1f} s; document size: median {sizes[1]:.1f} KB "
         f"(10% below {sizes[0]:.1f} KB, 10% above {sizes[2]:.1f} KB)")

    summary, seconds, peaks = run_pipeline(corpus, out, workers)
    figures = {"docs": summary.pages, "seconds": seconds, "docs_per_s": summary.pages / seconds,
               "peak_memory_mb": max(peaks.values(), default=0) / 2**20}
    echo(f"\npipeline, full run, --workers {workers}: {summary.pages:,} docs in {seconds:.1f} s = "
         f"{figures['docs_per_s']:,.0f} docs/s end to end; peak memory {figures['peak_memory_mb']:,.0f} MB "
         f"(proportional set size of this process + workers: shared pages counted once)")
    _stage_table(summary, peaks, echo)
    precision, recall = dedup_scores(out, truth)
    echo(f"folding on the corpus's known copies: pairwise precision {precision:.3f}, recall {recall:.3f}; "
         f"{summary.records_new:,} records, {summary.duplicates_new:,} copies folded")

    grown = replace(spec, docs=docs + max(1, int(docs * incremental_share)))
    generate(corpus, grown, start=docs, workers=1)
    more, more_seconds, _ = run_pipeline(corpus, out, workers, metered=False)  # its memory is not reported
    figures["incremental_share_of_full"] = more_seconds / seconds
    echo(f"\nincremental run adding {more.inputs_processed:,} new docs ({incremental_share:.0%}): {more_seconds:.2f} s "
         f"= {figures['incremental_share_of_full']:.1%} of the full run")
    echo("  stages: " + ", ".join(f"{stage} {stage_seconds:.2f} s" for stage, stage_seconds in more.stage_seconds.items()))

    sample = sorted(truth.column("path").to_pylist())[:baseline_docs]
    rate, steps = naive_baseline(corpus, sample)
    figures["baseline_docs_per_s"] = rate
    figures["ratio"] = figures["docs_per_s"] / rate
    echo(f"\nnaive baseline on {len(sample):,} of the same docs, one process: {rate:,.1f} docs/s "
         f"({', '.join(f'{k} {v / len(sample) * 1000:.2f} ms' for k, v in steps.items())} per doc)")
    echo(f"pipeline / baseline: {figures['ratio']:.1f}x end to end")
    return figures


def _stage_table(summary: RunSummary, peaks: dict[str, int], echo) -> None:
    echo(f"{'stage':<18}{'seconds':>10}{'docs/s':>12}{'peak mem MB':>14}")
    for stage, seconds in summary.stage_seconds.items():
        rate = summary.pages / seconds if seconds else float("inf")
        echo(f"{stage:<18}{seconds:>10.2f}{rate:>12,.0f}{peaks.get(stage, 0) / 2**20:>14,.0f}")
