"""Finders for keywords, tags, cited laws, entities, summary and flags of an answer."""

from __future__ import annotations

import heapq
import importlib.util
import re
import tomllib
from collections import Counter
from functools import lru_cache
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import Iterator

import rjieba
from ahocorasick_rs import AhoCorasick

from pipeline.derived import kept_on_disk

_LAW_RE = re.compile(
    r"《([^《》]{1,40}?(?:法|法典|条例|规定|办法|解释|意见|规则|决定|准则|细则|通知))》"
    r"(第[一二三四五六七八九十百千零〇\d]+条(?:第[一二三四五六七八九十\d]+款)?)?"
)
# Hotlines (12xxx, 110, 119, 120), 400 numbers, landlines with an area code and mobiles, not part
# of a longer number. The first digit is matched before the look-behind so that the search can
# skip straight to the next 0, 1 or 4 instead of trying the pattern at every character.
_PHONE_RE = re.compile(r"""
    ([014](?<![\d.][014])
     (?:(?<=1)(?:2\d{3}|10|19|20|[3-9]\d{9})
       |(?<=4)00-?\d{3}-?\d{4}
       |(?<=0)\d{2,3}-\d{7,8}))
    (?![\d.])""", re.VERBOSE)
_SUMMARY_RE = re.compile(r"^(?:综上所述|综上|总之|总而言之|总的来说|简而言之|概括来说|总结|结论)")
_SENTENCE_ENDS = "。！？!?"
# Two or more Latin words; a plain first letter (not a repeat) lets the search skip to letters.
_LATIN_WORDS_RE = re.compile(r"[A-Za-z][A-Za-z]+(?:\s+[A-Za-z]{2,})+")
_STOP = {"的", "了", "是", "在", "和", "与", "或", "等", "也", "就", "都", "而", "及", "对", "为", "以", "但",
         "如果", "可以", "需要", "进行", "我们", "他们", "一些", "这些", "那么", "因此", "所以", "以及", "已经",
         "可能", "没有", "一个", "这种", "如何", "什么", "是否", "不得", "应当", "相关", "自己", "其中", "时候"}
SUMMARY_MAX_CHARS = 200


def _jieba_folder() -> Path:
    """Where jieba's data files are, without importing it: jieba.analyse alone takes seconds to load
    part-of-speech models this pipeline does not use."""
    return Path(importlib.util.find_spec("jieba").origin).parent


