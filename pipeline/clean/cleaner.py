"""Text-dump cleaner: decides for every line whether it is article text, and which rule said so.

The page is read as a sequence of classified lines. Line rules (regular expressions from the
registry) mark chrome; the shape of the page does the rest: the first real paragraph anchors the
article, the title is the title-like line just above it, a related-links heading or a run of
titles with teasers and dates ends it, and short leftovers after the last paragraph are furniture.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field, replace

from pipeline.clean import dom, metadata
from pipeline.clean.rules import Rule, RuleSet
from pipeline.clean.templates import hash_key
from pipeline.model import Article, BlockEvidence, CleanedPage, LineDecision, Page
from pipeline.textnorm import BULLET_CHARS, NUMBERED_RE, fold_matching_form, lines_for_matching, strip_bullet

# Line classes
BLANK, CHROME, CUT, DATE, TEASER, SHORT, PARA = "blank", "chrome", "cut", "date", "teaser", "short", "para"

_SENTENCE_END = tuple("。!！;；")
_TITLE_NEVER_ENDS = tuple("。,，:：;；")
_ELLIPSES = ("...", "…")
_CLOSING_BRACKETS = tuple(")）]")
_TEASER_LAST_CHARS = (*_ELLIPSES, *_CLOSING_BRACKETS)  # most lines end otherwise and need no closer look
_CJK_FIRST, _CJK_LAST = "\u4e00", "\u9fff"
_CJK_HIGH_BYTES = bytes(range(0x4E, 0xA0))
_SEPARATOR_CHARS = "=-*_~#·.+"
_SEPARATOR_RE = re.compile(f"^[{re.escape(_SEPARATOR_CHARS)}]{{5,}}$")
_NUMBERING_STARTS = "（(一二三四五六七八九十"
PARA_MIN_CHARS = 40  # an unpunctuated line this long reads as prose, not as a title
TITLE_MAX_CHARS = 64
STRONG_MIN_CHARS = 15  # the anchor paragraph of an article
OFF_TOPIC_MIN_RUN = 6
OFF_TOPIC_MAX_OVERLAP = 0.25
LINK_LIST_MIN_EVIDENCE = 3  # teasers or dates in a run of titles
TAIL_MAX_CHARS = 20
TITLE_MIN_CHARS = 6
PROSE_MIN_CJK_SHARE = 0.5


def _bigrams(text: str) -> set[str]:
    return set(map(operator.add, text, text[1:]))


def _share_in(grams: set[str], text: str) -> float:
    """The share of the bigrams that occur in text."""
    return sum(1 for gram in grams if gram in text) / len(grams) if grams else 0.0


@dataclass(slots=True)
class Line:
    no: int
    raw: str
    norm: str  # matching form
    text: str  # display form: trimmed, bullet glyph replaced by "- "
    cls: str
    rule: Rule | None
    bullet: bool
    numbered: bool
    decision: str | None = None  # rule name once decided
    role: str = "body"
    evidence: BlockEvidence | None = None  # DOM evidence; HTML pages only
    _strong: bool | None = field(default=None, init=False)

    @property
    def strong(self) -> bool:
        """A paragraph that can anchor an article; worked out only for the lines asked about."""
        if self._strong is None:
            self._strong = self.cls == PARA and _reads_as_prose(self.norm)
        return self._strong


def _classify(no: int, raw: str, norm: str, matcher) -> Line:
    if not norm:
        return Line(no, raw, norm, raw.strip(), BLANK, None, False, False)
    # the regexes run only where the first character allows (bullet glyphs are their own matching form)
    stripped, bullet = strip_bullet(raw) if norm[0] in BULLET_CHARS else (raw.strip(), False)
    text = f"- {stripped}" if bullet else stripped
    rule = matcher.match(norm)
    numbered = (norm[0].isdecimal() or norm[0] in _NUMBERING_STARTS) and NUMBERED_RE.match(norm) is not None
    if rule is not None:
        cls = CUT if rule.action == "cut" else (DATE if rule.name == "date_line" else CHROME)
    elif len(norm) >= 15 and norm.endswith(_TEASER_LAST_CHARS) and _ends_as_teaser(norm):
        cls = TEASER
    elif len(norm) >= PARA_MIN_CHARS or norm.endswith(_SENTENCE_END):
        cls = PARA
    else:
        cls = SHORT
    return Line(no, raw, norm, text, cls, rule, bullet, numbered)


def _ends_as_teaser(norm: str) -> bool:
    """Cut with an ellipsis, perhaps inside a closing bracket."""
    if norm.endswith(_CLOSING_BRACKETS):
        norm = norm[:-1].rstrip()
    return norm.endswith(_ELLIPSES)


def _title_like(line: Line) -> bool:
    return (
        line.cls in (SHORT, PARA)
        and len(line.norm) <= TITLE_MAX_CHARS
        and not line.norm.endswith(_TITLE_NEVER_ENDS)
        and not line.bullet
        and not line.numbered
    )


def _reads_as_prose(norm: str) -> bool:
    """A paragraph that can anchor an article: Chinese prose, not a long title, ticker or table row."""
    if len(norm) < STRONG_MIN_CHARS:
        return False
    if not (norm.endswith(_SENTENCE_END) or "。" in norm or len(norm) > TITLE_MAX_CHARS):
        return False
    return _cjk_count(norm) >= PROSE_MIN_CJK_SHARE * (len(norm) - norm.count(" "))


def _cjk_count(text: str) -> int:
    """Characters U+4E00–U+9FFF: exactly the UTF-16 code units whose high byte is 0x4E–0x9F.

    Counted on the bytes because a regex over every character of every paragraph is slow.
    """
    high_bytes = text.encode("utf-16-le")[1::2]
    return len(high_bytes) - len(high_bytes.translate(None, _CJK_HIGH_BYTES))


def _is_dated_byline(line: Line) -> bool:
    return line.rule is not None and line.rule.name == "meta_line" and metadata.iso_date(line.norm) is not None


def _repeats_title(norm: str, title_key: str) -> bool:
    # most body lines lack the title's first character, and so need not be folded: a CJK ideograph
    # folds from itself only (it has no case, and is neither a digit nor punctuation)
    first = title_key[0]
    if _CJK_FIRST <= first <= _CJK_LAST and first not in norm:
        return False
    key = fold_matching_form(norm)
    return key == title_key or (key.startswith(title_key) and len(key) <= len(title_key) + 8)


def _next_content(lines: list[Line], start: int) -> Line | None:
    for index in range(start, len(lines)):  # no slice: a copy per call is quadratic on huge pages
        if lines[index].cls != BLANK:
            return lines[index]
    return None


def _before_dated_bylines(lines: list[Line]) -> set[int]:
    """The index of the content line just above each dated byline (bylines are few; lines are many)."""
    found = set()
    for i, line in enumerate(lines):
        if line.rule is not None and _is_dated_byline(line):
            above = next((j for j in range(i - 1, -1, -1) if lines[j].cls != BLANK), None)
            if above is not None:
                found.add(above)
    return found


def _is_separator(line: Line) -> bool:
    return line.cls in (SHORT, PARA) and line.norm[0] in _SEPARATOR_CHARS and _SEPARATOR_RE.match(line.norm) is not None


def _split_parts(lines: list[Line]) -> list[list[Line]]:
    """Several articles in one page: split at separator rows, and at a title followed by its own byline.

    Only those lines can split a page, so only they are visited, with a look for a paragraph between them.
    """
    separators = {i for i, line in enumerate(lines) if _is_separator(line)}
    parts: list[list[Line]] = []
    start = unseen = 0  # the first line of the current part; the first not yet looked at for a paragraph
    seen_paragraph = False
    for i in sorted(separators | _before_dated_bylines(lines)):
        seen_paragraph = seen_paragraph or any(line.strong for line in lines[unseen:i])
        unseen = i
        if i in separators:
            lines[i].decision, lines[i].cls = "article_separator", CHROME
            unseen = i + 1
            if seen_paragraph:
                parts.append(lines[start:i + 1])
                start, seen_paragraph = i + 1, False
        elif seen_paragraph and _title_like(lines[i]):
            parts.append(lines[start:i])
            start, seen_paragraph = i, False
    parts.append(lines[start:])
    return [p for p in parts if p]


class _PartCleaner:
    """Decides every line of one article part."""

    def __init__(self, lines: list[Line], template_keys: frozenset[int]):
        self.lines = lines
        self.template_keys = template_keys
        self.title: Line | None = None

    def run(self) -> bool:
        anchor = next((i for i, line in enumerate(self.lines) if line.strong), None)
        if anchor is None:
            for line in self.lines:
                line.decision = line.decision or (line.rule.name if line.rule else "no_article")
            return False
        body_start = self._find_title(anchor)
        self._walk_body(body_start)
        self._drop_link_lists(body_start)
        for run in dom.link_dense_runs(self.lines[body_start:]):
            for line in run:
                line.decision = "link_dense_list"
        self._drop_off_topic_runs(body_start)
        self._drop_tail(body_start)
        return True

    def _find_title(self, anchor: int) -> int:
        """The title is the title-like line above the anchor that shares most vocabulary with the body."""
        candidates = [i for i in range(anchor - 1, -1, -1) if _title_like(self.lines[i])]
        best = candidates[0] if len(candidates) == 1 else None
        if len(candidates) > 1:
            body = " ".join(line.norm for line in self.lines[anchor:anchor + 12] if line.cls == PARA)
            best_score = 0.0
            for i in candidates:
                line = self.lines[i]
                grams = _bigrams(line.norm)
                overlap = _share_in(grams, body)
                # nearer lines win ties; very short lines (user names, ranks) rarely are titles
                score = overlap + (0.3 if len(line.norm) >= TITLE_MIN_CHARS else 0.0) - 0.01 * (anchor - i)
                score += dom.title_bonus(line.evidence, overlap)
                if best is None or score > best_score:
                    best, best_score = i, score
        if best is None:
            for line in self.lines[:anchor]:
                if line.cls in (CHROME, DATE, CUT):
                    line.decision = line.decision or line.rule.name
            return 0
        for line in self.lines[:best]:
            line.decision = line.decision or (line.rule.name if line.rule else "header_chrome")
        self.title = self.lines[best]
        self.title.decision, self.title.role = "title", "title"
        # between the title and the first paragraph only headings belong to the article
        for i in range(best + 1, anchor):
            line = self.lines[i]
            if line.cls in (SHORT, TEASER) and not line.numbered and not self._introduces(i):
                line.decision = line.decision or (line.rule.name if line.rule else "header_chrome")
        return best + 1

    def _walk_body(self, start: int) -> None:
        title_key = fold_matching_form(self.title.norm) if self.title else None
        in_related = in_replies = False
        seen_paragraph = False
        lines = self.lines
        for i in range(start, len(lines)):
            line = lines[i]
            if line.decision or line.cls == BLANK:
                continue
            if line.cls == CUT:
                line.decision = line.rule.name
                in_related = True
                continue
            # a second dated byline after the article's text opens replies or comments
            if seen_paragraph and not in_related and _is_dated_byline(line):
                line.decision = "reply_section"
                in_related = in_replies = True
                continue
            seen_paragraph = seen_paragraph or line.strong
            if in_related:
                # prose resumes only as two paragraphs in a row (list items alternate title/teaser);
                # once replies began, more prose is more replies
                if line.cls == PARA and self._introduces(i) and not in_replies:
                    in_related = False
                else:
                    line.decision = line.rule.name if line.cls == CHROME else "related_list"
                    continue
            if line.rule is not None:
                line.decision = line.rule.name
                continue
            if title_key and _repeats_title(line.norm, title_key):
                line.decision = "title_repeat"
                continue
            if line.cls == SHORT and self._is_template(line.norm) and not self._introduces(i):
                line.decision = "template_line"
                continue
            line.decision = "body"
            line.role = self._role(line, i)

    def _is_template(self, norm: str) -> bool:
        return bool(self.template_keys) and hash_key(fold_matching_form(norm)) in self.template_keys

    def _introduces(self, i: int) -> bool:
        following = _next_content(self.lines, i + 1)
        return following is not None and following.cls == PARA and following.rule is None

    def _role(self, line: Line, i: int) -> str:
        if line.bullet:
            return "list_item"
        if line.numbered:
            return "heading" if line.cls == SHORT else "list_item"
        return "heading" if line.cls == SHORT and self._introduces(i) else "body"

    def _kept_runs(self, start: int, allowed: tuple[str, ...]):
        """Maximal runs of kept lines (blank lines ignored) whose classes are all in allowed."""
        run: list[Line] = []
        for line in self.lines[start:]:
            if line.cls == BLANK:
                continue
            if line.decision == "body" and line.cls in allowed:
                run.append(line)
                continue
            if run:
                yield run
            run = []
        if run:
            yield run

    def _drop_link_lists(self, start: int) -> None:
        for run in self._kept_runs(start, (SHORT, TEASER, DATE)):
            evidence = sum(1 for line in run if line.cls in (TEASER, DATE))
            titles = sum(1 for line in run if line.cls == SHORT)
            if evidence >= LINK_LIST_MIN_EVIDENCE and titles >= LINK_LIST_MIN_EVIDENCE - 1:
                for line in run:
                    line.decision = "link_list"

    def _drop_off_topic_runs(self, start: int) -> None:
        runs = [run for run in self._kept_runs(start, (SHORT,)) if len(run) >= OFF_TOPIC_MIN_RUN]
        if not runs:
            return
        # lines joined by a character no line holds: the text has exactly the lines' bigrams, and more
        article = "\n".join(line.norm for line in self.lines
                             if line.decision in ("body", "title") and line.cls == PARA or line is self.title)
        for run in runs:
            grams = set().union(*(_bigrams(line.norm) for line in run))
            if grams and _share_in(grams, article) < OFF_TOPIC_MAX_OVERLAP:
                for line in run:
                    line.decision = "off_topic_block"

    def _drop_tail(self, start: int) -> None:
        # from the end, and no further than the last kept line that is not furniture
        for i in range(len(self.lines) - 1, start - 1, -1):
            line = self.lines[i]
            if line.decision != "body":
                continue
            if line.bullet or line.numbered:
                break
            # short leftovers, and long lines that are not prose (tickers, link rows) once the text has ended
            if line.cls == SHORT and len(line.norm) <= TAIL_MAX_CHARS or line.cls == PARA and not line.strong:
                line.decision = "tail_furniture"
            else:
                break


def clean_page(page: Page, rules: RuleSet, template_keys: frozenset[int] = frozenset()) -> CleanedPage:
    """Cleans one page into articles; every input line gets a decision naming its rule.

    An HTML page in which no article is found (its text sits in an element taken for furniture, say)
    gets trafilatura's extraction as its text, cleaned the same way; those lines follow the page's
    own in the decisions, numbered on from its last line, and kept ones name the fallback's rule.
    """
    cleaned, page_meta = _clean_lines(page, rules, template_keys)
    if cleaned.articles or page.html is None:
        return cleaned
    extracted = dom.trafilatura_body(page.html)
    if not extracted.strip():
        return cleaned
    fallback, _ = _clean_lines(replace(page, text=extracted, evidence=None, html=None), rules, template_keys)
    rule, offset = rules.by_name["trafilatura_body"], len(cleaned.decisions)
    for article in fallback.articles:
        article.flags.append(rule.flag)
        # the byline trafilatura leaves out was still read off the page's own lines
        for key, value in page_meta.items():
            article.meta.setdefault(key, value)
    decisions = [replace(d, line_no=d.line_no + offset, rule=rule.name if d.keep else d.rule)
                 for d in fallback.decisions]
    return CleanedPage(page, fallback.articles, cleaned.decisions + decisions, page_lines=offset)


def _clean_lines(page: Page, rules: RuleSet, template_keys: frozenset[int]) -> tuple[CleanedPage, dict[str, str]]:
    """The page cleaned, and the metadata its first part's chrome shows (date, source, author…)."""
    matcher = rules.matcher(page.source_path)
    lines = [_classify(no, raw, norm, matcher)
             for no, (raw, norm) in enumerate(zip(page.text.splitlines(), lines_for_matching(page.text)), start=1)]
    for line, evidence in zip(lines, page.evidence or ()):
        line.evidence = evidence
        if line.rule is None and line.cls != BLANK and dom.is_furniture(evidence):
            line.rule, line.cls = rules.by_name["page_container"], CHROME
    articles: list[Article] = []
    decisions: list[LineDecision] = []
    page_meta: dict[str, str] = {}
    for part_lines in _split_parts(lines):
        part_cleaner = _PartCleaner(part_lines, template_keys)
        found = part_cleaner.run()
        meta: dict[str, str] = {}
        flags: list[str] = []
        for line in part_lines:
            if line.rule is not None and line.decision not in ("related_list", "link_list", "body"):
                metadata.harvest(line.rule.name, line.norm, meta)
                if line.rule.flag and line.rule.flag not in flags:
                    flags.append(line.rule.flag)
            if line.decision == "off_topic_block" and "off_topic_removed" not in flags:
                flags.append("off_topic_removed")
        if not articles:
            page_meta = dict(meta)
        part = len(articles)
        body = [line.text for line in part_lines if line.decision == "body"]
        if found and body:
            for key, value in page_meta.items():
                meta.setdefault(key, value)
            title = part_cleaner.title.raw.strip() if part_cleaner.title else ""
            articles.append(Article(page.source_path, part, title, body, meta, flags))
        for line in part_lines:
            decisions.append(
                LineDecision(line.no, line.raw, line.decision == "body", line.decision or "body",
                             line.role if line.decision in ("body", "title") else "chrome", part)
            )
    return CleanedPage(page, articles, decisions), page_meta
