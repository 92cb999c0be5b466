"""Bytes → text: BOM, declared charset, strict UTF-8, then charset-normalizer; never raises."""

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
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Sites label GBK and GB18030 pages as gb2312; gb18030 is a superset of both.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
              "big5": "big5hkscs", "x-big5": "big5hkscs"}


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


def decode_bytes(data: bytes, header: str | None = None) -> tuple[str, str]:
    """Returns (text, encoding used). Raises BinaryContent for bytes that are not text."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name, errors="replace"), name.replace("-sig", "")
    if looks_binary(data):
        raise BinaryContent("binary content (not text)")
    declared = declared_charset(data, header)
    if declared:
        try:
            return data.decode(declared), declared
        except UnicodeDecodeError:
            pass  # a wrong label is common; fall through to detection
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[:200_000]).best()
    if best is None or best.encoding is None:
        if declared:
            return data.decode(declared, errors="replace"), declared
        raise BinaryContent("undecodable bytes: no text encoding fits")
    encoding = canonical_encoding(best.encoding) or best.encoding
    return data.decode(encoding, errors="replace"), encoding
