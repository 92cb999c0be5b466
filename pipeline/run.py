"""One run of the pipeline: discover → learn templates → clean, build records, sign → fold → write.

The per-document stages (`pipeline.stages`) run on batches of files through an executor, locally
or on a Dask cluster; results stream into spool files, so memory holds signatures and counts, never
every page. The fold and the writes happen once, in this process.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import os
import shutil
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from itertools import chain
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from pipeline.clean import load_rules
from pipeline.clean.templates import TemplateCounter
from pipeline.config import Config, ConfigError
from pipeline.dedup.fold import FoldResult, Signatures, SignatureSpool, band_key_matrix, band_layout, fold, sign_again
from pipeline.dedup.signature import Signer
from pipeline.dedup.store import InputFingerprints, StateStore
from pipeline.executors import make_executor
from pipeline.outputs import DUPLICATE_SCHEMA, ERROR_SCHEMA, RECORD_SCHEMA, REMOVED_SCHEMA
from pipeline.readers import content_hash, discover, input_of, source_name, unreadable
from pipeline.records.build import RecordBuilder
from pipeline.records.extract import load_tables, load_taxonomy
from pipeline.report import write_report
from pipeline.stages import Batch, BatchResult, StageContext, build_batch, count_template_lines, process_batch
from pipeline.writers.atomic import publish_same_file, remove_stale_temporaries, same_file, write_text
from pipeline.writers.csv_rows import index_path
from pipeline.writers.tables import (ArrowSpool, CsvSink, JsonlSink, ParquetSink, read_parquet_batches, read_spool_batches,
                                     write_csv)

log = logging.getLogger("pipeline")
MAX_BATCH_FILES = 256
MIN_BATCH_FILES = 8
RUN_START = ".run-start"  # folder of the cumulative files as they were when the latest run started
RUN_START_FILES = ("records.parquet", "duplicates.parquet")  # those the next run's outputs are made from
# and those it copies unchanged rows from: worth keeping only as links, a copy would cost what they save
RUN_START_LINKS = ("records.csv", index_path(Path("records.csv")).name)
SMALL_RUN_FILES = 64
SLOWEST_KEPT = 10
WRITES_QUEUED = 2  # batches waiting per output file in the write stage
# Records per batch in the write stage. A batch's buffers, freed, serve the next; bigger batches (8,192)
# kept taking fresh pages from the system, which cost 0.4 s of system time rewriting 75,000 records.
WRITE_BATCH_ROWS = 2048
EXIT_OK, EXIT_FILE_ERRORS, EXIT_LOCKED = 0, 1, 3  # 2, a usage or config error, is click's own


class LockHeld(RuntimeError):
    """Another run holds the output folder's lock."""


@dataclass
class RunSummary:
    run_id: str
    started_at: str
    finished_at: str = ""
    input_dir: str = ""
    out_dir: str = ""
    config_hash: str = ""
    executor: str = "local"
    inputs_seen: int = 0
    inputs_processed: int = 0
    inputs_unchanged: int = 0
    pages: int = 0
    records_new: int = 0
    duplicates_new: int = 0
    records_total: int = 0
    removed_lines: int = 0
    removed_by_rule: dict[str, int] = field(default_factory=dict)
    removal_examples: dict[str, str] = field(default_factory=dict)  # the first line each rule removed
    removed_share_histogram: list[int] = field(default_factory=lambda: [0] * 10)  # pages per 10% of lines removed
    errors: list[dict] = field(default_factory=list)
    no_article: list[str] = field(default_factory=list)
    slowest: list[dict] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    exit_code: int = 0


def new_run_id(store: StateStore) -> str:
    """Sortable by time; a killed run's id is taken over so that the rerun writes the same outputs."""
    return store.unfinished_run() or datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def batches_of(files: list[str], workers: int) -> list[list[str]]:
    """Batches big enough to amortize shipping the context, small enough to spread over the workers."""
    size = max(MIN_BATCH_FILES, min(MAX_BATCH_FILES, math.ceil(len(files) / (4 * max(1, workers)))))
    return [files[i:i + size] for i in range(0, len(files), size)]


