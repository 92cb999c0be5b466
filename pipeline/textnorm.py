"""Text normalization shared by the cleaner, the record builder and dedup."""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from pipeline.derived import kept_on_disk

# Bullet glyphs that text browsers and sites put before list items.
BULLET_CHARS = "•·●○◦▪▫■□◆◇►▸▶➢➤★☆✓✔-*+"
BULLET_RE = re.compile(r"^\s*[" + re.escape(BULLET_CHARS) + r"]\s+")
NUMBERED_RE = re.compile(
    r"^\s*(?:\d{1,2}\s*[.、．)）]|[（(]\s*[一二三四五六七八九十\d]{1,3}\s*[)）]|[一二三四五六七八九十]{1,3}\s*[、.．])\s*"
)
# One character at a time: a pattern that starts with a plain class lets the search skip to the
# next match, a repeat (`[\W_]+`) makes it try a match at every character.
_PUNCT_SPACE_RE = re.compile(r"[\W_]")
_PUNCT_SPACE_BUT_LINE_BREAK_RE = re.compile(r"[^\w\n]")  # and "_", removed by str.replace
_DIGITS_RE = re.compile(r"\d")
# Most of what the fold removes from Chinese text (in matching form); str.replace drops them far
# faster than re.sub, which pays for every match.
_FREQUENT_FOLDED_MARKS = ("\n", " ", ",", "。", "、")


def _opencc_characters() -> Path:
    """OpenCC's traditional → simplified character dictionary, found without importing OpenCC."""
    return Path(importlib.util.find_spec("opencc").origin).parent / "dictionary" / "TSCharacters.txt"


@lru_cache(maxsize=1)
def t2s_table() -> dict[int, str]:
    """Traditional→simplified character table, taken from OpenCC's own dictionary."""
    path = _opencc_characters()
    table: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and len(parts[0]) == 1:
            target = parts[1].split(" ")[0]
            if len(target) == 1 and target != parts[0]:
                table[ord(parts[0])] = target
    return table


@lru_cache(maxsize=1)
def _maybe_traditional_re() -> re.Pattern:
    """A traditional character of the basic plane, or any character beyond it.

    str.translate looks every character up in the table, which is slow, and most text has no
    traditional character at all, so only text with a match is translated. The few table entries
    beyond the basic plane are covered by one range: listed one by one they would turn the class
    into a slow linear scan.
    """
    basic = "".join(chr(code) for code in t2s_table() if code <= 0xFFFF)
    return re.compile(f"[{re.escape(basic)}\U00010000-\U0010FFFF]")


def to_simplified(text: str) -> str:
    if _maybe_traditional_re().search(text) is None:
        return text
    return text.translate(t2s_table())


@lru_cache(maxsize=1)
@kept_on_disk(lambda: [_opencc_characters()])
def _matching_chars() -> tuple[dict[str, str], dict[str, int], frozenset[str], re.Pattern]:
    """The matching form of every BMP character that is the same alone as in any context.

    NFKC composes a character with its neighbours only around combining marks and characters that
    compose with the one before (Hangul jamo compose algorithmically); text holding one of those,
    or a character outside the BMP, is normalized as a whole instead. Everything else maps one
    character at a time, which is much cheaper than NFKC on every line.

    Returns the mapping; the rank of each mapped character, higher than that of the mapped characters
    its target holds (replaced in this order, no target is mapped again); the contextual characters;
    and one pattern finding both kinds.
    """
    table = t2s_table()
    blocked = {chr(cp) for cp in range(0x1100, 0x1200)}
    for cp in range(0x10000):
        ch = chr(cp)
        decomposition = unicodedata.decomposition(ch)
        if decomposition and not decomposition.startswith("<") and len(decomposition.split()) == 2:
            blocked.add(chr(int(decomposition.split()[1], 16)))
        if unicodedata.combining(ch):
            blocked.add(ch)
    mapping, context = {}, []
    for cp in range(0x80, 0x10000):
        ch = chr(cp)
        if 0xD800 <= cp < 0xE000:
            continue
        target = unicodedata.normalize("NFKC", ch)
        if ch in blocked or not blocked.isdisjoint(target):
            context.append(ch)
            continue
        target = target.translate(table) if len(target) > 1 else table.get(ord(target), target)
        if target != ch:
            mapping[ch] = target
    rank = {ch: _chain_depth(ch, mapping) for ch in mapping}
    found = re.compile(char_class([*mapping, *context]) + "|[\U00010000-\U0010FFFF]")
    return mapping, rank, frozenset(context), found


