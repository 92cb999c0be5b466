"""CSV (UTF-8 with BOM, safe in Excel), Parquet (typed) and JSON-lines writers for tables of rows."""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq

from pipeline.writers.atomic import atomic_path
from pipeline.writers.csv_rows import CsvRows, index_path, row_bytes, save_index

LIST_SEPARATOR = ";"
REPETITION_SAMPLE_ROWS = 1000  # rows that decide which Parquet columns get a dictionary
SYNC_AHEAD_BYTES = 32 * 1024 * 1024  # a large CSV goes to the disk in steps of this while it is written
_CSV_OPTIONS = pa_csv.WriteOptions(quoting_style="needed")  # what csv_rows.row_bytes counts
_ROW_OPTIONS = pa_csv.WriteOptions(quoting_style="needed", include_header=False)


FORMULA_RE = r"^[=+\-@\t\r]"  # Excel runs such a cell as a formula; a leading ' makes it text
# How a row is rendered: rows of a CSV indexed under another rendering are encoded again, not copied.
# The leading number goes up whenever _csv_table changes.
_RENDERING = f"1 {FORMULA_RE} {LIST_SEPARATOR} {_CSV_OPTIONS.quoting_style} arrow {pa.__version__}"


def restore(cell: str) -> str:
    """Undoes the neutralizing apostrophe when a CSV written here is read back for display."""
    return cell[1:] if cell.startswith("'") and re.match(FORMULA_RE, cell[1:]) else cell


