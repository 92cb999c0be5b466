"""Readers: find input files and turn them into decoded pages."""

from pipeline.readers.discover import discover, read_source, refusal, source_name

__all__ = ["discover", "read_source", "refusal", "source_name"]
