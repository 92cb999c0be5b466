"""Page metadata from the markup of an HTML page: title, publication date, author, site name, URL.

trafilatura reads the standard tags (OpenGraph, <meta name=author|title|publisher…>, JSON-LD)
on the tree the reader has already parsed; its date search (htmldate) is skipped: it is the slow
part, and on pages without a dated tag it guesses from any date in the text. Publication dates
come from the few tags that state one, and Chinese CMS tags (SiteName, ArticleTitle, PubDate)
are read here too. What the visible chrome says (本文链接, 作者, 发布时间…) is harvested later by
the cleaner; pipeline/records/build.py decides between the two.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urljoin

from trafilatura.metadata import examine_meta, extract_meta_json

from pipeline.clean.metadata import iso_date

# <meta name|property|itemprop> values that state the publication date, lower case
_DATE_TAGS = {
    "article:published_time", "og:published_time", "og:release_date", "publishdate", "publish_date",
    "publishtime", "publish-date", "pubdate", "pubtime", "datepublished", "dc.date", "dc.date.issued",
    "dc.date.created", "dcterms.created", "dcterms.issued", "sailthru.date", "article.published",
    "bytedance:published_time", "weibo:article:create_at", "firstpublishedtime",
}
_SITE_TAGS = {"sitename", "site_name", "og:site_name", "application-name", "apple-mobile-web-app-title"}
_TITLE_TAGS = {"articletitle", "og:title"}
_JSON_LD_DATE_RE = re.compile(r'"(?:datePublished|pubDate|dateCreated|uploadDate)"\s*:\s*"([^"]{8,40})"')
# `<title>`: headline, then board, then site, separated by _ | - – — ·
_TITLE_SEPARATOR_RE = re.compile(r"\s*_\s*|\s+[-–—|·]\s+|\s*[|｜]\s*")
_NOT_A_SITE_RE = re.compile(r"^(?:https?:|www\.|@)|powered by|copyright|©|版权", re.IGNORECASE)
_POSTER_MAX_CHARS = 30
log = logging.getLogger("pipeline")


def page_metadata(root, fetched_url: str | None = None) -> dict[str, str]:
    """Metadata the markup states; only fields found are set.

    Keys: title, published_at (ISO 8601, local time as given), author, site, source_url, and
    poster (the user name in the first author box of a forum or Q&A page, which has no byline).
    """
    found = examine_meta(root)
    try:
        found = extract_meta_json(root, found)
    except Exception as err:  # noqa: BLE001 - trafilatura's JSON-LD walker fails on odd schemas
        log.debug("JSON-LD metadata skipped: %s", err)
    tags = _meta_tags(root)
    title_parts = _title_parts(root)
    h1 = _single_h1(root)
    meta = {
        "title": tags.get("title") or found.title or h1 or (title_parts[0] if title_parts else None),
        "published_at": _published_at(root, tags),
        "author": found.author,
        "site": _site(tags.get("site") or found.sitename, title_parts, h1),
        "source_url": _source_url(root, found.url, fetched_url),
        "poster": _poster(root),
    }
    return {key: " ".join(value.split()) for key, value in meta.items() if value and value.strip()}


def _meta_tags(root) -> dict[str, str]:
    """The first date, site and title stated by a <meta> tag (name, property or itemprop)."""
    tags: dict[str, str] = {}
    for element in root.iter("meta"):
        content = (element.get("content") or "").strip()
        if not content:
            continue
        key = (element.get("name") or element.get("property") or element.get("itemprop") or "").lower()
        if key in _DATE_TAGS:
            tags.setdefault("date", content)
        elif key in _SITE_TAGS and not _NOT_A_SITE_RE.search(content):
            tags.setdefault("site", content)
        elif key in _TITLE_TAGS:
            tags.setdefault("title", content)
    return tags


def _published_at(root, tags: dict[str, str]) -> str | None:
    if "date" in tags:
        return iso_date(tags["date"])
    for element in root.iterfind(".//time[@datetime]"):
        if element.get("pubdate") is not None or element.get("itemprop") == "datePublished":
            return iso_date(element.get("datetime"))
    for script in root.iterfind(".//script[@type='application/ld+json']"):
        found = _JSON_LD_DATE_RE.search(script.text or "")
        if found:
            return iso_date(found.group(1))
    return None


def _single_h1(root) -> str | None:
    headings = root.findall(".//h1")
    return headings[0].text_content().strip() if len(headings) == 1 else None


def _title_parts(root) -> list[str]:
    element = root.find(".//title")
    if element is None or not element.text:
        return []
    return [part for part in _TITLE_SEPARATOR_RE.split(element.text.strip()) if part]


def _site(stated: str | None, title_parts: list[str], h1: str | None) -> str | None:
    """The stated site name, else the last part of <title> that is not the headline or a generator."""
    if stated and not _NOT_A_SITE_RE.search(stated):
        return stated
    for part in reversed(title_parts[1:]):
        if _NOT_A_SITE_RE.search(part):
            continue
        # a headline with a dash in it is not headline + site
        return None if h1 and part in h1 else part
    return None


def _source_url(root, stated: str | None, fetched_url: str | None) -> str | None:
    """<link rel=canonical>, else og:url / JSON-LD url; relative links resolved against the fetched URL."""
    for link in root.iterfind(".//link[@href]"):
        if (link.get("rel") or "").lower() == "canonical":
            url = urljoin(fetched_url or "", link.get("href").strip())
            if url.startswith(("http://", "https://")):
                return url
    return stated if stated and stated.startswith(("http://", "https://")) else None


def _poster(root) -> str | None:
    """The first linked user name inside an author box (class author, post-author, authi…)."""
    for box in root.xpath("//*[contains(@class, 'auth')]"):
        for link in box.iter("a"):
            name = link.text_content().strip()
            if name and len(name) <= _POSTER_MAX_CHARS and "作者" not in name:
                return name
    return None