class Run:
    def __init__(self, config: Config, full: bool = False, progress=None, on_stage=None):
        self.config = config
        self.full = full
        self.progress = progress
        self.on_stage = on_stage
        self.input_dir = Path(config.input_dir)
        self.out_dir = Path(config.out_dir)
        if not self.input_dir.is_dir():
            raise ConfigError(f"input folder {self.input_dir} does not exist or is not a folder")
        self.rules = load_rules(list(config.rules))
        self.builder = RecordBuilder(load_taxonomy(config.taxonomy), config.keyword_count)
        self._stage_name: str | None = None
        self._stage_started = 0.0

    def execute(self) -> RunSummary:
        # Where pyarrow was imported before this package chose jemalloc for all of Arrow (see __init__), it
        # is at least the pool of the buffers asked for here.
        with suppress(NotImplementedError):  # a pyarrow built without jemalloc keeps its default
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        self.out_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.out_dir / ".pipeline.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise LockHeld(f"another run holds {self.out_dir / '.pipeline.lock'}; try again when it has finished") from None
        try:
            return self._execute()
        finally:
            lock.release()

    def _execute(self) -> RunSummary:
        for folder in (self.out_dir, *(self.out_dir / "runs").glob("*/")):
            remove_stale_temporaries(folder)
        for spooled in (*self.out_dir.glob(".spool-*/"), *self.out_dir.glob(".signatures-*/")):  # a killed run's
            shutil.rmtree(spooled, ignore_errors=True)
        for spooled in self.out_dir.glob(".records-*.arrow"):
            spooled.unlink(missing_ok=True)
        store = StateStore(self.config.state_file)
        dedup = self.config.dedup if self.config.dedup_enabled else None
        executor = run_id = None
        try:
            if dedup is not None:
                store.check_settings(Signer(dedup.ngram, dedup.num_perm, dedup.seed).settings()
                                     | {"threshold": str(dedup.threshold), "simplified": str(dedup.simplified)},
                                     lambda: self._sign_again(store, dedup))
            run_id = new_run_id(store)
            takes_over = run_id == store.unfinished_run()
            if not takes_over:
                self._keep_run_start()
            summary = RunSummary(run_id, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                 input_dir=str(self.input_dir.resolve()), out_dir=str(self.out_dir),
                                 config_hash=self.config.content_hash(), executor=self.config.executor)
            store.start_run(run_id, summary.started_at, summary.config_hash)
            todo, fingerprints, known = self._select_inputs(store, summary)
            log.info("%d input(s) to process, %d unchanged", len(todo), summary.inputs_unchanged)
            # A night with a few new files is not worth starting worker processes (each loads dictionaries).
            workers = self.config.worker_count if len(todo) > SMALL_RUN_FILES else 1
            executor = make_executor(self.config.executor, workers, self.config.scheduler)
            batches = batches_of(todo, workers)
            context = self._learn_templates(batches, executor, run_id, dedup, summary)
            records_spool = self.out_dir / f".records-{run_id}.arrow"
            signed = self._process(batches, executor, context, summary, records_spool, fingerprints)
            executor.release_workers()
            # The run's changes to the state store are one transaction, committed after every output file
            # is written: a run killed earlier leaves the store as it was, and the rerun, taking over its
            # id, redoes the same inputs and writes what this run would have written.
            with store.transaction():
                self._stage("fold", summary)
                # Only inputs an earlier run saw have records, canonicals and copies to replace; a killed
                # run taken over may have written outputs of inputs the store does not know yet.
                reprocessed = {name for name in map(source_name, todo) if takes_over or name in known}
                if dedup is not None:
                    if reprocessed:
                        bands, rows = context.band_layout
                        store.forget_sources(sorted(reprocessed), lambda signatures: band_key_matrix(signatures, bands, rows))
                    folded = fold(signed, dedup, store, group=executor.band_buckets)
                else:
                    folded = FoldResult.all_canonical(len(signed))
                # A killed run taken over may have replaced some of the cumulative files and not the others.
                rewrite = bool(todo) or takes_over
                self._finish(signed, folded, records_spool, reprocessed, batches, executor, context, fingerprints,
                             store, summary, rewrite)
            shutil.rmtree(self.out_dir / RUN_START, ignore_errors=True)  # no run left to take over
        finally:
            if executor is not None:
                executor.close()
            store.close()
            if run_id is not None:
                shutil.rmtree(self.out_dir / f".spool-{run_id}", ignore_errors=True)
                shutil.rmtree(self.out_dir / f".signatures-{run_id}", ignore_errors=True)
        return summary

    def _sign_again(self, store: StateStore, dedup) -> None:
        started = time.perf_counter()
        # the records as they were when the store was last committed: a killed run may have replaced them
        # (its snapshot is kept), and a run killed after its commit may have left an older snapshot behind
        records = self._at_run_start("records.parquet") if store.unfinished_run() else self.out_dir / "records.parquet"
        count = sign_again(store, records, dedup)
        log.warning("state store signed again by this version's hash scheme: %d canonical record(s) in %.1f s",
                    count, time.perf_counter() - started)

    def _stage(self, name: str, summary: RunSummary) -> None:
        """Starts timing a stage (the previous one ends) and tells an observer, e.g. the benchmark."""
        now = time.perf_counter()
        if self._stage_name is not None:
            summary.stage_seconds[self._stage_name] = round(now - self._stage_started, 3)
        self._stage_name, self._stage_started = name, now
        if self.on_stage is not None:
            self.on_stage(name)

    def _select_inputs(self, store: StateStore, summary: RunSummary) -> tuple[list[str], InputFingerprints, set[str]]:
        """The inputs to process (relative paths), the fingerprints to remember of them, and the names of
        those of them an earlier run already processed."""
        self._stage("select_inputs", summary)
        last_config = store.db.execute("SELECT config_hash FROM runs WHERE status = 'ok' ORDER BY run_id DESC LIMIT 1").fetchone()
        config_changed = last_config is None or last_config[0] != summary.config_hash
        todo, fingerprints, known = [], InputFingerprints(), set()
        unchanged: dict[str, str] = {}  # source name → path relative to the input folder

        def refuse(name: str, reason: str) -> None:
            summary.errors.append({"source_path": name, "reason": reason})
            log.warning("%s: %s", name, reason)

        fresh = self.full or config_changed
        for found, names, known_fingerprints in store.known_inputs(discover(self.input_dir), source_name):
            summary.inputs_seen += len(names)
            for (path, rel, reason), name in zip(found, names):
                if reason is not None:  # reported on every run, as long as it is there
                    refuse(name, reason)
                    continue
                previous = known_fingerprints.get(name)
                try:
                    stat = os.stat(path)
                    fingerprint = (stat.st_size, stat.st_mtime_ns)
                    if previous is not None and not fresh:
                        if previous == fingerprint:
                            unchanged[name] = rel
                            continue
                        # Only a known input with a new size or time is read here: the workers hash the others.
                        digest, last_run = store.last_read(name)
                        if content_hash(path) == digest:
                            # Touched, not changed: its records and removed lines stay those of the run that read it.
                            fingerprints.touched[name] = (*fingerprint, digest, last_run)
                            unchanged[name] = rel
                            continue
                except OSError as err:
                    refuse(name, unreadable(err))
                    continue
                if previous is not None:
                    known.add(name)
                fingerprints.add(*fingerprint)
                todo.append(rel)
        # A copy folded into a changed input's record would point at a record that is gone: fold it again.
        for name in sorted(store.copies_of({source_name(rel) for rel in todo}) & unchanged.keys()):
            rel = unchanged.pop(name)
            fingerprints.touched.pop(name, None)
            try:
                stat = os.stat(self.input_dir / rel)
            except OSError as err:
                refuse(name, unreadable(err))
                continue
            known.add(name)
            fingerprints.add(stat.st_size, stat.st_mtime_ns)
            todo.append(rel)
        summary.inputs_unchanged = len(unchanged)
        summary.inputs_processed = len(todo)
        return todo, fingerprints, known

    def _learn_templates(self, batches, executor, run_id: str, dedup, summary: RunSummary) -> StageContext:
        # Template evidence needs the whole batch of inputs: a first pass counts short-line keys, and
        # where the workers share this machine's disk, leaves the pages it read for the second.
        self._stage("learn_templates", summary)
        spool = None
        if executor.shares_disk:
            spool = self.out_dir / f".spool-{run_id}"
            spool.mkdir(exist_ok=True)
        counter = TemplateCounter()
        for keys in executor.map(count_template_lines, batches, str(self.input_dir), spool and str(spool)):
            counter.add(keys)
        return StageContext(str(self.input_dir), self.rules, self.builder, dedup, run_id,
                            counter.template_keys(self.config.template_min_pages),
                            band_layout(dedup) if dedup is not None else (0, 0), spool and str(spool))

    def _process(self, batches, executor, context: StageContext, summary: RunSummary, records_spool: Path,
                 fingerprints: InputFingerprints) -> Signatures:
        self._stage("clean_sign", summary)
        run_dir = self.out_dir / "runs" / context.run_id
        signatures = SignatureSpool(self.out_dir / f".signatures-{context.run_id}")
        slowest: list[tuple[float, str]] = []
        if context.spool is not None:  # the records pass follows, in workers forked after the fold
            executor.preload(load_tables)
        with ExitStack() as stack:
            # Without a spool the workers build every record now; with one, build_batch builds those of
            # the canonicals after the fold (see _build_records).
            records = stack.enter_context(ArrowSpool(records_spool, RECORD_SCHEMA)) if context.spool is None else None
            removed = stack.enter_context(CsvSink(run_dir / "removed.csv", REMOVED_SCHEMA))
            position = 0  # of the batch's first file among the inputs to process
            for result in executor.map(process_batch, batches, context):
                for offset, digest in enumerate(result.digests):
                    if digest is not None:
                        fingerprints.set_digest(position + offset, digest)
                position += len(result.digests)
                if records is not None:
                    records.write(result.records)
                removed.write(result.removed)
                signatures.append(result.signatures)
                self._account(result, summary, slowest)
        summary.slowest = [{"source_path": path, "seconds": seconds} for seconds, path in sorted(slowest, reverse=True)]
        return signatures.collect()

    def _account(self, result: BatchResult, summary: RunSummary, slowest: list) -> None:
        summary.errors.extend(result.errors)
        for error in result.errors:
            log.warning("%s: %s", error["source_path"], error["reason"])
        summary.no_article.extend(result.no_article)
        summary.removed_lines += result.removed.num_rows
        rules = result.removed.column("rule")
        by_rule = pc.value_counts(rules)
        for rule, count in zip(by_rule.field("values").to_pylist(), by_rule.field("counts").to_pylist()):
            summary.removed_by_rule[rule] = summary.removed_by_rule.get(rule, 0) + count
            if rule not in summary.removal_examples:
                summary.removal_examples[rule] = result.removed.column("text")[pc.index(rules, rule).as_py()].as_py()
        for stats in result.page_stats:
            share = stats["removed"] / stats["lines"] if stats["lines"] else 0.0
            summary.removed_share_histogram[min(9, int(share * 10))] += 1
            heapq.heappush(slowest, (stats["seconds"], stats["source_path"]))
            if len(slowest) > SLOWEST_KEPT:
                heapq.heappop(slowest)
        summary.pages += len(result.page_stats)
        if self.progress is not None:
            self.progress(len(result.page_stats))

    def _finish(self, signed: Signatures, folded: FoldResult, records_spool: Path, reprocessed: set[str],
                batches: list[Batch], executor, context: StageContext, fingerprints: InputFingerprints,
                store: StateStore, summary: RunSummary, rewrite: bool) -> None:
        """Everything after the fold; rewrite: the cumulative records must be written again even if they
        all exist (an input was read, or a killed run is taken over)."""
        run_id = context.run_id
        prior_duplicates = DUPLICATE_SCHEMA.empty_table()
        if self._at_run_start("duplicates.parquet").exists():
            prior_duplicates = pq.read_table(self._at_run_start("duplicates.parquet")).cast(DUPLICATE_SCHEMA)
        regrouped: set[str] = set()
        if reprocessed and prior_duplicates.num_rows:
            dropped = _replaced_rows(prior_duplicates, reprocessed)
            regrouped.update(prior_duplicates.filter(dropped).column("canonical_record_id").to_pylist())
            prior_duplicates = prior_duplicates.filter(pc.invert(dropped))
        duplicates = _duplicates_table(signed, folded, run_id)
        all_duplicates = pa.concat_tables([prior_duplicates, duplicates])
        copy_paths, copy_parts = duplicates.column("source_path").to_pylist(), duplicates.column("part").to_pylist()
        copies = set(zip(copy_paths, copy_parts))
        store.add_copies({(input_of(path), input_of(canonical)) for path, canonical in
                          zip(copy_paths, duplicates.column("canonical_source_path").to_pylist())})
        regrouped.update(duplicates.column("canonical_record_id").to_pylist())
        first_seen = self._earlier_first_seen(reprocessed)
        # Once in the store, the signature values are let go: sorting the band rows and rewriting the
        # records need the memory more.
        new_bands = signed.bands[folded.new_canonicals]
        signed.bands = None
        ids = store.add_canonicals(
            (signed.record_ids[i], signed.source_paths[i], int(signed.parts[i]),
             first_seen.get((signed.record_ids[i], signed.source_paths[i]), run_id), int(signed.char_counts[i]),
             signed.exact_hex(i), signed.matrix[i]) for i in folded.new_canonicals)
        signed.matrix = None
        if context.spool is not None:
            self._build_records(batches, executor, context, copies, records_spool, summary)
        self._stage("write", summary)
        with ThreadPoolExecutor(max_workers=1) as indexer:
            # The band rows go into the store while the records are written: SQLite lets go of the
            # interpreter while it inserts, and the writers while they encode.
            indexed = indexer.submit(store.add_bands, ids, new_bands)
            del new_bands
            if rewrite or not all(path.exists() for path in self._cumulative_records()):
                self._write_records(records_spool, reprocessed, copies, _duplicate_sources(all_duplicates), regrouped,
                                    first_seen, summary, run_id)
            else:  # nothing was read: the records stand as they are, and rewriting them is most of a quiet night
                write_csv(self.out_dir / "runs" / run_id / "records.csv", [], RECORD_SCHEMA)
                summary.records_total = pq.ParquetFile(self.out_dir / "records.parquet").metadata.num_rows
            indexed.result()
        records_spool.unlink(missing_ok=True)
        run_dir = self.out_dir / "runs" / run_id
        summary.duplicates_new = len(duplicates)
        errors = summary.errors + [{"source_path": p, "reason": "no article found"} for p in summary.no_article]
        with ParquetSink(self.out_dir / "duplicates.parquet", DUPLICATE_SCHEMA) as sink:
            sink.write(all_duplicates)
        with CsvSink(self.out_dir / "duplicates.csv", DUPLICATE_SCHEMA) as sink:
            sink.write(all_duplicates)
        with CsvSink(run_dir / "duplicates.csv", DUPLICATE_SCHEMA) as sink:
            sink.write(duplicates)
        for folder in (run_dir, self.out_dir):
            with CsvSink(folder / "errors.csv", ERROR_SCHEMA) as sink:
                sink.write(errors)
        publish_same_file(run_dir / "removed.csv", self.out_dir / "removed.csv")
        store.db.executemany("INSERT OR REPLACE INTO inputs VALUES (?, ?, ?, ?, ?)",
                             fingerprints.rows(map(source_name, chain.from_iterable(batches)), run_id))
        store.finish_run(run_id)
        self._stage("", summary)
        summary.finished_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        summary.exit_code = EXIT_FILE_ERRORS if summary.errors else EXIT_OK
        write_text(run_dir / "run.json", json.dumps(asdict(summary), ensure_ascii=False, indent=2) + "\n")
        write_report(run_dir)
        write_text(self.out_dir / "latest_run", run_id + "\n")

    def _build_records(self, batches: list[Batch], executor, context: StageContext, copies: set[tuple[str, int]],
                       records_spool: Path, summary: RunSummary) -> None:
        """The records of this run's articles that are no copies, into the records spool: the copies' are
        never written, so never built."""
        self._stage("build_records", summary)
        copies_by_input: dict[str, list[tuple[str, int]]] = {}
        for copy in copies:
            copies_by_input.setdefault(input_of(copy[0]), []).append(copy)
        # made as the workers take them: at a million records, a million tuples less at once
        tasks = ((batch, frozenset(chain.from_iterable(copies_by_input.get(source_name(rel), ()) for rel in batch)))
                 for batch in batches)
        with ArrowSpool(records_spool, RECORD_SCHEMA) as records:
            for table in executor.map(build_batch, tasks, context):
                records.write(table)
        executor.release_workers()

    def _keep_run_start(self) -> None:
        """Keeps the earlier records and copies as they are when the run starts (hard links, in RUN_START): a
        rerun taking over a killed run reads them from there, not from files the killed run may have
        replaced, where records of inputs deleted or changed back since would be missing or stay behind."""
        kept, staging = self.out_dir / RUN_START, self.out_dir / f"{RUN_START}.new"
        for folder in (kept, staging):
            shutil.rmtree(folder, ignore_errors=True)
        staging.mkdir()
        for name in RUN_START_FILES:
            if (self.out_dir / name).exists():
                same_file(self.out_dir / name, staging / name)
        for name in RUN_START_LINKS:
            with suppress(OSError):
                os.link(self.out_dir / name, staging / name)
        staging.rename(kept)

    def _at_run_start(self, name: str) -> Path:
        """A cumulative file as it was when the run (or the killed run it takes over) started."""
        kept = self.out_dir / RUN_START
        return kept / name if kept.is_dir() else self.out_dir / name

    def _cumulative_records(self) -> list[Path]:
        return [self.out_dir / "records.parquet", self.out_dir / "records.csv",
                *([self.out_dir / "records.jsonl"] if self.config.jsonl else [])]

    def _earlier_first_seen(self, reprocessed: set[str]) -> dict[tuple[str, str], str]:
        """first_seen_run of the reprocessed inputs' earlier records, by record id and source path: one that
        comes out again keeps it (without dedup, two inputs may hold records with one id)."""
        first_seen: dict[tuple[str, str], str] = {}
        if not reprocessed:
            return first_seen
        for table in read_parquet_batches(self._at_run_start("records.parquet"), columns=["record_id", "source_path",
                                                                                    "first_seen_run"]):
            for record_id, path, run in zip(*(column.to_pylist() for column in table.columns)):
                if input_of(path) in reprocessed:
                    first_seen[record_id, path] = run
        return first_seen

    def _write_records(self, records_spool: Path, reprocessed: set[str], copies: set, sources: dict[str, list[str]],
                       regrouped: set[str], first_seen: dict[tuple[str, str], str], summary: RunSummary,
                       run_id: str) -> None:
        """Cumulative records = earlier records (minus reprocessed inputs) + this run's records that are no
        copies (spooled).

        An earlier record's duplicate_sources and dup_count are looked up again only if it is one of the
        regrouped canonicals (copies were folded into it or taken away this run); a record that comes out
        again keeps its first_seen run. With dedup a record id is written once: the fold takes rows with
        one id for exact copies. Without dedup every input keeps its records, even where answers repeat.
        """
        regrouped_ids = pa.array(sorted(regrouped), pa.string())
        run_csv = self.out_dir / "runs" / run_id / "records.csv"
        written = 0

        def with_copies(table: pa.Table, rows: np.ndarray) -> pa.Table:
            """The table with the copies of the records at rows looked up again."""
            if not len(rows):
                return table
            ids = pc.take(table.column("record_id"), rows).to_pylist()
            dup_sources = [sources.get(record_id, []) for record_id in ids]
            table = _with_rows(table, "duplicate_sources", rows, pa.array(dup_sources, pa.list_(pa.string())))
            return _with_rows(table, "dup_count", rows, pa.array([len(s) for s in dup_sources], pa.int64()))

        with ExitStack() as stack:
            def writer(sink) -> tuple:
                """A sink with a thread of its own (the writers encode and compress outside the GIL) and its
                queue of writes; the thread ends (its writes done) before the sink closes."""
                stack.enter_context(sink)
                return sink, stack.enter_context(ThreadPoolExecutor(max_workers=1)), deque()

            def write(writers: list, table: pa.Table, earlier_rows: np.ndarray | None = None) -> None:
                """Queued: each file takes the batches in order at its own pace while the next batch is read."""
                for sink, thread, queue in writers:
                    while len(queue) >= WRITES_QUEUED:
                        queue.popleft().result()
                    queue.append(thread.submit(sink.write, table, earlier_rows))

            parquet, csv, *jsonl = self._cumulative_records()
            earlier = self._at_run_start("records.parquet")
            # The CSV first: closed last, it is published after the Parquet file its index is written with.
            csv_sink = CsvSink(csv, RECORD_SCHEMA, index_with=parquet)
            csv_writer = writer(csv_sink)
            cumulative = [writer(ParquetSink(parquet, RECORD_SCHEMA)), csv_writer,
                          *(writer(JsonlSink(path)) for path in jsonl)]
            if earlier.exists():
                csv_sink.open_earlier(self._at_run_start("records.csv"), earlier)
            row = 0  # of the earlier records, whose unchanged rows the CSV copies
            for table in read_parquet_batches(earlier, WRITE_BATCH_ROWS):
                earlier_rows = np.arange(row, row + table.num_rows)
                row += table.num_rows
                if reprocessed:
                    dropped = _replaced_rows(table, reprocessed)
                    if pc.any(dropped).as_py():  # mostly none: filtering would copy every answer for nothing
                        table = table.filter(pc.invert(dropped))
                        earlier_rows = earlier_rows[~dropped.to_numpy(zero_copy_only=False)]
                if not table.num_rows:  # the lookup below hashes its value set afresh
                    continue
                written += table.num_rows
                regrouped_rows = pc.indices_nonzero(pc.is_in(table.column("record_id"),
                                                             value_set=regrouped_ids)).to_numpy()
                earlier_rows[regrouped_rows] = -1
                write(cumulative, with_copies(table, regrouped_rows), earlier_rows)
            # With no earlier record (a first run, or one replacing them all), this run's records.csv is the
            # cumulative one: written once.
            this_run = [writer(CsvSink(run_csv, RECORD_SCHEMA))] if written else []
            for table in read_spool_batches(records_spool, WRITE_BATCH_ROWS):
                keep = [key not in copies for key in zip(table.column("source_path").to_pylist(),
                                                         table.column("part").to_pylist())]
                if not all(keep):
                    table = table.filter(pa.array(keep, pa.bool_()))
                table = with_copies(table, np.arange(table.num_rows))
                runs = [first_seen.get(key, run_id) for key in zip(table.column("record_id").to_pylist(),
                                                                    table.column("source_path").to_pylist())]
                table = _replace(table, "first_seen_run", pa.array(runs, pa.string()))
                summary.records_new += table.num_rows
                written += table.num_rows
                write([*cumulative, *this_run], table)
            for sink, thread, queue in [*cumulative, *this_run]:
                queue.append(thread.submit(sink.sync))
            for _, _, queue in [*cumulative, *this_run]:
                while queue:
                    queue.popleft().result()
        if not this_run:
            publish_same_file(csv, run_csv)
        summary.records_total = written


