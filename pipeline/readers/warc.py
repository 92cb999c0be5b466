"""WARC archives: one page per HTTP response record with an HTML or text payload."""

from __future__ import annotations

import io
from collections.abc import Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from pipeline.model import Page, PageError

MAX_RECORD_BYTES = 32 * 1024 * 1024


def read_warc(data: bytes, rel: str) -> Iterator[Page | PageError]:
    from pipeline.readers.discover import _read_document

    index = -1
    try:
        for index, record in enumerate(ArchiveIterator(io.BytesIO(data))):
            if record.rec_type != "response":
                continue
            member = f"{rel}#{index}"
            content_type = record.http_headers.get_header("Content-Type", "") if record.http_headers else ""
            if content_type and not any(t in content_type.lower() for t in ("html", "text")):
                continue
            payload = record.content_stream().read(MAX_RECORD_BYTES + 1)
            if len(payload) > MAX_RECORD_BYTES:
                yield PageError(member, "WARC record too large")
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            yield from _read_document(payload, member, "x.html", url, content_type, input_format="warc")
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as err:
        yield PageError(f"{rel}#{index + 1}", f"corrupt WARC archive: {err}")
