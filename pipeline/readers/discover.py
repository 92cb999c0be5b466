"""Find input files and read them into pages: text dumps, HTML, gzip, WARC and JSON lines.

Every problem with one file becomes a PageError for that file; nothing here raises for bad input.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from pipeline.model import Page, PageError
from pipeline.readers.decode import BinaryContent, decode_bytes
from pipeline.readers.html import read_html

MAX_FILE_BYTES = 64 * 1024 * 1024  # larger inputs are reported, not loaded
MAX_INFLATED_BYTES = 64 * 1024 * 1024  # a gzip member may not inflate beyond this (gzip bombs)
HTML_SUFFIXES = {".html", ".htm", ".shtml", ".xhtml"}


def discover(input_dir: Path) -> Iterator[tuple[Path, str]]:
    """Yields (path, path relative to input_dir) of every regular file below input_dir, sorted.

    Hidden files are skipped; symbolic links are followed only while they stay inside input_dir.
    """
    root = input_dir.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and _inside(Path(dirpath) / d, root))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            yield path, path.relative_to(root).as_posix()


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except ValueError:
        return False


def read_source(path: Path, rel: str, root: Path | None = None) -> Iterator[Page | PageError]:
    """Reads one input file into pages (several for archives)."""
    try:
        if root is not None and not _inside(path, root.resolve()):
            yield PageError(rel, "symbolic link leaving the input folder (not followed)")
            return
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            yield PageError(rel, f"file too large ({size} bytes; limit {MAX_FILE_BYTES})")
            return
        data = path.read_bytes()
    except OSError as err:
        yield PageError(rel, f"cannot read file: {err.strerror or err}")
        return
    yield from read_bytes(data, rel, path.name.lower())


def read_bytes(data: bytes, rel: str, name: str) -> Iterator[Page | PageError]:
    if not data.strip():
        yield PageError(rel, "empty file")
        return
    if name.endswith((".warc", ".warc.gz")) or data[:4] == b"WARC":
        from pipeline.readers.warc import read_warc

        yield from read_warc(data, rel)
        return
    if data[:2] == b"\x1f\x8b":
        inner = _gunzip(data)
        if isinstance(inner, str):
            yield PageError(rel, inner)
            return
        if inner[:4] == b"WARC":
            from pipeline.readers.warc import read_warc

            yield from read_warc(data, rel)
            return
        yield from read_bytes(inner, rel, name.removesuffix(".gz"))
        return
    if name.endswith(".jsonl"):
        yield from _read_jsonl(data, rel)
        return
    yield from _read_document(data, rel, name)


def _gunzip(data: bytes) -> bytes | str:
    """Inflates a gzip file with a bound on the output; returns an error message instead of raising."""
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = inflater.decompress(data, MAX_INFLATED_BYTES + 1)
        if len(out) > MAX_INFLATED_BYTES or inflater.unconsumed_tail:
            return f"gzip inflates beyond {MAX_INFLATED_BYTES} bytes (refused)"
        if not inflater.eof:
            return "truncated gzip file"
        return out
    except zlib.error as err:
        return f"corrupt gzip file: {err}"


def _read_document(data: bytes, rel: str, name: str, url: str | None = None,
                   header: str | None = None, input_format: str | None = None) -> Iterator[Page | PageError]:
    try:
        text, encoding = decode_bytes(data, header)
    except BinaryContent as err:
        yield PageError(rel, str(err))
        return
    text = text.replace("\x00", "")
    is_html = Path(name).suffix in HTML_SUFFIXES or _sniff_html(text)
    if is_html:
        page = read_html(text, url)
        yield Page(rel, page.text, encoding, input_format or "html", url, html=text, evidence=page.evidence,
                   meta=page.meta)
    else:
        yield Page(rel, text, encoding, input_format or "text", url)


def _sniff_html(text: str) -> bool:
    head = text[:1024].lstrip().lower()
    return head.startswith(("<!doctype html", "<html", "<?xml")) or ("<body" in head and "</" in head)


def _read_jsonl(data: bytes, rel: str) -> Iterator[Page | PageError]:
    for index, raw in enumerate(io.BytesIO(data)):
        if not raw.strip():
            continue
        member = f"{rel}#{index}"
        try:
            item = json.loads(raw)
            url = item.get("url")
            if item.get("html"):
                yield from _read_document(item["html"].encode("utf-8"), member, "x.html", url, input_format="jsonl")
            elif item.get("text"):
                yield Page(member, str(item["text"]), "utf-8", "jsonl", url)
            else:
                yield PageError(member, "JSON line has neither 'html' nor 'text'")
        except (ValueError, AttributeError) as err:
            yield PageError(member, f"malformed JSON line: {err}")
