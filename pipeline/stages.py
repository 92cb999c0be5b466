"""The per-document stages as pure functions of a batch of input files.

A batch names files (paths relative to the input folder), not their contents, so a worker — a
local process or a Dask worker on another machine that sees the same folder — reads them itself
and only small results travel back. The same inputs and context give the same result anywhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.clean import clean_page
from pipeline.clean.rules import RuleSet
from pipeline.clean.templates import page_line_keys
from pipeline.dedup.fold import DedupSettings, Item, Signatures, sign
from pipeline.model import Page, PageError
from pipeline.readers import read_source
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


@dataclass
class BatchResult:
    records: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    signatures: Signatures = field(default_factory=Signatures)
    errors: list[dict] = field(default_factory=list)
    no_article: list[str] = field(default_factory=list)
    page_stats: list[dict] = field(default_factory=list)  # per page: source_path, lines, removed, seconds


def _pages(batch: Batch, input_dir: str, errors: list[dict] | None):
    root = Path(input_dir)
    for rel in batch:
        for item in read_source(root / rel, rel, root):
            if isinstance(item, PageError):
                if errors is not None:
                    errors.append({"source_path": item.source_path, "reason": item.reason})
            else:
                yield item


def count_template_lines(batch: Batch, input_dir: str) -> np.ndarray:
    """The short-line keys of every page of the batch (one entry per page that has the line)."""
    keys = [page_line_keys(page.text) for page in _pages(batch, input_dir, None)]
    return np.concatenate(keys) if keys else np.zeros(0, np.int64)


def process_batch(batch: Batch, context: StageContext) -> BatchResult:
    """Read, clean, build records and sign every page of the batch."""
    result = BatchResult()
    items: list[Item] = []
    for page in _pages(batch, context.input_dir, result.errors):
        started = time.perf_counter()
        _process_page(page, context, result, items)
        result.page_stats[-1]["seconds"] = round(time.perf_counter() - started, 6)
    if context.dedup is not None:
        result.signatures = sign(items, context.dedup)
    return result


def _process_page(page: Page, context: StageContext, result: BatchResult, items: list[Item]) -> None:
    cleaned = clean_page(page, context.rules, context.template_keys)
    records = context.builder.build(cleaned, context.run_id)
    removed = [
        {"source_path": page.source_path, "part": d.part, "line_no": d.line_no, "rule": d.rule, "text": d.text.strip()}
        for d in cleaned.removed
    ]
    result.removed.extend(removed)
    result.records.extend(dict(vars(r)) for r in records)  # asdict's deep copy is a tenth of the page's cost
    items.extend(Item(r.record_id, r.source_path, r.part, r.char_count, r.answer) for r in records)
    if not cleaned.articles:
        result.no_article.append(page.source_path)
    result.page_stats.append({"source_path": page.source_path,
                              "lines": sum(1 for d in cleaned.decisions if d.text.strip()),
                              "removed": len(removed)})
