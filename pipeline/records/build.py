"""Clean articles → Q&A records with metadata, tags, citations and flags."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import urlparse

from pipeline.model import Article, CleanedPage
from pipeline.records import extract
from pipeline.records.question import question_type, questions_from_title
from pipeline.textnorm import fold_for_hash

SHORT_ANSWER_CHARS = 80


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


@dataclass
class RecordBuilder:
    taxonomy: dict[str, tuple[str, ...]]
    keyword_count: int = 8

    def build(self, cleaned: CleanedPage, run_id: str) -> list[Record]:
        page = cleaned.page
        total_chars = sum(len(d.text.strip()) for d in cleaned.decisions) or 1
        removed_chars = sum(len(d.text.strip()) for d in cleaned.removed)
        return [self._record(article, cleaned, run_id, removed_chars / total_chars) for article in cleaned.articles]

    def _record(self, article: Article, cleaned: CleanedPage, run_id: str, removed_ratio: float) -> Record:
        page = cleaned.page
        answer = article.body
        question, alternatives = questions_from_title(article.title)
        tokens = extract.tokenize(answer)
        flags = list(article.flags)
        if extract.mixed_language(answer):
            flags.append("mixed_language")
        if extract.spun_text_suspected(tokens):
            flags.append("spun_text_suspected")
        if len("".join(answer.split())) < SHORT_ANSWER_CHARS:
            flags.append("short_answer")
        source_url = article.meta.get("source_url") or page.url or ""
        site = article.meta.get("site") or article.meta.get("source") or (urlparse(source_url).hostname or "")
        return Record(
            record_id=record_id_for(answer),
            source_path=article.source_path,
            part=article.part,
            source_url=source_url,
            site=site,
            category=article.meta.get("category", ""),
            published_at=article.meta.get("published_at", ""),
            author=article.meta.get("author", ""),
            title=article.title,
            question=question,
            alt_questions=alternatives,
            question_type=question_type(question or article.title),
            answer=answer,
            summary=extract.summary(article.lines, question),
            keywords=extract.keywords(tokens, self.keyword_count),
            tags=extract.tags(article.title, answer, self.taxonomy),
            laws=extract.laws(answer),
            entities=extract.entities(answer, tokens),
            flags=flags,
            char_count=len("".join(answer.split())),
            removed_ratio=round(removed_ratio, 4),
            encoding=page.encoding,
            input_format=page.input_format,
            first_seen_run=run_id,
        )
