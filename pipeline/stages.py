"""The per-document stages as pure functions of a batch of input files.

A batch names files (paths relative to the input folder), not their contents, so a worker — a
local process or a Dask worker on another machine that sees the same folder — reads them itself
and only small results travel back. The same inputs and context give the same result anywhere.
"""

from __future__ import annotations

import hashlib
import pickle
import time
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.clean import clean_page
from pipeline.clean.rules import RuleSet
from pipeline.clean.templates import page_line_keys
from pipeline.dedup.fold import DedupSettings, Item, Signatures, sign
from pipeline.model import Article, Page, PageError
from pipeline.outputs import RECORD_SCHEMA, REMOVED_SCHEMA
from pipeline.readers import ContentHash, read_source
from pipeline.records.build import Record, RecordBuilder, char_count, record_id_for, removed_ratio

Batch = list[str]  # input files, relative to the input folder


@dataclass(frozen=True)
class StageContext:
    """Everything the per-document stages need besides the files: built once, shipped to workers once."""

    input_dir: str
    rules: RuleSet
    builder: RecordBuilder
    dedup: DedupSettings | None
    run_id: str
    template_keys: frozenset[int] = frozenset()
    band_layout: tuple[int, int] = (0, 0)  # (bands, rows) of the dedup settings
    # A folder every worker sees, where a pass leaves what the next takes: count_template_lines the pages
    # it read, process_batch the articles whose records build_batch builds once the fold has decided
    # which are copies. None (workers on other machines): process_batch reads again and builds every record.
    spool: str | None = None


@dataclass
class BatchResult:
    """What a batch gives back. Records and removed lines are Arrow tables: they are built where the
    work is spread out, and travel to the run as buffers instead of as a Python object per cell."""

    records: pa.Table = field(default_factory=RECORD_SCHEMA.empty_table)
    removed: pa.Table = field(default_factory=REMOVED_SCHEMA.empty_table)
    signatures: Signatures = field(default_factory=Signatures)
    errors: list[dict] = field(default_factory=list)
    no_article: list[str] = field(default_factory=list)
    page_stats: list[dict] = field(default_factory=list)  # per page: source_path, lines, removed, seconds
    digests: list[str | None] = field(default_factory=list)  # per file of the batch: content hash, for the state store


@dataclass
class ReadBatch:
    """A batch's files as read: pages and per-file errors in file order, and per file its content hash,
    None if unreadable (taken here, where the file is read anyway, not one by one in the run's process)."""

    items: list[Page | PageError] = field(default_factory=list)
    digests: list[str | None] = field(default_factory=list)

    @property
    def pages(self) -> list[Page]:
        return [item for item in self.items if isinstance(item, Page)]


def read_batch(batch: Batch, input_dir: str) -> ReadBatch:
    root, read = Path(input_dir), ReadBatch()
    for rel in batch:
        hashed = ContentHash()
        read.items.extend(read_source(root / rel, rel, root, hashed))
        read.digests.append(hashed.hexdigest)
    return read


def count_template_lines(batch: Batch, input_dir: str, spool: str | None = None) -> np.ndarray:
    """The short-line keys of every page of the batch (one entry per page that has the line).

    With a spool, the pages read here are left there for process_batch, which then neither reads nor
    decodes the files again."""
    read = read_batch(batch, input_dir)
    if spool is not None:
        _leave(spool, batch, "pages", read)
    keys = [page_line_keys(page.text) for page in read.pages]
    return np.concatenate(keys) if keys else np.zeros(0, np.int64)


def _spooled(spool: str, batch: Batch, kind: str) -> Path:
    name = hashlib.sha1("\0".join(batch).encode("utf-8", "surrogateescape")).hexdigest()
    return Path(spool) / f"{name}.{kind}.pickle"


