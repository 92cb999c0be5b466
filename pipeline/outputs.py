"""The output contract: file names, columns and types of everything a run writes."""

from __future__ import annotations

from dataclasses import fields

import pyarrow as pa

from pipeline.records.build import LIST_COLUMNS, RECORD_COLUMNS, Record

DUPLICATE_COLUMNS = ["source_path", "part", "record_id", "canonical_record_id", "canonical_source_path",
                     "similarity", "run_id"]
REMOVED_COLUMNS = ["source_path", "part", "line_no", "rule", "text"]
ERROR_COLUMNS = ["source_path", "reason"]

_ARROW_TYPES = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "list[str]": pa.list_(pa.string())}

RECORD_SCHEMA = pa.schema([(f.name, _ARROW_TYPES[str(f.type)]) for f in fields(Record)])
DUPLICATE_SCHEMA = pa.schema([
    ("source_path", pa.string()), ("part", pa.int64()), ("record_id", pa.string()),
    ("canonical_record_id", pa.string()), ("canonical_source_path", pa.string()),
    ("similarity", pa.float64()), ("run_id", pa.string()),
])

__all__ = ["DUPLICATE_COLUMNS", "DUPLICATE_SCHEMA", "ERROR_COLUMNS", "LIST_COLUMNS", "RECORD_COLUMNS",
           "RECORD_SCHEMA", "REMOVED_COLUMNS"]