def _replaced_rows(table: pa.Table, reprocessed: set[str]) -> pa.Array:
    """Which rows of earlier records or copies this run writes anew, or not at all: those of the inputs it
    reprocesses."""
    return pa.array([input_of(path) in reprocessed for path in table.column("source_path").to_pylist()], pa.bool_())


def _replace(table: pa.Table, name: str, column: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, column)


def _with_rows(table: pa.Table, name: str, rows: np.ndarray, values: pa.Array) -> pa.Table:
    """The table with column name's cells at rows (ascending) replaced by values."""
    if len(rows) == table.num_rows:
        return _replace(table, name, values)
    index = np.arange(table.num_rows)
    index[rows] = table.num_rows + np.arange(len(rows))
    column = table.column(name).combine_chunks()
    return _replace(table, name, pc.take(pa.concat_arrays([column, values.cast(column.type)]), index))


def _duplicates_table(signed: Signatures, folded: FoldResult, run_id: str) -> pa.Table:
    """This run's copies: every row folded into another record (columns, not a dict per copy)."""
    rows = [i for i, canonical in enumerate(zip(folded.canonical_record_id, folded.canonical_source_path,
                                                folded.canonical_part))
            if canonical[0] is not None and canonical != (signed.record_ids[i], signed.source_paths[i], int(signed.parts[i]))]
    return pa.table({
        "source_path": pa.array([signed.source_paths[i] for i in rows], pa.string()),
        "part": pa.array(signed.parts[rows].astype(np.int64)),
        "record_id": pa.array([signed.record_ids[i] for i in rows], pa.string()),
        "canonical_record_id": pa.array([folded.canonical_record_id[i] for i in rows], pa.string()),
        "canonical_source_path": pa.array([folded.canonical_source_path[i] for i in rows], pa.string()),
        "similarity": pa.array(np.round(folded.similarity[rows].astype(np.float64), 4)),
        "run_id": pa.array([run_id] * len(rows), pa.string()),
    }, schema=DUPLICATE_SCHEMA)


def _duplicate_sources(duplicates: pa.Table) -> dict[str, list[str]]:
    sources: dict[str, set[str]] = {}
    for canonical, path, part in zip(*(duplicates.column(name).to_pylist()
                                       for name in ("canonical_record_id", "source_path", "part"))):
        sources.setdefault(canonical, set()).add(path if part == 0 else f"{path}:{part}")
    return {record_id: sorted(paths) for record_id, paths in sources.items()}
