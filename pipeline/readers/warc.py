"""WARC archives: one page per HTTP response record with an HTML or text payload."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from pipeline.model import Page, PageError


def read_warc(stream: BinaryIO, rel: str) -> Iterator[Page | PageError]:
    """Pages of a WARC archive (plain or gzipped) read from an open file, one record at a time."""
    from warcio.archiveiterator import ArchiveIterator  # 65 ms to import, which runs without archives need not pay

    from pipeline.readers.discover import MAX_PAGE_BYTES, _read_document

    index = -1
    try:
        for index, record in enumerate(ArchiveIterator(stream)):
            if record.rec_type != "response":
                continue
            member = f"{rel}#{index}"
            content_type = record.http_headers.get_header("Content-Type", "") if record.http_headers else ""
            if content_type and not any(t in content_type.lower() for t in ("html", "text")):
                continue
            payload = record.content_stream().read(MAX_PAGE_BYTES + 1)  # more is refused as too large
            if len(payload) <= MAX_PAGE_BYTES and record.raw_stream.limit > 0:
                yield PageError(member, "truncated WARC record (the archive ends inside it)")
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            yield from _read_document(payload, member, "x.html", url, content_type, input_format="warc")
    except Exception as err:  # noqa: BLE001 - warcio raises anything (AttributeError, KeyError…) on malformed records
        yield PageError(f"{rel}#{index + 1}", f"corrupt WARC archive: {type(err).__name__}: {str(err)[:120]}")
