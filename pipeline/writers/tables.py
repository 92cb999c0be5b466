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


def write_csv(path: Path, rows: list[dict], columns: list[str], list_columns: set[str] = frozenset()) -> None:
    frame = _csv_frame(rows, columns, set(list_columns))
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")


def write_parquet(path: Path, rows: list[dict], schema: pa.Schema) -> None:
    table = pa.Table.from_pylist(rows, schema=schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_parquet_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return pq.read_table(path).to_pylist()


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
