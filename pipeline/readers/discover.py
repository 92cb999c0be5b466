"""Find input files and read them into pages: text dumps, HTML, gzip, WARC and JSON lines.

Every problem with one file becomes a PageError for that file; nothing here raises for bad input.
"""

from __future__ import annotations

import hashlib
import io
import json
import operator
import os
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.model import Page, PageError
from pipeline.readers.decode import BinaryContent, decode_bytes, without_controls
from pipeline.readers.html import read_html
from pipeline.readers.warc import read_warc

MAX_FILE_BYTES = 64 * 1024 * 1024  # larger inputs are reported, not loaded
MAX_INFLATED_BYTES = 64 * 1024 * 1024  # a gzip file may not inflate beyond this (gzip bombs)
# One page (a text dump, an HTML page, a WARC record, a JSON line): cleaning takes about 30 bytes of memory
# and 3 µs per byte, so this bounds a page to ~130 MB and ~10 s; real article pages are below 1 MB.
MAX_PAGE_BYTES = 4 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 4096  # enough of a file to tell its format (a gzip member's first inflated bytes)
HTML_SUFFIXES = {".html", ".htm", ".shtml", ".xhtml"}


_name = operator.attrgetter("name")


def discover(input_dir: Path) -> Iterator[tuple[str, str, str | None]]:
    """Yields (path, path relative to input_dir, refusal reason or None) of every file below input_dir:
    a folder's files in name order, then its folders; see refusal().

    Hidden files are skipped. Linked folders are not walked: those inside input_dir are walked where
    they are, and those leaving it are yielded like files, so that the run reports them. A plain
    regular file needs no further check: its directory entry already tells. Paths are strings: a
    Path object per file cost more than the rest of the walk.
    """
    root = input_dir.resolve()
    folders = [(root, "")]  # and their paths relative to root, with a trailing /
    while folders:
        folder, prefix = folders.pop()
        try:
            with os.scandir(folder) as scan:
                entries = [entry for entry in scan if not entry.name.startswith(".")]
        except OSError as err:
            yield str(folder), prefix.rstrip("/"), f"cannot read folder: {err.strerror or err}"
            continue
        entries.sort(key=_name)
        below = []
        for entry in entries:
            if entry.is_file(follow_symlinks=False):  # first: most entries are
                yield entry.path, prefix + entry.name, None
            elif entry.is_dir(follow_symlinks=False):
                below.append((folder / entry.name, f"{prefix}{entry.name}/"))
            elif entry.is_symlink() and entry.is_dir() and _inside(Path(entry.path), root):
                continue  # walked where it is
            else:
                yield entry.path, prefix + entry.name, refusal(Path(entry.path), root)
        folders.extend(reversed(below))


def source_name(rel: str) -> str:
    """How outputs name an input: its relative path, with the bytes of a name that is not UTF-8 (a GBK
    name, say), which Python keeps as lone surrogates no file can hold, written as \\xNN."""
    if rel.isascii():  # most names: nothing to look at
        return rel
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def input_of(source_path: str) -> str:
    """The input a source path names: for an archive member (`crawl.warc.gz#17`), the archive."""
    base, hash_sign, member = source_path.rpartition("#")
    return base if hash_sign and member.isascii() and member.isdigit() else source_path


def content_hash(path: Path | str) -> str:
    with open(path, "rb") as handle:
        return _hash_of(handle)


def _hash_of(handle) -> str:
    digest = hashlib.sha1()
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


@dataclass
class ContentHash:
    """What read_source leaves of a file for the state store: the content_hash of its bytes, taken from
    the read that parses them (a second read costs a tenth of a page's time); None if it was not read."""

    hexdigest: str | None = None


def unreadable(err: OSError) -> str:
    return f"cannot read file: {err.strerror or err}"


def refusal(path: Path, root: Path | None = None) -> str | None:
    """Why an input is not opened at all, or None: a link leaving root, or not a regular file (a pipe
    would block the run, a device never ends)."""
    if root is not None and _passes_a_link(path, root) and not _inside(path, root.resolve()):
        return "symbolic link leaving the input folder (not followed)"
    try:
        mode = path.stat().st_mode
    except OSError as err:
        return unreadable(err)
    if not stat.S_ISREG(mode):
        return "not a regular file (a folder link, pipe, device or socket; not read)"
    return None


def _passes_a_link(path: Path, root: Path) -> bool:
    """Whether a step from root down to path is a symbolic link, or path is not written below root.

    Without a link below root a path lies where it is written, so only then need it be resolved,
    which costs a system call for every component of the absolute path (discovered paths have
    at most their last component as a link: linked folders are not walked). Strings, not Path
    objects: this runs for every input file.
    """
    prefix = os.path.join(os.fspath(root), "")
    step = os.fspath(path)
    if not step.startswith(prefix):
        return True
    while len(step) > len(prefix):
        if os.path.basename(step) == ".." or os.path.islink(step):
            return True
        step = os.path.dirname(step)
    return False


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except ValueError:
        return False


