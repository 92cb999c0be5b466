"""Readers: find input files and turn them into decoded pages."""

from pipeline.readers.discover import (ContentHash, content_hash, discover, input_of, read_source, refusal, source_name,
                                       unreadable)

__all__ = ["ContentHash", "content_hash", "discover", "input_of", "read_source", "refusal", "source_name", "unreadable"]