def _chain_depth(ch: str, mapping: dict[str, str]) -> int:
    """How many mapped characters deep the target of ch holds mapped characters (traditional forms
    of other traditional forms exist: 薴 → 苧 → 苎)."""
    return max((1 + _chain_depth(inner, mapping) for inner in mapping[ch] if inner in mapping), default=0)


def char_class(chars) -> str:
    """A regex character class of chars, written as ranges."""
    codes = sorted(map(ord, chars))
    ranges, start = [], codes[0]
    for prev, code in zip(codes, codes[1:] + [None]):
        if code != prev + 1:
            ranges.append(re.escape(chr(start)) + ("" if prev == start else "-" + re.escape(chr(prev))))
            start = code
    return "[" + "".join(ranges) + "]"


def _matching_text(text: str) -> str:
    """NFKC (full-width → half-width) and traditional → simplified, untrimmed."""
    if text.isascii():
        return text
    mapping, rank, contextual, pattern = _matching_chars()
    present = set(pattern.findall(text))
    if not present:
        return text
    if not contextual.isdisjoint(present) or max(present) > "\uffff":
        return to_simplified(unicodedata.normalize("NFKC", text))
    # a replace per distinct character: text has few of them, and many occurrences of each
    for ch in sorted(present, key=rank.__getitem__):
        text = text.replace(ch, mapping[ch])
    return text


def for_matching(line: str) -> str:
    """NFKC (full-width → half-width), traditional → simplified, trimmed: what rules match against."""
    return _matching_text(line).strip()


def lines_for_matching(text: str) -> list[str]:
    """for_matching of every line of text.splitlines(), normalizing the text in one pass.

    NFKC neither creates nor removes line breaks and never composes across one, so the lines
    correspond one to one.
    """
    return [line.strip() for line in _matching_text(text).splitlines()]


def fold_for_hash(line: str) -> str:
    """CCNet-style line key: matching form, lower case, digits folded, punctuation and spaces removed."""
    return fold_matching_form(for_matching(line))


def fold_matching_form(norm: str) -> str:
    """fold_for_hash of a line already in matching form."""
    key = norm.lower()
    for mark in _FREQUENT_FOLDED_MARKS:
        key = key.replace(mark, "")
    key = _PUNCT_SPACE_RE.sub("", key)
    # Only letters and digits are left; most text has no digit, and isalpha() finds that out
    # faster than the digit pattern's search.
    return key if key.isalpha() else _DIGITS_RE.sub("0", key)


def fold_matching_forms(norms: list[str]) -> list[str]:
    """fold_matching_form of each line, worked on the lines joined: a few calls instead of a few per line.

    No line holds a line break, and a line break, like the end of a string, is neither a letter nor
    a digit nor case-ignorable, so lower() (final sigma) and the substitutions treat every line
    as they treat it alone. A line without digits is unchanged by the digit fold.
    """
    if not norms:
        return []
    joined = _PUNCT_SPACE_BUT_LINE_BREAK_RE.sub("", "\n".join(norms).lower()).replace("_", "")
    return _DIGITS_RE.sub("0", joined).split("\n")


def strip_bullet(line: str) -> tuple[str, bool]:
    """Remove a leading bullet glyph; returns the text and whether there was one."""
    match = BULLET_RE.match(line)
    if match:
        return line[match.end():].strip(), True
    return line.strip(), False


def char_bigrams(text: str) -> list[str]:
    compact = "".join(text.split())
    return [compact[i:i + 2] for i in range(len(compact) - 1)]
