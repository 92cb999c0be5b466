"""Readers: find input files and turn them into decoded pages."""

from pipeline.readers.discover import content_hash, discover, input_of, read_source, refusal, source_name

__all__ = ["content_hash", "discover", "input_of", "read_source", "refusal", "source_name"]
