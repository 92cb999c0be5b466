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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.clean import clean_page
from pipeline.clean.rules import RuleSet
from pipeline.clean.templates import page_line_keys
from pipeline.dedup.fold import DedupSettings, Item, Signatures, sign
from pipeline.model import Page, PageError
from pipeline.outputs import RECORD_SCHEMA, REMOVED_SCHEMA
from pipeline.readers import ContentHash, read_source
from pipeline.records.build import RecordBuilder

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
    page_spool: str | None = None  # where count_template_lines left the pages read (see there)


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


def count_template_lines(batch: Batch, input_dir: str, page_spool: str | None = None) -> np.ndarray:
    """The short-line keys of every page of the batch (one entry per page that has the line).

    With a page spool (a folder every worker sees), the pages read here are kept there for
    process_batch, which then neither reads nor decodes the files again."""
    read = read_batch(batch, input_dir)
    if page_spool is not None:
        spooled = _spooled(page_spool, batch)
        with open(spooled.with_suffix(".tmp"), "wb") as handle:
            pickle.dump(read, handle, protocol=pickle.HIGHEST_PROTOCOL)
        spooled.with_suffix(".tmp").replace(spooled)
    keys = [page_line_keys(page.text) for page in read.pages]
    return np.concatenate(keys) if keys else np.zeros(0, np.int64)


def _spooled(page_spool: str, batch: Batch) -> Path:
    return Path(page_spool) / (hashlib.sha1("\0".join(batch).encode("utf-8", "surrogateescape")).hexdigest() + ".pickle")


def _read_or_unspool(batch: Batch, context: StageContext) -> ReadBatch:
    if context.page_spool is not None:
        spooled = _spooled(context.page_spool, batch)
        with suppress(FileNotFoundError), open(spooled, "rb") as handle:
            read = pickle.load(handle)
            spooled.unlink()
            return read
    return read_batch(batch, context.input_dir)


def process_batch(batch: Batch, context: StageContext) -> BatchResult:
    """Read, clean, build records and sign every page of the batch."""
    read = _read_or_unspool(batch, context)
    result, rows = BatchResult(digests=read.digests), _BatchRows()
    for item in read.items:
        if isinstance(item, PageError):
            result.errors.append({"source_path": item.source_path, "reason": item.reason})
            continue
        started = time.perf_counter()
        _process_page(item, context, result, rows)
        result.page_stats[-1]["seconds"] = round(time.perf_counter() - started, 6)
    result.records = pa.Table.from_pylist(rows.records, schema=RECORD_SCHEMA)
    result.removed = pa.table(rows.removed, schema=REMOVED_SCHEMA)
    if context.dedup is not None:
        result.signatures = sign(rows.items, context.dedup, context.band_layout)
    return result


@dataclass
class _BatchRows:
    records: list[dict] = field(default_factory=list)
    removed: dict[str, list] = field(default_factory=lambda: {name: [] for name in REMOVED_SCHEMA.names})
    items: list[Item] = field(default_factory=list)  # what signing needs of each record


def _process_page(page: Page, context: StageContext, result: BatchResult, rows: _BatchRows) -> None:
    cleaned = clean_page(page, context.rules, context.template_keys)
    records = context.builder.build(cleaned, context.run_id)
    removed = rows.removed
    for decision in cleaned.removed:
        removed["source_path"].append(page.source_path)
        removed["part"].append(decision.part)
        removed["line_no"].append(decision.line_no)
        removed["rule"].append(decision.rule)
        removed["text"].append(decision.text.strip())
    rows.records.extend(dict(vars(r)) for r in records)  # asdict's deep copy is a tenth of the page's cost
    rows.items.extend(Item(r.record_id, r.source_path, r.part, r.char_count, r.answer) for r in records)
    if not cleaned.articles:
        result.no_article.append(page.source_path)
    result.page_stats.append({"source_path": page.source_path,
                              "lines": sum(1 for d in cleaned.decisions if d.text.strip()),
                              "removed": len(cleaned.removed)})