def read_source(path: Path, rel: str, root: Path | None = None,
                hashed: ContentHash | None = None) -> Iterator[Page | PageError]:
    """Reads one input file into pages (several for archives); hashed, if given, gets its content hash."""
    rel = source_name(rel)
    reason = refusal(path, root)
    if reason is not None:
        yield PageError(rel, reason)
        return
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            if _is_warc(head):
                # crawl archives run to a gigabyte: streamed record by record, each record's payload bounded
                handle.seek(0)
                if hashed is not None:
                    hashed.hexdigest = _hash_of(handle)
                    handle.seek(0)
                yield from read_warc(handle, rel)
                return
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                yield PageError(rel, f"file too large ({size} bytes; limit {MAX_FILE_BYTES})")
                return
            data = head + handle.read()
            if hashed is not None:
                hashed.hexdigest = hashlib.sha1(data).hexdigest()
    except OSError as err:
        yield PageError(rel, unreadable(err))
        return
    yield from _read_data(data, rel, path.name.lower())


def read_bytes(data: bytes, rel: str, name: str) -> Iterator[Page | PageError]:
    """Reads the bytes of one input that did not come from read_source (which tells a WARC by the file's head)."""
    if data.strip() and _is_warc(data[:_SNIFF_BYTES]):
        yield from read_warc(io.BytesIO(data), rel)
        return
    yield from _read_data(data, rel, name)


def _read_data(data: bytes, rel: str, name: str) -> Iterator[Page | PageError]:
    """Reads the bytes of one input known not to be a WARC archive (a gzipped one inflates to "WARC/" first)."""
    if not data.strip():
        yield PageError(rel, "empty file")
        return
    gzipped = data[:2] == _GZIP_MAGIC
    if name.endswith((".warc", ".warc.gz")):
        yield PageError(rel, "not a WARC archive (no WARC/ header)")
        return
    if gzipped:
        inner = _gunzip(data)
        if isinstance(inner, str):
            yield PageError(rel, inner)
        elif inner[:2] == _GZIP_MAGIC:
            yield PageError(rel, "gzip file inside a gzip file (not read)")
        else:
            yield from _read_data(inner, rel, name.removesuffix(".gz"))
        return
    if name.endswith(".jsonl"):
        yield from _read_jsonl(data, rel)
        return
    yield from _read_document(data, rel, name)


def _gunzip(data: bytes) -> bytes | str:
    """Inflates a gzip file (every member) with a bound on the output; returns an error message instead of raising."""
    members, left = [], MAX_INFLATED_BYTES
    try:
        while data:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out = inflater.decompress(data, left + 1)
            if len(out) > left or inflater.unconsumed_tail:
                return f"gzip inflates beyond {MAX_INFLATED_BYTES} bytes (refused)"
            if not inflater.eof:
                return "truncated gzip file"
            members.append(out)
            left -= len(out)
            data = inflater.unused_data if inflater.unused_data[:2] == _GZIP_MAGIC else b""
    except zlib.error as err:
        return f"corrupt gzip file: {err}"
    return b"".join(members)


def _is_warc(head: bytes) -> bool:
    """Whether a file starting with these bytes is a WARC archive, plain or gzipped."""
    if head[:2] != _GZIP_MAGIC:
        return head[:5] == b"WARC/"
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 5) == b"WARC/"
    except zlib.error:
        return False


def _read_document(data: bytes, rel: str, name: str, url: str | None = None,
                   header: str | None = None, input_format: str | None = None) -> Iterator[Page | PageError]:
    if len(data) > MAX_PAGE_BYTES:
        yield _page_too_large(rel, len(data))
        return
    try:
        text, encoding = decode_bytes(data, header)
    except BinaryContent as err:
        yield PageError(rel, str(err))
        return
    text = without_controls(text)
    is_html = Path(name).suffix in HTML_SUFFIXES or _sniff_html(text)
    if is_html:
        page = read_html(text, url)
        yield Page(rel, page.text, encoding, input_format or "html", url, html=text, evidence=page.evidence,
                   meta=page.meta)
    else:
        yield Page(rel, text, encoding, input_format or "text", url)


def _page_too_large(rel: str, size: int) -> PageError:
    return PageError(rel, f"page too large ({size} bytes; limit {MAX_PAGE_BYTES})")


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
        except ValueError as err:
            yield PageError(member, f"malformed JSON line: {err}")
            continue
        if not isinstance(item, dict):
            yield PageError(member, "JSON line is not an object")
            continue
        url = item["url"] if isinstance(item.get("url"), str) else None
        html, text = item.get("html"), item.get("text")
        if html and isinstance(html, str):
            yield from _read_document(html.encode("utf-8", errors="replace"), member, "x.html", url, input_format="jsonl")
        elif text and isinstance(text, str):
            encoded = text.encode("utf-8", errors="replace")  # JSON may escape lone surrogates; no file can hold them
            yield Page(member, without_controls(encoded.decode("utf-8")), "utf-8", "jsonl", url) \
                if len(encoded) <= MAX_PAGE_BYTES else _page_too_large(member, len(encoded))
        else:
            yield PageError(member, "JSON line has no 'html' or 'text' string")
