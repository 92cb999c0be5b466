"""Clean articles → Q&A records with metadata, tags, citations and flags."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

from pipeline.model import Article, CleanedPage, Page
from pipeline.records import extract
from pipeline.records.question import question_type, questions_from_title
from pipeline.textnorm import fold_for_hash

SHORT_ANSWER_CHARS = 80
# a thread-type or column tag before a headline: [经验分享] …, 【律师解答】 …
_LEADING_TAG_RE = re.compile(r"^\s*(?:\[[^\]]{1,10}\]|【[^】]{1,10}】)\s*(?=\S)")
# markup fields that describe the whole page, not only its first article
_PAGE_WIDE_FIELDS = ("site", "source_url")


@dataclass
class Record:
    record_id: str
    source_path: str
    part: int
    source_url: str = ""
    site: str = ""
    category: str = ""
    published_at: str = ""
    author: str = ""
    title: str = ""
    question: str = ""
    alt_questions: list[str] = field(default_factory=list)
    question_type: str = "other"
    answer: str = ""
    summary: str = ""
    keywords: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    laws: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    char_count: int = 0
    removed_ratio: float = 0.0
    encoding: str = ""
    input_format: str = ""
    first_seen_run: str = ""
    dup_count: int = 0
    duplicate_sources: list[str] = field(default_factory=list)




def record_id_for(answer: str) -> str:
    """Stable id: a hash of the normalized answer, so the same text always gets the same id."""
    return hashlib.sha1(fold_for_hash(answer).encode("utf-8")).hexdigest()[:16]


def char_count(answer: str) -> int:
    """Characters of the answer, whitespace aside."""
    return len("".join(answer.split()))


def removed_ratio(cleaned: CleanedPage) -> float:
    """The share of the page's characters (whitespace aside) that the cleaner removed."""
    total_chars = kept_chars = 0
    for decision in cleaned.decisions:
        chars = len(decision.text.strip())
        total_chars += chars
        if decision.keep:
            kept_chars += chars
    if cleaned.page_lines is not None:  # the kept text was extracted again from the page's own
        total_chars = sum(len(decision.text.strip()) for decision in cleaned.decisions[:cleaned.page_lines])
    return max(0, total_chars - kept_chars) / (total_chars or 1)


@dataclass
class RecordBuilder:
    taxonomy: dict[str, tuple[str, ...]]
    keyword_count: int = 8
    tagger: extract.Tagger = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.tagger = extract.Tagger(self.taxonomy)

    def build(self, cleaned: CleanedPage, run_id: str) -> list[Record]:
        ratio = removed_ratio(cleaned)
        return [self.record(article, cleaned.page, ratio, run_id, record_id_for(article.body))
                for article in cleaned.articles]

    def record(self, article: Article, page: Page, removed_ratio: float, run_id: str, record_id: str) -> Record:
        """The record of one article of page (record_id: record_id_for its body, worked out once)."""
        answer = article.body
        meta = article_metadata(article, page)
        question, alternatives = questions_from_title(meta["title"])
        words = extract.word_counts(answer)
        chars = char_count(answer)
        flags = list(article.flags)
        if extract.mixed_language(answer):
            flags.append("mixed_language")
        if extract.spun_text_suspected(words):
            flags.append("spun_text_suspected")
        if chars < SHORT_ANSWER_CHARS:
            flags.append("short_answer")
        return Record(
            record_id=record_id,
            source_path=article.source_path,
            part=article.part,
            source_url=meta["source_url"],
            site=meta["site"],
            category=article.meta.get("category", ""),
            published_at=meta["published_at"],
            author=meta["author"],
            title=meta["title"],
            question=question,
            alt_questions=alternatives,
            question_type=question_type(question or meta["title"]),
            answer=answer,
            summary=extract.summary(article.lines, question),
            keywords=extract.keywords(words, self.keyword_count),
            tags=self.tagger.tags(meta["title"], answer),
            laws=extract.laws(answer),
            entities=extract.entities(answer, words),
            flags=flags,
            char_count=chars,
            removed_ratio=round(removed_ratio, 4),
            encoding=page.encoding,
            input_format=page.input_format,
            first_seen_run=run_id,
        )


def article_metadata(article: Article, page: Page) -> dict[str, str]:
    """Title, URL, site, date and author of an article, from the page's markup and its visible chrome.

    The markup (HTML tags, pipeline/readers/html_meta.py) describes the page's first article; later
    articles of the page take only its site and URL. Field by field:
    - title: the title line the cleaner found, else the markup's (og:title, the single <h1>, <title>);
      a leading [tag] or 【tag】 is dropped
    - source_url: <link rel=canonical> or og:url, then a visible 本文链接, then where the page was
      fetched (WARC-Target-URI, the url of a JSON line)
    - site: the markup's site name (og:site_name, SiteName, the <title> suffix), then the visible 来源,
      then the URL's host name
    - published_at: the markup's date (article:published_time, publishdate…); a visible date of the
      same day refines it with the time of day; the visible date when the markup states none
    - author: the markup's author, then the visible byline (作者, 本文为…原创), then 责任编辑, then
      the user name of the first post (forums); never the site itself
    """
    markup = page.meta if article.part == 0 else {k: page.meta[k] for k in _PAGE_WIDE_FIELDS if k in page.meta}
    seen = article.meta
    source_url = markup.get("source_url") or seen.get("source_url") or page.url or ""
    site = markup.get("site") or seen.get("source") or urlparse(source_url).hostname or ""
    author = markup.get("author") or seen.get("author") or seen.get("editor") or markup.get("poster") or ""
    title = article.title or markup.get("title", "")
    return {
        "title": _LEADING_TAG_RE.sub("", title),
        "source_url": source_url,
        "site": site,
        "published_at": _published_at(markup.get("published_at"), seen.get("published_at")),
        "author": "" if author == site else author,
    }


def _published_at(stated: str | None, shown: str | None) -> str:
    if stated and shown and shown.startswith(stated) and len(shown) > len(stated):
        return shown
    return stated or shown or ""
