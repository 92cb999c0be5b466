"""Records: clean articles become tagged Q&A records."""

from pipeline.records.build import Record, RecordBuilder

__all__ = ["Record", "RecordBuilder"]
