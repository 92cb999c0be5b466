"""CSV (UTF-8 with BOM, safe in Excel), Parquet (typed) and JSON-lines writers for tables of rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.writers.atomic import atomic_path

LIST_SEPARATOR = ";"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(cell: str) -> str:
    """A cell starting like a formula gets a leading apostrophe so Excel shows it as text."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _csv_frame(rows: list[dict], columns: list[str], list_columns: set[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns:
        if column in list_columns:
            frame[column] = frame[column].map(lambda v: LIST_SEPARATOR.join(v) if isinstance(v, list) else "")
        if frame[column].dtype == object or column in list_columns:
            frame[column] = frame[column].map(lambda v: neutralize(v) if isinstance(v, str) else v)
    return frame


class CsvSink:
    """Streams rows into a CSV that appears (atomically) only when the sink is closed without error."""

    def __init__(self, path: Path, columns: list[str], list_columns: set[str] = frozenset()):
        self.columns, self.list_columns = columns, set(list_columns)
        self._atomic = atomic_path(path)
        self._handle = open(self._atomic.__enter__(), "w", encoding="utf-8-sig", newline="")
        self._header = True

    def write(self, rows: list[dict]) -> None:
        if rows or self._header:
            _csv_frame(rows, self.columns, self.list_columns).to_csv(
                self._handle, index=False, header=self._header, lineterminator="\r\n")
            self._header = False

    def __enter__(self) -> "CsvSink":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.write([])
        self._handle.close()
        self._atomic.__exit__(kind, value, traceback)


class ParquetSink:
    """Streams rows into a Parquet file, one row group per write, published atomically on close."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.schema = schema
        self._atomic = atomic_path(path)
        self._writer = pq.ParquetWriter(str(self._atomic.__enter__()), schema)

    def write(self, rows: list[dict]) -> None:
        if rows:
            self._writer.write_table(pa.Table.from_pylist(rows, schema=self.schema))

    def __enter__(self) -> "ParquetSink":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self._writer.close()
        self._atomic.__exit__(kind, value, traceback)


def write_csv(path: Path, rows: list[dict], columns: list[str], list_columns: set[str] = frozenset()) -> None:
    with CsvSink(path, columns, list_columns) as sink:
        sink.write(rows)


def write_parquet(path: Path, rows: list[dict], schema: pa.Schema) -> None:
    with ParquetSink(path, schema) as sink:
        sink.write(rows)


def read_parquet_batches(path: Path, batch_rows: int = 4096):
    """Rows of a Parquet file, a batch (list of dicts) at a time; nothing if the file does not exist."""
    if not path.exists():
        return
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
        yield batch.to_pylist()


def read_parquet_rows(path: Path) -> list[dict]:
    return [row for batch in read_parquet_batches(path) for row in batch]


class JsonlSink:
    """Streams rows as JSON lines, published atomically on close."""

    def __init__(self, path: Path):
        self._atomic = atomic_path(path)
        self._handle = open(self._atomic.__enter__(), "w", encoding="utf-8")

    def write(self, rows: list[dict]) -> None:
        for row in rows:
            self._handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    def __enter__(self) -> "JsonlSink":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self._handle.close()
        self._atomic.__exit__(kind, value, traceback)