def read_csv_rows(path: Path, list_columns: set[str] = frozenset()) -> list[dict]:
    """Reads a CSV written here back into rows of strings (lists split); a missing file has no rows."""
    if not path.exists():
        return []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = [{k: restore(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    for row in rows:
        for column in list_columns & row.keys():
            row[column] = row[column].split(LIST_SEPARATOR) if row[column] else []
    return rows


def as_table(rows: list[dict] | pa.Table, schema: pa.Schema) -> pa.Table:
    return rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows, schema=schema)


def _csv_table(table: pa.Table, list_columns: set[str]) -> pa.Table:
    """Lists joined with `;`, text cells neutralized: the table as Excel should see it."""
    columns = []
    for name in table.column_names:
        column = table.column(name)
        if name in list_columns:
            column = pc.fill_null(pc.binary_join(column, LIST_SEPARATOR), "")
        if pa.types.is_string(column.type):
            formula = pc.fill_null(pc.match_substring_regex(column, FORMULA_RE), False)
            if pc.any(formula).as_py():  # rarely: otherwise the column would be copied for nothing
                column = pc.if_else(formula, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


class CsvSink:
    """Streams rows into a CSV that appears (atomically) only when the sink is closed without error.

    UTF-8 with a BOM so Excel reads Chinese; written by Arrow's CSV writer. A sink given index_with (the
    file the rows are also written to, published first) keeps where each row starts beside the CSV it
    publishes; the next one can then copy the rows it is told are unchanged instead of encoding them again.
    """

    def __init__(self, path: Path, schema: pa.Schema, index_with: Path | None = None):
        self.schema = schema
        self.list_columns = {f.name for f in schema if pa.types.is_list(f.type)}
        self._path = path
        self._atomic = atomic_path(path)
        self._handle = open(self._atomic.__enter__(), "w+b")  # read too: its header is checked against the earlier's
        self._handle.write(codecs.BOM_UTF8)
        self._writer = pa_csv.CSVWriter(self._handle, self._csv_schema(), write_options=_CSV_OPTIONS)
        self._index_with = index_with
        self._starts: list[np.ndarray] | None = [] if index_with is not None else None
        self._earlier: CsvRows | None = None
        self._sync_ahead = _SyncAhead(self._handle)

    def _csv_schema(self) -> pa.Schema:
        return pa.schema([(f.name, pa.string() if f.name in self.list_columns else f.type) for f in self.schema])

    def open_earlier(self, earlier: Path, companion: Path) -> bool:
        """Whether rows can be copied from earlier, a CSV this sink replaces: its index was written for it and
        companion (the earlier file of the same rows) as they are, and it renders rows as this sink does."""
        self._handle.flush()
        header = os.pread(self._handle.fileno(), self._handle.tell(), 0)
        self._earlier = CsvRows.open(earlier, companion, header, _RENDERING)
        return self._earlier is not None

    def write(self, rows: list[dict] | pa.Table, earlier_rows: np.ndarray | None = None) -> None:
        """earlier_rows: each row's number in the earlier file if it is unchanged there (and copied from
        it), else -1; only used once open_earlier said the file can be copied from."""
        table = as_table(rows, self.schema)
        if not table.num_rows:
            return
        if earlier_rows is not None and self._earlier is not None:
            self._write_copying(table, earlier_rows)
        else:
            self._encode(_csv_table(table, self.list_columns))
        self._sync_ahead.written()

    def _encode(self, table: pa.Table) -> None:
        position = self._handle.tell()
        self._writer.write_table(table)
        if self._starts is not None:
            self._keep_starts(position, row_bytes(table))

    def _keep_starts(self, position: int, sizes: np.ndarray) -> None:
        """Rows of sizes written at position; the index is dropped (not kept wrong) if they did not end
        where the sizes say."""
        ends = position + np.cumsum(sizes)
        if len(ends) and ends[-1] != self._handle.tell():
            self._starts = None
        else:
            self._starts.append(ends - sizes)

    def _write_copying(self, table: pa.Table, earlier_rows: np.ndarray) -> None:
        """The changed rows are encoded together into memory, then the file is written stretch by stretch:
        copied from the earlier file, or taken from the encoded rows."""
        changed = _csv_table(table.take(np.flatnonzero(earlier_rows < 0)), self.list_columns)
        sizes = row_bytes(changed)
        encoded = _csv_bytes(changed)
        if len(encoded) != sizes.sum():  # the changed rows could not be told apart: all encoded, as usual
            self._encode(_csv_table(table, self.list_columns))
            return
        encoded_starts = np.concatenate([[0], np.cumsum(sizes)])
        descriptor, taken = self._handle.fileno(), 0
        self._handle.flush()
        position = self._handle.tell()
        for start, stop in _stretches(earlier_rows):
            first = int(earlier_rows[start])
            if first >= 0:
                starts = self._earlier.starts[first:first + stop - start + 1]
                self._earlier.copy_to(descriptor, position, first, first + stop - start)
            else:
                starts = encoded_starts[taken:taken + stop - start + 1]
                taken += stop - start
                _write_at(descriptor, encoded[starts[0]:starts[-1]], position)
            if self._starts is not None:
                self._starts.append(starts[:-1] - starts[0] + position)
            position += int(starts[-1] - starts[0])
        self._handle.seek(position)

    def sync(self) -> None:
        """Flushes what is written to the disk now, so that closing (which syncs too) finds it done: a
        large CSV syncs in its own thread while other files are still being written."""
        self._sync_ahead.finish()
        _sync(self._handle)

    def __enter__(self) -> "CsvSink":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        try:
            self._writer.close()
            self._sync_ahead.finish()
            end = self._handle.tell()
        except BaseException as error:  # then the file is not published
            kind, value, traceback = type(error), error, error.__traceback__
            raise
        finally:
            self._handle.close()
            if self._earlier is not None:
                self._earlier.close()
            self._atomic.__exit__(kind, value, traceback)
        if kind is None and self._index_with is not None:  # published
            if self._starts is None:
                index_path(self._path).unlink(missing_ok=True)
            else:
                save_index(self._path, np.concatenate([*self._starts, [end]]), self._index_with, _RENDERING)


def _csv_bytes(table: pa.Table) -> memoryview:
    """A CSV-ready table's rows as the sink writes them, without the header."""
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(table, sink, write_options=_ROW_OPTIONS)
    return memoryview(sink.getvalue())


def _write_at(descriptor: int, data: memoryview, position: int) -> None:
    while data:
        written = os.pwrite(descriptor, data, position)
        data, position = data[written:], position + written


def _stretches(earlier_rows: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each stretch of rows that follow each other in the earlier file, or are all changed (-1)."""
    changed = earlier_rows < 0
    breaks = np.flatnonzero((np.diff(earlier_rows) != 1) | changed[1:] | changed[:-1])
    breaks = breaks[~(changed[breaks] & changed[breaks + 1])] + 1
    bounds = [0, *breaks.tolist(), len(earlier_rows)]
    return list(zip(bounds, bounds[1:]))


def _sync_data(descriptor: int) -> None:
    (getattr(os, "fdatasync", None) or os.fsync)(descriptor)  # macOS has no fdatasync


class _SyncAhead:
    """Hands a large file to the disk while it is still being written, every SYNC_AHEAD_BYTES, in a thread
    of its own: synced only once written, a 180 MB CSV kept the run waiting 0.1-0.2 s at its end."""

    def __init__(self, handle):
        self._handle = handle
        self._synced = 0
        self._thread: ThreadPoolExecutor | None = None
        self._pending: Future | None = None

    def written(self) -> None:
        position = self._handle.tell()
        if position - self._synced < SYNC_AHEAD_BYTES or (self._pending is not None and not self._pending.done()):
            return
        self._raise_if_failed()
        self._handle.flush()
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1)
        self._pending = self._thread.submit(_sync_data, self._handle.fileno())
        self._synced = position

    def finish(self) -> None:
        """Waits for the sync under way; the caller syncs the rest."""
        if self._thread is not None:
            self._thread.shutdown()
            self._thread = None
            self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        """A disk error is reported to one sync of the file only: the one made here must not swallow it."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()


class ParquetSink:
    """Streams rows into a Parquet file, one row group per write, published atomically on close.

    zstd at its fastest level: Chinese text compresses 2.7x against 1.05x with snappy, and the file
    reads back faster. Dictionary encoding only for the columns whose values repeat in the first
    rows written: on long unique text a dictionary is built only to be dropped, and costs twice as
    much to read back.
    """

    def __init__(self, path: Path, schema: pa.Schema):
        self.schema = schema
        self._atomic = atomic_path(path)
        self._path = str(self._atomic.__enter__())
        self._writer: pq.ParquetWriter | None = None

    def write(self, rows: list[dict] | pa.Table, earlier_rows: np.ndarray | None = None) -> None:
        """earlier_rows: only a CSV copies rows from the file it replaces."""
        table = as_table(rows, self.schema)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._path, self.schema, compression="zstd", compression_level=1,
                                            use_dictionary=_repetitive_columns(table))
        if table.num_rows:
            self._writer.write_table(table)

    def sync(self) -> None:
        """Nothing to sync before closing: a Parquet file is complete only with its footer."""

    def __enter__(self) -> "ParquetSink":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None and self._writer is None:
            self.write([])
        if self._writer is not None:
            self._writer.close()
        self._atomic.__exit__(kind, value, traceback)


def _sync(handle) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _repetitive_columns(table: pa.Table) -> list[str]:
    """The columns with fewer distinct values than half their values (list columns: of their items), in the
    table's first rows: counting distinct long texts grows faster than their number (0.15 s for 8,192 answers,
    3 ms for 1,000)."""
    repetitive = []
    sample = table.slice(0, REPETITION_SAMPLE_ROWS)
    for name in sample.column_names:
        values = sample.column(name)
        if pa.types.is_list(values.type):
            values = pc.list_flatten(values)
        if len(values) and pc.count_distinct(values).as_py() * 2 < len(values):
            repetitive.append(name)
    return repetitive


def write_csv(path: Path, rows: list[dict] | pa.Table, schema: pa.Schema) -> None:
    with CsvSink(path, schema) as sink:
        sink.write(rows)


def write_parquet(path: Path, rows: list[dict] | pa.Table, schema: pa.Schema) -> None:
    with ParquetSink(path, schema) as sink:
        sink.write(rows)


def read_parquet_batches(path: Path, batch_rows: int = 8192, columns: list[str] | None = None):
    """A Parquet file (or some of its columns) as tables of at most batch_rows rows; nothing if the file
    does not exist."""
    if not path.exists():
        return
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns):
        yield pa.Table.from_batches([batch])


class ArrowSpool:
    """A run's own scratch file of tables, written once and read back once: Arrow's stream format,
    uncompressed, which costs a copy to write and one to read, where Parquet spends a tenth of a second
    per 10,000 records encoding and twice that decoding."""

    def __init__(self, path: Path, schema: pa.Schema):
        self._file = pa.OSFile(str(path), "wb")
        self._writer = pa_ipc.new_stream(self._file, schema)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()
        self._file.close()

    def __enter__(self) -> "ArrowSpool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_spool_batches(path: Path, batch_rows: int = 8192):
    """An ArrowSpool's tables regrouped into tables of about batch_rows rows (the batches are written small).

    Read, not memory-mapped: mapped pages stay with the process until the last table of the file is let go."""
    with pa.OSFile(str(path), "rb") as source:
        pending, rows = [], 0
        for batch in pa_ipc.open_stream(source):
            pending.append(batch)
            rows += batch.num_rows
            if rows >= batch_rows:
                yield pa.Table.from_batches(pending)
                pending, rows = [], 0
        if pending:
            yield pa.Table.from_batches(pending)


class JsonlSink:
    """Streams rows as JSON lines, published atomically on close."""

    def __init__(self, path: Path):
        self._atomic = atomic_path(path)
        self._handle = open(self._atomic.__enter__(), "w", encoding="utf-8")

    def write(self, rows: list[dict] | pa.Table, earlier_rows: np.ndarray | None = None) -> None:
        """earlier_rows: only a CSV copies rows from the file it replaces."""
        for row in rows.to_pylist() if isinstance(rows, pa.Table) else rows:
            self._handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    def sync(self) -> None:
        _sync(self._handle)

    def __enter__(self) -> "JsonlSink":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self._handle.close()
        self._atomic.__exit__(kind, value, traceback)
