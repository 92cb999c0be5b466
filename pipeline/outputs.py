"""The output contract: file names, columns and types of everything a run writes."""

from __future__ import annotations

from dataclasses import fields

import pyarrow as pa

from pipeline.records.build import Record

_ARROW_TYPES = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "list[str]": pa.list_(pa.string())}

RECORD_SCHEMA = pa.schema([(f.name, _ARROW_TYPES[str(f.type)]) for f in fields(Record)])
DUPLICATE_SCHEMA = pa.schema([
    ("source_path", pa.string()), ("part", pa.int64()), ("record_id", pa.string()),
    ("canonical_record_id", pa.string()), ("canonical_source_path", pa.string()),
    ("similarity", pa.float64()), ("run_id", pa.string()),
])
REMOVED_SCHEMA = pa.schema([("source_path", pa.string()), ("part", pa.int64()), ("line_no", pa.int64()),
                            ("rule", pa.string()), ("text", pa.string())])
ERROR_SCHEMA = pa.schema([("source_path", pa.string()), ("reason", pa.string())])

__all__ = ["DUPLICATE_SCHEMA", "ERROR_SCHEMA", "RECORD_SCHEMA", "REMOVED_SCHEMA"]
