"""Readers: find input files and turn them into decoded pages."""

from pipeline.readers.discover import discover, input_of, read_source, refusal, source_name

__all__ = ["discover", "input_of", "read_source", "refusal", "source_name"]