def _leave(spool: str, batch: Batch, kind: str, value) -> None:
    spooled = _spooled(spool, batch, kind)
    with open(spooled.with_suffix(".tmp"), "wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    spooled.with_suffix(".tmp").replace(spooled)


def _take(spool: str, batch: Batch, kind: str):
    spooled = _spooled(spool, batch, kind)
    with open(spooled, "rb") as handle:
        value = pickle.load(handle)
    spooled.unlink()
    return value


def _read_or_unspool(batch: Batch, context: StageContext) -> ReadBatch:
    if context.spool is not None:
        with suppress(FileNotFoundError):
            return _take(context.spool, batch, "pages")
    return read_batch(batch, context.input_dir)


@dataclass
class PendingArticle:
    """An article cleaned and signed, whose record is built once the fold has found it no copy."""

    article: Article
    page: Page  # the page's markup and format, for the record: its text and HTML are not kept
    removed_ratio: float
    record_id: str


def process_batch(batch: Batch, context: StageContext) -> BatchResult:
    """Read, clean and sign every page of the batch, and build its records (with a spool: leave the
    articles there for build_batch, which builds only those of the canonicals)."""
    read = _read_or_unspool(batch, context)
    result, rows = BatchResult(digests=read.digests), _BatchRows()
    for item in read.items:
        if isinstance(item, PageError):
            result.errors.append({"source_path": item.source_path, "reason": item.reason})
            continue
        started = time.perf_counter()
        _process_page(item, context, result, rows)
        result.page_stats[-1]["seconds"] = round(time.perf_counter() - started, 6)
    if context.spool is not None:
        _leave(context.spool, batch, "articles", rows.pending)
    result.records = pa.Table.from_pylist(rows.records, schema=RECORD_SCHEMA)
    result.removed = pa.table(rows.removed, schema=REMOVED_SCHEMA)
    if context.dedup is not None:
        result.signatures = sign(rows.items, context.dedup, context.band_layout)
    return result


def build_batch(task: tuple[Batch, frozenset[tuple[str, int]]], context: StageContext) -> pa.Table:
    """The records of the articles process_batch left for a batch, but for those of its copies
    (source_path, part): a copy's record is never written, and building records is half the work."""
    batch, copies = task
    records = [_row(context.builder.record(pending.article, pending.page, pending.removed_ratio, context.run_id,
                                           pending.record_id))
               for pending in _take(context.spool, batch, "articles")
               if (pending.article.source_path, pending.article.part) not in copies]
    return pa.Table.from_pylist(records, schema=RECORD_SCHEMA)


def _row(record: Record) -> dict:
    return dict(vars(record))  # asdict's deep copy is a tenth of the page's cost


@dataclass
class _BatchRows:
    records: list[dict] = field(default_factory=list)
    removed: dict[str, list] = field(default_factory=lambda: {name: [] for name in REMOVED_SCHEMA.names})
    items: list[Item] = field(default_factory=list)  # what signing needs of each article
    pending: list[PendingArticle] = field(default_factory=list)  # with a spool, instead of records


def _process_page(page: Page, context: StageContext, result: BatchResult, rows: _BatchRows) -> None:
    cleaned = clean_page(page, context.rules, context.template_keys)
    ratio = removed_ratio(cleaned)
    kept_page = replace(page, text="", html=None, evidence=None) if context.spool is not None else page
    for article in cleaned.articles:
        answer = article.body
        record_id = record_id_for(answer)
        rows.items.append(Item(record_id, article.source_path, article.part, char_count(answer), answer))
        if context.spool is not None:
            rows.pending.append(PendingArticle(article, kept_page, ratio, record_id))
        else:
            rows.records.append(_row(context.builder.record(article, page, ratio, context.run_id, record_id)))
    removed = rows.removed
    for decision in cleaned.removed:
        removed["source_path"].append(page.source_path)
        removed["part"].append(decision.part)
        removed["line_no"].append(decision.line_no)
        removed["rule"].append(decision.rule)
        removed["text"].append(decision.text.strip())
    if not cleaned.articles:
        result.no_article.append(page.source_path)
    result.page_stats.append({"source_path": page.source_path,
                              "lines": sum(1 for d in cleaned.decisions if d.text.strip()),
                              "removed": len(cleaned.removed)})
