"""HTML → the line structure of a text dump, so one cleaner serves both inputs.

Block elements become lines, list items get the `  • ` bullet a text browser prints, and
containers that are page furniture by their tag (nav, footer, aside, script…) are left out.
"""

from __future__ import annotations

import lxml.html
from lxml import etree

_SKIP_TAGS = {"script", "style", "noscript", "template", "iframe", "svg", "canvas", "select", "button",
              "nav", "footer", "aside", "form", "head"}
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4", "h5", "h6",
               "li", "ul", "ol", "dl", "dt", "dd", "table", "tr", "td", "th", "blockquote", "pre",
               "figure", "figcaption", "hr", "address", "center", "tbody", "thead", "body"}


def html_to_text(html: str) -> str:
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return ""
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = " ".join("".join(current).split())
        if text:
            lines.append(text)
        current.clear()

    def walk(element, ordinal: list[int] | None = None) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in _SKIP_TAGS or not tag:
            if element.tail:
                current.append(element.tail)
            return
        block = tag in _BLOCK_TAGS
        if block:
            flush()
            if tag == "li":
                if ordinal is not None:
                    ordinal[0] += 1
                    current.append(f"{ordinal[0]}. ")
                else:
                    current.append("  • ")
        if tag == "br":
            flush()
        if element.text:
            current.append(element.text)
        counter = [0] if tag == "ol" else (None if tag == "ul" else ordinal)
        for child in element:
            walk(child, counter)
        if block:
            flush()
        if element.tail:
            current.append(element.tail)

    body = root.find("body")
    walk(body if body is not None else root)
    flush()
    return "\n".join(lines)
