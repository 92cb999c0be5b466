"""Bytes → text: BOM, strict UTF-8, declared charset, then charset-normalizer.

A GB label on bytes that are also valid Big5 (or the reverse) is settled by charset-normalizer.

Raises only BinaryContent, for bytes that are not text.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Runs of NUL bytes are blocks a crash left unwritten (preallocated or sparse files), not text.
# Spelled out rather than as \x00{16,}: a literal start lets the engine skip to candidates.
_NUL_BLOCK_RE = re.compile(rb"\x00" * 16 + rb"\x00*")
# Control characters are never page text; ANSI colour codes (a captured terminal) go whole. Kept: tab
# and the characters Python reads as line breaks (\n \r \v \f \x1c-\x1e \x85). The pattern starts
# with the class (the escape character is one of it) so that the engine scans for it: an alternation
# at the start would be tried at every character.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f](?:(?<=\x1b)\[[0-9;?]*[ -/]*[@-~])?")
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Sites label GBK and GB18030 pages as gb2312; gb18030 is a superset of both.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
              "big5": "big5hkscs", "x-big5": "big5hkscs"}
# GB and Big5 share their byte ranges: Big5 text nearly always decodes as GB18030 without an error,
# so a label of one family does not rule out the other. GBK text mostly fails a strict Big5 decode
# within its first lines (GBK uses trail bytes 0x80-0xA0, Big5 does not), so GB pages rarely pay
# for the detection.
_GB_FAMILY = {"gb2312", "gbk", "gb18030"}
_BIG5_FAMILY = {"big5", "big5hkscs", "cp950"}


class BinaryContent(ValueError):
    """The bytes are not text in any encoding we can recognise."""


def canonical_encoding(label: str) -> str | None:
    label = label.strip().lower()
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def declared_charset(data: bytes, header: str | None = None) -> str | None:
    """The charset named by an HTTP Content-Type header or an HTML <meta> tag."""
    if header:
        found = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", header, re.IGNORECASE)
        if found:
            return canonical_encoding(found.group(1))
    found = _META_CHARSET_RE.search(data[:4096])
    return canonical_encoding(found.group(1).decode("ascii", "ignore")) if found else None


_CONTROL_BYTES = bytes(b for b in range(32) if b < 9 or 13 < b)


def looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if not sample:
        return False
    if sample.count(b"\x00") > len(sample) // 100:
        return not (sample.startswith(codecs.BOM_UTF16_LE) or sample.startswith(codecs.BOM_UTF16_BE))
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls > len(sample) // 20


def without_controls(text: str) -> str:
    return _CONTROL_RE.sub("", text)


def strict_utf8(data: bytes) -> str | None:
    """The text if data is UTF-8, allowing a character cut off at the very end (a truncated file)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.reason == "unexpected end of data" and err.start >= len(data) - 3:
            return data[:err.start].decode("utf-8", errors="strict")
        return None


def decode_bytes(data: bytes, header: str | None = None) -> tuple[str, str]:
    """Returns (text, encoding used). Raises BinaryContent for bytes that are not text."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name, errors="replace"), name.replace("-sig", "")
    data = _NUL_BLOCK_RE.sub(b"", data)
    if not data.strip():
        raise BinaryContent("only NUL bytes (a file never written)")
    if looks_binary(data):
        raise BinaryContent("binary content (not text)")
    # Valid UTF-8 with non-ASCII text is almost never another encoding, while labels are often wrong, and
    # UTF-8 bytes often decode as (wrong) GB18030 text without error, so UTF-8 goes before the label.
    text = strict_utf8(data)
    if text is not None:
        return text, "utf-8"
    declared = declared_charset(data, header)
    if declared:
        try:
            return _settle_rival_family(data, data.decode(declared), declared)
        except UnicodeDecodeError:
            pass  # a wrong label is common; fall through to detection
    best = from_bytes(data[:200_000]).best()
    if best is None or best.encoding is None:
        if declared:
            return data.decode(declared, errors="replace"), declared
        raise BinaryContent("undecodable bytes: no text encoding fits")
    encoding = canonical_encoding(best.encoding) or best.encoding
    return data.decode(encoding, errors="replace"), encoding


def _settle_rival_family(data: bytes, text: str, declared: str) -> tuple[str, str]:
    """The declared decoding, unless the bytes also decode in the rival CJK family and
    charset-normalizer, choosing between the two only, prefers the rival."""
    rival = "big5hkscs" if declared in _GB_FAMILY else "gb18030" if declared in _BIG5_FAMILY else None
    if rival is None:
        return text, declared
    try:
        rival_text = data.decode(rival)
    except UnicodeDecodeError:
        return text, declared
    best = from_bytes(data[:200_000], cp_isolation=[declared, rival]).best()
    if best is not None and canonical_encoding(best.encoding) == rival:
        return rival_text, rival
    return text, declared