@lru_cache(maxsize=1)
@kept_on_disk(lambda: [_jieba_folder() / "analyse" / "idf.txt"])
def idf_table() -> tuple[dict[str, float], float, float]:
    """jieba's IDF table (word → idf), its median (for words it does not know) and its highest value."""
    path = _jieba_folder() / "analyse" / "idf.txt"
    table: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        word, _, value = line.partition(" ")
        if value:
            table[word] = float(value)
    values = sorted(table.values())
    return table, values[len(values) // 2], values[-1]


@lru_cache(maxsize=1)
@kept_on_disk(lambda: [_jieba_folder() / "dict.txt", Path(resources.files("pipeline.data") / "gazetteer.toml")])
def place_names() -> frozenset[str]:
    """Places: the segmenter dictionary's place words that end in an administrative suffix, plus provinces."""
    path = _jieba_folder() / "dict.txt"
    places = set(gazetteer()["provinces"])
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ")
        if (len(parts) == 3 and parts[2] == "ns" and len(parts[0]) >= 3
                and parts[0].endswith(("省", "市", "县", "自治区", "自治州"))):
            places.add(parts[0])
    return frozenset(places)


@lru_cache(maxsize=1)
def gazetteer() -> dict:
    return tomllib.loads(resources.files("pipeline.data").joinpath("gazetteer.toml").read_text(encoding="utf-8"))


def load_taxonomy(extra: dict[str, list[str]] | None = None) -> dict[str, tuple[str, ...]]:
    text = resources.files("pipeline.data").joinpath("taxonomy.toml").read_text(encoding="utf-8")
    tags = {name: tuple(terms) for name, terms in tomllib.loads(text)["tags"].items()}
    for name, terms in (extra or {}).items():
        tags[name] = tuple(terms)
    return tags


class Tagger:
    """Tags from the controlled vocabulary: a term of the tag in the title, or twice in the answer.

    All terms are found in one pass over a text (Aho-Corasick); every occurrence counts, also of
    a term inside a longer term, as `str.count` would count them.
    """

    def __init__(self, taxonomy: dict[str, tuple[str, ...]]):
        self.taxonomy = taxonomy
        self._tags_of: dict[str, list[str]] = {}
        for name, terms in taxonomy.items():
            for term in filter(None, terms):
                self._tags_of.setdefault(term, []).append(name)
        self._automaton = AhoCorasick(list(self._tags_of))
        self._order = {name: position for position, name in enumerate(taxonomy)}

    def __reduce__(self):
        # The automaton cannot be pickled (process pools pickle the record builder): rebuild it.
        return Tagger, (self.taxonomy,)

    def tags(self, title: str, answer: str) -> list[str]:
        found = set(self._tags_of_terms_in(title))
        found.update(name for name, count in Counter(self._tags_of_terms_in(answer)).items() if count >= 2)
        return sorted(found, key=self._order.__getitem__)

    def _tags_of_terms_in(self, text: str) -> Iterator[str]:
        """A tag name for every occurrence of one of its terms."""
        terms = self._automaton.find_matches_as_strings(text, overlapping=True)
        return chain.from_iterable(map(self._tags_of.__getitem__, terms))


@lru_cache(maxsize=1)
def organisation_finder() -> AhoCorasick:
    return AhoCorasick(gazetteer()["organisations"])


def load_tables() -> None:
    """Loads the tables the finders look words up in, which they would load at their first use."""
    known_single_characters()  # and the IDF table it is made of
    place_names()
    organisation_finder()


def word_counts(text: str) -> Counter[str]:
    """The segmenter's words with their counts, in order of first occurrence."""
    return Counter(rjieba.cut(text))


def keywords(words: Counter[str], k: int) -> list[str]:
    """Top-k TF-IDF terms, with jieba's IDF table; ties go to the word that sorts first."""
    if k <= 0:
        return []
    idf, median, highest = idf_table()
    score = idf.get
    terms = [(word, count) for word, count in words.items() if _is_term(word)]
    best = heapq.nsmallest(k, [(-count * score(word, median), word) for word, count in terms if count > 1])
    # Most words occur once, and a word seen once scores at most the highest idf: such words
    # matter only when fewer than k repeated terms score above that.
    if len(best) < k or -best[-1][0] <= highest:
        best = heapq.nsmallest(k, best + [(-score(word, median), word) for word, count in terms if count == 1])
    return [word for _, word in best]


def _is_term(token: str) -> bool:
    if token.isascii():
        return token.isalpha() and len(token) > 2
    return len(token) > 1 and token not in _STOP


def laws(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for match in _LAW_RE.finditer(text):
        seen.setdefault(f"《{match.group(1)}》{match.group(2) or ''}", None)
    return list(seen)


def entities(text: str, words: Counter[str]) -> list[str]:
    """Places the segmenter found, organisations of the gazetteer (not inside a longer name found), phones."""
    places = place_names().intersection(words)
    found = dict.fromkeys(word for word in words if word in places) if places else {}
    present = set(organisation_finder().find_matches_as_strings(text, overlapping=True))
    for organisation in filter(present.__contains__, gazetteer()["organisations"]):  # in the gazetteer's order
        if not any(organisation in other for other in found):
            found.setdefault(organisation, None)
    if "0" in text or "1" in text or "4" in text:  # every phone number starts with one of them
        for phone in _PHONE_RE.findall(text):
            found.setdefault(phone, None)
    return list(found)


def summary(lines: list[str], question: str) -> str:
    """The conclusion paragraph (综上所述, 总之 …), else the sentence that best answers the question."""
    for line in reversed(lines):
        if _SUMMARY_RE.match(line.lstrip("- ")):
            return _clip(line)
    head = "\n".join(lines[:6])
    # Only the question's bigrams that occur at all can score; testing that first saves most counting.
    terms = [term for term in {question[i:i + 2] for i in range(len(question) - 1)} if term in head]
    if not terms:
        return _clip(lines[0] if lines else "")
    sentences = [sentence for sentence in _sentences(head)
                 if len(sentence) >= 10 and not sentence.rstrip().endswith(("?", "？"))]
    # str.count parses its arguments slowly; the `in` test first skips most sentence-term pairs.
    scores = [sum([sentence.count(term) for term in terms if term in sentence]) / (1 + len(sentence) / 80)
              for sentence in sentences]
    best_score = max(scores, default=0.0)
    if best_score > 0:
        return _clip(sentences[scores.index(best_score)])
    return _clip(lines[0] if lines else "")


def _sentences(text: str) -> list[str]:
    """Pieces of the text ending at a full stop, question or exclamation mark, or a line end.

    str.replace and str.split do this with a fast scan; a regular expression tests every character.
    """
    for mark in _SENTENCE_ENDS:
        text = text.replace(mark, mark + "\n")
    return text.split("\n")


def _clip(text: str) -> str:
    text = text.strip()
    if len(text) <= SUMMARY_MAX_CHARS:
        return text
    cut = text[:SUMMARY_MAX_CHARS]
    end = max(cut.rfind(p) for p in "。！？!?；;")
    return cut[: end + 1] if end >= SUMMARY_MAX_CHARS // 2 else cut[: SUMMARY_MAX_CHARS - 1] + "…"


def mixed_language(text: str) -> bool:
    """Untranslated phrases in a Chinese answer (e.g. `terms and conditions`)."""
    return bool(_LATIN_WORDS_RE.search(text))


@lru_cache(maxsize=1)
def known_single_characters() -> frozenset[str]:
    """Characters that stand as words on their own: stop words and the IDF table's one-character words."""
    return frozenset(word for word in idf_table()[0] if len(word) == 1) | _STOP


def spun_text_suspected(words: Counter[str]) -> bool:
    """Character dropout leaves many single-character fragments the segmenter cannot join."""
    known = known_single_characters()
    cjk = singles = unknown_singles = 0
    for word, count in words.items():
        if "\u4e00" <= word < "\ua000":  # starts with a CJK ideograph (no one-character string made)
            cjk += count
            if len(word) == 1:
                singles += count
                if word not in known:
                    unknown_singles += count
    if cjk < 80:
        return False
    return singles / cjk > 0.45 or unknown_singles / cjk > 0.05
