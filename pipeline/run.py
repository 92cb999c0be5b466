"""One run of the pipeline: discover → decode → clean → build records → fold duplicates → write.

Per-page work (clean, build records, sign) is a pure function of plain records, mapped over
batches in-process or in a process pool; the fold and the writes happen once, in the parent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from pipeline.clean import clean_page, load_rules
from pipeline.clean.cleaner import learn_template_keys
from pipeline.clean.rules import RuleSet
from pipeline.config import Config, ConfigError
from pipeline.dedup.fold import DedupSettings, Fold, Item, fold, sign
from pipeline.dedup.store import StateStore
from pipeline.model import Page, PageError
from pipeline.outputs import (DUPLICATE_COLUMNS, DUPLICATE_SCHEMA, ERROR_COLUMNS, LIST_COLUMNS, RECORD_COLUMNS,
                              RECORD_SCHEMA, REMOVED_COLUMNS)
from pipeline.readers import discover, read_source
from pipeline.records.build import Record, RecordBuilder
from pipeline.records.extract import load_taxonomy
from pipeline.writers.atomic import write_text
from pipeline.writers.tables import read_parquet_rows, write_csv, write_jsonl, write_parquet

log = logging.getLogger("pipeline")
BATCH_PAGES = 64
EXIT_OK, EXIT_FILE_ERRORS, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3


class LockHeld(RuntimeError):
    """Another run holds the output folder's lock."""


@dataclass
class PageResult:
    """What the per-page stage returns for one page."""

    source_path: str
    records: list[Record]
    removed: list[dict]
    folds: list[Fold]
    no_article: bool
    seconds: float


@dataclass
class RunSummary:
    run_id: str
    started_at: str
    finished_at: str = ""
    input_dir: str = ""
    out_dir: str = ""
    config_hash: str = ""
    inputs_seen: int = 0
    inputs_processed: int = 0
    inputs_unchanged: int = 0
    pages: int = 0
    records_new: int = 0
    duplicates_new: int = 0
    records_total: int = 0
    removed_lines: int = 0
    removed_by_rule: dict[str, int] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)
    no_article: list[str] = field(default_factory=list)
    slowest: list[dict] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    exit_code: int = 0


def process_pages(pages: list[Page], rules: RuleSet, template_keys: frozenset[str], builder: RecordBuilder,
                  dedup: DedupSettings | None, run_id: str) -> list[PageResult]:
    """The per-page stage: clean, build records, sign. Pure: the same inputs give the same outputs."""
    results = []
    for page in pages:
        started = time.perf_counter()
        cleaned = clean_page(page, rules, template_keys)
        records = builder.build(cleaned, run_id)
        removed = [
            {"source_path": page.source_path, "part": d.part, "line_no": d.line_no, "rule": d.rule, "text": d.text.strip()}
            for d in cleaned.removed
        ]
        items = [Item(r.record_id, r.source_path, r.part, r.char_count, r.answer) for r in records]
        folds = sign(items, dedup) if dedup is not None else []
        results.append(PageResult(page.source_path, records, removed, folds, not cleaned.articles,
                                  time.perf_counter() - started))
    return results


