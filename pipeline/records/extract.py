"""Finders for keywords, tags, cited laws, entities, summary and flags of an answer."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

import rjieba

_LAW_RE = re.compile(
    r"《([^《》]{1,40}?(?:法|法典|条例|规定|办法|解释|意见|规则|决定|准则|细则|通知))》"
    r"(第[一二三四五六七八九十百千零〇\d]+条(?:第[一二三四五六七八九十\d]+款)?)?"
)
_PHONE_RE = re.compile(r"(?<![\d.])(1[2]\d{3}|110|119|120|400-?\d{3}-?\d{4}|0\d{2,3}-\d{7,8}|1[3-9]\d{9})(?![\d.])")
_SUMMARY_RE = re.compile(r"^(?:综上所述|综上|总之|总而言之|总的来说|简而言之|概括来说|总结|结论)")
_SENTENCE_RE = re.compile(r"[^。！？!?]+[。！？!?]?")
_LATIN_WORDS_RE = re.compile(r"[A-Za-z]{2,}(?:\s+[A-Za-z]{2,}){1,}")
_STOP = {"的", "了", "是", "在", "和", "与", "或", "等", "也", "就", "都", "而", "及", "对", "为", "以", "但",
         "如果", "可以", "需要", "进行", "我们", "他们", "一些", "这些", "那么", "因此", "所以", "以及", "已经",
         "可能", "没有", "一个", "这种", "如何", "什么", "是否", "不得", "应当", "相关", "自己", "其中", "时候"}
SUMMARY_MAX_CHARS = 200


@lru_cache(maxsize=1)
def idf_table() -> tuple[dict[str, float], float]:
    """jieba's IDF table (word → idf) and its median, used for words it does not know."""
    import jieba.analyse

    path = Path(jieba.analyse.__file__).parent / "idf.txt"
    table: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        word, _, value = line.partition(" ")
        if value:
            table[word] = float(value)
    values = sorted(table.values())
    return table, values[len(values) // 2]


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """Places: the segmenter dictionary's place words that end in an administrative suffix, plus provinces."""
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
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


def keywords(tokens: list[str], k: int) -> list[str]:
    """Top-k TF-IDF terms of the tokens, with jieba's IDF table."""
    idf, median = idf_table()
    counts: dict[str, int] = {}
    for token in tokens:
        if _is_term(token):
            counts[token] = counts.get(token, 0) + 1
    scored = sorted(counts, key=lambda w: (-counts[w] * idf.get(w, median), w))
    return scored[:k]


def _is_term(token: str) -> bool:
    if token.isascii():
        return token.isalpha() and len(token) > 2
    return len(token) > 1 and token not in _STOP


def tags(title: str, answer: str, taxonomy: dict[str, tuple[str, ...]]) -> list[str]:
    found = []
    for name, terms in taxonomy.items():
        if any(term in title for term in terms) or sum(answer.count(term) for term in terms) >= 2:
            found.append(name)
    return found


def laws(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for match in _LAW_RE.finditer(text):
        seen.setdefault(f"《{match.group(1)}》{match.group(2) or ''}", None)
    return list(seen)


def entities(text: str, tokens: list[str]) -> list[str]:
    places = place_names()
    found: dict[str, None] = {}
    for token in tokens:
        if token in places:
            found.setdefault(token, None)
    for organisation in gazetteer()["organisations"]:
        if organisation in text and not any(organisation in other for other in found):
            found.setdefault(organisation, None)
    for phone in _PHONE_RE.findall(text):
        found.setdefault(phone, None)
    return list(found)


def summary(lines: list[str], question: str) -> str:
    """The conclusion paragraph (综上所述, 总之 …), else the sentence that best answers the question."""
    for line in reversed(lines):
        if _SUMMARY_RE.match(line.lstrip("- ")):
            return _clip(line)
    terms = {question[i:i + 2] for i in range(len(question) - 1)}
    best, best_score = "", 0.0
    for line in lines[:6]:
        for sentence in _SENTENCE_RE.findall(line):
            if len(sentence) < 10 or sentence.rstrip().endswith(("?", "？")):
                continue
            score = sum(1 for i in range(len(sentence) - 1) if sentence[i:i + 2] in terms) / (1 + len(sentence) / 80)
            if score > best_score:
                best, best_score = sentence.strip(), score
    return _clip(best or (lines[0] if lines else ""))


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


def spun_text_suspected(tokens: list[str]) -> bool:
    """Character dropout leaves many single-character fragments the segmenter cannot join."""
    cjk = [t for t in tokens if "\u4e00" <= t[0] <= "\u9fff"]
    if len(cjk) < 80:
        return False
    idf, _ = idf_table()
    unknown_singles = sum(1 for t in cjk if len(t) == 1 and t not in _STOP and t not in idf)
    singles = sum(1 for t in cjk if len(t) == 1)
    return singles / len(cjk) > 0.45 or unknown_singles / len(cjk) > 0.05


def tokenize(text: str) -> list[str]:
    return rjieba.cut(text)
