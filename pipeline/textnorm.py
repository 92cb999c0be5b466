"""Text normalization shared by the cleaner, the record builder and dedup."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

# Bullet glyphs that text browsers and sites put before list items.
BULLET_CHARS = "•·●○◦▪▫■□◆◇►▸▶➢➤★☆✓✔-*+"
BULLET_RE = re.compile(r"^\s*[" + re.escape(BULLET_CHARS) + r"]\s+")
NUMBERED_RE = re.compile(
    r"^\s*(?:\d{1,2}\s*[.、．)）]|[（(]\s*[一二三四五六七八九十\d]{1,3}\s*[)）]|[一二三四五六七八九十]{1,3}\s*[、.．])\s*"
)
_PUNCT_SPACE_RE = re.compile(r"[\W_]+", re.UNICODE)
_DIGITS_RE = re.compile(r"\d")


@lru_cache(maxsize=1)
def t2s_table() -> dict[int, str]:
    """Traditional→simplified character table, taken from OpenCC's own dictionary."""
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and len(parts[0]) == 1:
            target = parts[1].split(" ")[0]
            if len(target) == 1 and target != parts[0]:
                table[ord(parts[0])] = target
    return table


def to_simplified(text: str) -> str:
    return text.translate(t2s_table())


def for_matching(line: str) -> str:
    """NFKC (full-width → half-width), traditional → simplified, trimmed: what rules match against."""
    if not line.isascii():
        line = unicodedata.normalize("NFKC", line).translate(t2s_table())
    return line.strip()


def fold_for_hash(line: str) -> str:
    """CCNet-style line key: matching form, lower case, digits folded, punctuation and spaces removed."""
    return _DIGITS_RE.sub("0", _PUNCT_SPACE_RE.sub("", for_matching(line).lower()))


def strip_bullet(line: str) -> tuple[str, bool]:
    """Remove a leading bullet glyph; returns the text and whether there was one."""
    match = BULLET_RE.match(line)
    if match:
        return line[match.end():].strip(), True
    return line.strip(), False


def char_bigrams(text: str) -> list[str]:
    compact = "".join(text.split())
    return [compact[i:i + 2] for i in range(len(compact) - 1)]
