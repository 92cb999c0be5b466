"""HTML → the line structure of a text dump, so one cleaner serves both inputs.

Block elements become lines, list items get the `  • ` bullet a text browser prints (ordered
lists their numbers), and every line carries the DOM evidence of its block: how much of it is
link text, whether it is a heading or list item, and whether it sits in a nav/header/footer/aside
element. Invisible elements (script, style, form controls…) are left out. The page is parsed
once; the same tree gives the page metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

import lxml.html
from lxml import etree

from pipeline.model import BlockEvidence
from pipeline.readers.html_meta import page_metadata

_SKIP_TAGS = {"script", "style", "noscript", "template", "iframe", "svg", "canvas", "select", "button",
              "input", "textarea", "option", "head"}
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "form",
               "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr", "td", "th",
               "blockquote", "pre", "figure", "figcaption", "hr", "address", "center", "tbody", "thead", "body"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_LIST_ITEMS = {"li", "dt", "dd"}
_FURNITURE = {"nav", "header", "footer", "aside"}
_ARTICLE = {"article", "main"}  # a header inside these is the article's own (title, byline)
_CONTEXT_TAGS = {*_HEADINGS, *_LIST_ITEMS, *_FURNITURE, *_ARTICLE, "a"}
_XML_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
# Unclosed tags nest deeper with every one; libxml2's default depth limit (256) would drop the rest
# of such a page, and a recursive walk would overflow Python's stack: huge_tree (2,048) and a loop.
_PARSER = lxml.html.HTMLParser(huge_tree=True)


@dataclass
class HtmlText:
    """An HTML page as lines of text, the evidence of each line, and the metadata of its markup."""

    text: str
    evidence: list[BlockEvidence] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)


class _Context(NamedTuple):
    heading: int = 0
    in_list: bool = False
    container: str = ""
    in_article: bool = False
    in_link: bool = False


def read_html(html: str, fetched_url: str | None = None) -> HtmlText:
    try:
        # lxml refuses a str that still declares its byte encoding; the text is decoded already
        root = lxml.html.document_fromstring(_XML_DECLARATION_RE.sub("", html, count=1), parser=_PARSER)
    except (etree.ParserError, ValueError):
        return HtmlText("")
    body = root.find("body")
    writer = _LineWriter()
    writer.walk(body if body is not None else root, _Context())
    writer.flush(_Context())
    return HtmlText("\n".join(writer.lines), writer.evidence, page_metadata(root, fetched_url))


class _LineWriter:
    """Walks the tree in document order, cutting lines at block boundaries."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.evidence: list[BlockEvidence] = []
        self._pieces: list[tuple[str, bool | None]] = []  # text, inside <a> (None: a list marker)

    def flush(self, context: _Context) -> None:
        if not self._pieces:
            return
        text = " ".join("".join(piece for piece, _ in self._pieces).split())
        if text:
            self.lines.append(text)
            self.evidence.append(BlockEvidence(self._link_density(), context.heading, context.in_list,
                                               context.container))
        self._pieces.clear()

    def _link_density(self) -> float:
        if not any(in_link for _, in_link in self._pieces):
            return 0.0
        chars = linked = 0
        for piece, in_link in self._pieces:
            if in_link is not None:  # list markers are not the item's text
                count = len("".join(piece.split()))
                chars += count
                linked += count if in_link else 0
        return round(linked / chars, 3) if chars else 0.0

    def walk(self, root, outer: _Context) -> None:
        # (element, context outside it, its list's item counter, its own context once its children are done)
        stack: list[tuple] = [(root, outer, None, None)]
        while stack:
            element, outer, ordinal, closing = stack.pop()
            tag = element.tag
            if closing is not None:
                if tag in _BLOCK_TAGS:
                    self.flush(closing)
                self._tail(element, outer)
                continue
            if tag in _SKIP_TAGS or not isinstance(tag, str):  # comments and processing instructions too
                self._tail(element, outer)
                continue
            context = self._context(tag, outer) if tag in _CONTEXT_TAGS else outer
            if tag in _BLOCK_TAGS:
                self.flush(outer)
                if tag == "li":
                    if ordinal is not None:
                        ordinal[0] += 1
                        self._pieces.append((f"{ordinal[0]}. ", None))
                    else:
                        self._pieces.append(("  • ", None))
            if tag == "br":
                self.flush(outer)
            text = element.text
            if text:
                self._pieces.append((text, context.in_link))
            counter = [0] if tag == "ol" else (None if tag == "ul" else ordinal)
            stack.append((element, outer, ordinal, context))
            stack.extend((child, context, counter, None) for child in reversed(element))

    def _tail(self, element, outer: _Context) -> None:
        tail = element.tail
        if tail:
            self._pieces.append((tail, outer.in_link))

    @staticmethod
    def _context(tag: str, outer: _Context) -> _Context:
        if tag in _HEADINGS:
            return outer._replace(heading=_HEADINGS[tag])
        if tag in _LIST_ITEMS:
            return outer._replace(in_list=True)
        if tag == "a":
            return outer._replace(in_link=True)
        if tag in _ARTICLE:
            return outer._replace(in_article=True)
        if tag in _FURNITURE and not outer.container and not (tag == "header" and outer.in_article):
            return outer._replace(container=tag)
        return outer