def new_run_id(out_dir: Path) -> str:
    """Sortable by time; an interrupted run's id is reused so that a rerun writes the same outputs."""
    pending = out_dir / ".pending_run"
    if pending.exists():
        return pending.read_text().strip()
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def content_hash(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Run:
    def __init__(self, config: Config, full: bool = False, progress=None):
        self.config = config
        self.full = full
        self.progress = progress
        self.input_dir = Path(config.input_dir)
        self.out_dir = Path(config.out_dir)
        if not self.input_dir.is_dir():
            raise ConfigError(f"input folder {self.input_dir} does not exist or is not a folder")
        self.rules = load_rules(list(config.rules))
        self.builder = RecordBuilder(load_taxonomy(config.taxonomy), config.keyword_count)

    def execute(self) -> RunSummary:
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
        run_id = new_run_id(self.out_dir)
        write_text(self.out_dir / ".pending_run", run_id)
        summary = RunSummary(run_id, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                             input_dir=str(self.input_dir), out_dir=str(self.out_dir),
                             config_hash=self.config.content_hash())
        store = StateStore(self.config.state_file)
        try:
            dedup = self.config.dedup if self.config.dedup_enabled else None
            if dedup is not None:
                from pipeline.dedup.signature import Signer

                store.check_settings(Signer(dedup.ngram, dedup.num_perm, dedup.seed).settings()
                                     | {"threshold": str(dedup.threshold), "simplified": str(dedup.simplified)})
            todo, fingerprints = self._select_inputs(store, summary)
            results = self._process(todo, summary, run_id, dedup)
            self._finish(results, fingerprints, store, summary, run_id, dedup)
        finally:
            store.close()
        return summary

    def _select_inputs(self, store: StateStore, summary: RunSummary) -> tuple[list[tuple[Path, str]], dict]:
        known = {row[0]: row[1:] for row in store.db.execute("SELECT source_path, size, mtime_ns, content_hash, run_id FROM inputs")}
        last_config = store.db.execute("SELECT config_hash FROM runs WHERE status = 'ok' ORDER BY run_id DESC LIMIT 1").fetchone()
        config_changed = last_config is None or last_config[0] != summary.config_hash
        todo, fingerprints = [], {}
        for path, rel in discover(self.input_dir):
            summary.inputs_seen += 1
            try:
                stat = path.stat()
                previous = known.get(rel)
                if not self.full and not config_changed and previous and previous[:2] == (stat.st_size, stat.st_mtime_ns):
                    summary.inputs_unchanged += 1
                    continue
                digest = content_hash(path)
            except OSError as err:
                summary.errors.append({"source_path": rel, "reason": f"cannot read file: {err.strerror or err}"})
                continue
            fingerprints[rel] = (stat.st_size, stat.st_mtime_ns, digest)
            if not self.full and not config_changed and previous and previous[2] == digest:
                summary.inputs_unchanged += 1
                continue
            todo.append((path, rel))
        summary.inputs_processed = len(todo)
        return todo, fingerprints

    def _pages(self, todo, summary: RunSummary):
        for path, rel in todo:
            for item in read_source(path, rel, self.input_dir):
                if isinstance(item, PageError):
                    summary.errors.append({"source_path": item.source_path, "reason": item.reason})
                    log.warning("%s: %s", item.source_path, item.reason)
                else:
                    yield item

    def _process(self, todo, summary: RunSummary, run_id: str, dedup) -> list[PageResult]:
        started = time.perf_counter()
        # Template evidence needs the whole batch; a first streaming pass only counts line keys.
        template_keys = learn_template_keys((p.text for p in self._pages(todo, RunSummary(run_id, ""))),
                                            self.config.template_min_pages)
        summary.stage_seconds["learn_templates"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        results: list[PageResult] = []
        args = (self.rules, template_keys, self.builder, dedup, run_id)
        batches = _batched(self._pages(todo, summary), BATCH_PAGES)
        workers = self.config.worker_count
        if workers <= 1 or len(todo) < 2:
            for batch in batches:
                results.extend(process_pages(batch, *args))
                self._tick(len(batch))
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                pending = [pool.submit(process_pages, batch, *args) for batch in batches]
                for future in pending:
                    batch_results = future.result()
                    results.extend(batch_results)
                    self._tick(len(batch_results))
        summary.stage_seconds["clean_build_sign"] = round(time.perf_counter() - started, 3)
        return results

    def _tick(self, count: int) -> None:
        if self.progress is not None:
            self.progress(count)

    def _finish(self, results: list[PageResult], fingerprints: dict, store: StateStore, summary: RunSummary,
                run_id: str, dedup) -> None:
        started = time.perf_counter()
        results.sort(key=lambda r: r.source_path)
        summary.pages = len(results)
        records = {(r.source_path, r.part): r for result in results for r in result.records}
        reprocessed = {rel for rel in fingerprints}
        prior_records = [row for row in read_parquet_rows(self.out_dir / "records.parquet")
                         if row["source_path"].split("#")[0] not in reprocessed]
        prior_duplicates = [row for row in read_parquet_rows(self.out_dir / "duplicates.parquet")
                            if row["source_path"].split("#")[0] not in reprocessed]
        if dedup is not None:
            store.forget_sources(sorted(reprocessed))
        folds = [f for result in results for f in result.folds]
        new_canonicals = fold(folds, dedup, store, run_id) if dedup is not None else []
        duplicates = []
        for f in folds:
            if f.canonical_record_id is None or f.canonical_record_id == f.item.record_id and f.canonical_source_path == f.item.source_path:
                continue
            duplicates.append({"source_path": f.item.source_path, "part": f.item.part, "record_id": f.item.record_id,
                               "canonical_record_id": f.canonical_record_id,
                               "canonical_source_path": f.canonical_source_path,
                               "similarity": round(f.similarity, 4), "run_id": run_id})
        copies = {(d["source_path"], d["part"]) for d in duplicates}
        new_records = [asdict(r) for key, r in sorted(records.items()) if key not in copies]
        all_records = {row["record_id"]: row for row in prior_records}
        for row in new_records:
            all_records.setdefault(row["record_id"], row)
        all_duplicates = prior_duplicates + duplicates
        _count_duplicates(all_records, all_duplicates)
        summary.stage_seconds["fold"] = round(time.perf_counter() - started, 3)

        started = time.perf_counter()
        removed = [row for result in results for row in result.removed]
        summary.records_new = len(new_records)
        summary.duplicates_new = len(duplicates)
        summary.records_total = len(all_records)
        summary.removed_lines = len(removed)
        for row in removed:
            summary.removed_by_rule[row["rule"]] = summary.removed_by_rule.get(row["rule"], 0) + 1
        summary.no_article = [r.source_path for r in results if r.no_article]
        summary.slowest = [{"source_path": r.source_path, "seconds": round(r.seconds, 4)}
                           for r in sorted(results, key=lambda r: -r.seconds)[:10]]
        cumulative = sorted(all_records.values(), key=lambda row: (row["first_seen_run"], row["source_path"], row["part"]))
        new_rows = [all_records[row["record_id"]] for row in new_records if row["record_id"] in all_records]
        self._write(run_id, cumulative, new_rows, all_duplicates, duplicates, removed, summary)
        if dedup is not None:
            by_key = {(f.item.source_path, f.item.part): f for f in new_canonicals}
            store.add_canonicals([
                (f.item.record_id, f.item.source_path, f.item.part, run_id, f.item.char_count, f.exact, f.signature, f.bands)
                for key, f in sorted(by_key.items())
            ])
        with store.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO inputs VALUES (?, ?, ?, ?, ?)",
                           [(rel, *fp, run_id) for rel, fp in sorted(fingerprints.items())])
            db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, 'ok')",
                       (run_id, summary.started_at, summary.config_hash))
        summary.stage_seconds["write"] = round(time.perf_counter() - started, 3)
        summary.finished_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        summary.exit_code = EXIT_FILE_ERRORS if summary.errors else EXIT_OK
        self._write_run_json(run_id, summary)
        write_text(self.out_dir / "latest_run", run_id + "\n")
        (self.out_dir / ".pending_run").unlink(missing_ok=True)

    def _write(self, run_id, cumulative, new_rows, all_duplicates, duplicates, removed, summary) -> None:
        out, run_dir = self.out_dir, self.out_dir / "runs" / run_id
        lists = set(LIST_COLUMNS)
        errors = summary.errors + [{"source_path": p, "reason": "no article found"} for p in summary.no_article]
        write_csv(run_dir / "records.csv", new_rows, RECORD_COLUMNS, lists)
        write_csv(run_dir / "duplicates.csv", duplicates, DUPLICATE_COLUMNS)
        write_csv(run_dir / "removed.csv", removed, REMOVED_COLUMNS)
        write_csv(run_dir / "errors.csv", errors, ERROR_COLUMNS)
        write_parquet(out / "records.parquet", cumulative, RECORD_SCHEMA)
        write_parquet(out / "duplicates.parquet", all_duplicates, DUPLICATE_SCHEMA)
        write_csv(out / "records.csv", cumulative, RECORD_COLUMNS, lists)
        write_csv(out / "duplicates.csv", all_duplicates, DUPLICATE_COLUMNS)
        write_csv(out / "removed.csv", removed, REMOVED_COLUMNS)
        write_csv(out / "errors.csv", errors, ERROR_COLUMNS)
        if self.config.jsonl:
            write_jsonl(out / "records.jsonl", cumulative)

    def _write_run_json(self, run_id: str, summary: RunSummary) -> None:
        write_text(self.out_dir / "runs" / run_id / "run.json",
                   json.dumps(asdict(summary), ensure_ascii=False, indent=2) + "\n")


def _count_duplicates(records: dict[str, dict], duplicates: list[dict]) -> None:
    sources: dict[str, list[str]] = {}
    for row in duplicates:
        sources.setdefault(row["canonical_record_id"], []).append(
            row["source_path"] if row["part"] == 0 else f"{row['source_path']}:{row['part']}")
    for record_id, row in records.items():
        row["duplicate_sources"] = sorted(set(sources.get(record_id, [])))
        row["dup_count"] = len(row["duplicate_sources"])


def _batched(iterable, size: int):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
