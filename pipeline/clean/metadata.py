"""Metadata found in page chrome, kept before the chrome line is dropped."""

from __future__ import annotations

import re

_DATE_RE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:(?:\s*|T)(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)
_URL_RE = re.compile(r"https?://[^\s,，。;；)）\"'<>]+")
# a labeled value ends at a separator or where the next label starts (来源:某网作者:某人 on one line)
_NEXT_LABEL = r"(?=[\s|,，:;；()（）]|$|(?:作者|来源|(?:发布|发表|更新)?(?:时间|日期)|责任编辑|编辑|阅读|浏览|点击|字号)\s*:|发表于|发布于)"
_AUTHOR_RES = (
    re.compile(r"(?:作者|撰稿|撰文|发布者|发布人|文)\s*:\s*([^\s|,，:;；()（）]{2,20}?)" + _NEXT_LABEL),
    re.compile(r"本文(?:为|系|由)([^\s,，。:;；]{2,15}?)(?:原创|发布|整理|撰写)"),
)
_EDITOR_RE = re.compile(r"(?:责任编辑|编辑)\s*:\s*([^\s|,，:;；()（）]{2,20}?)" + _NEXT_LABEL)
_SOURCE_RE = re.compile(r"(?:来源|文章来源|信息来源|稿源|出处)\s*:\s*([^\s|,，:;；]{2,30}?)" + _NEXT_LABEL)
_CRUMB_SPLIT_RE = re.compile(r"\s*(?:>>|>|»|›|→|/|\\)\s*")
_CRUMB_PREFIX_RE = re.compile(r"^(?:当前位置|您的位置|你的位置|所在位置|您现在的位置|你现在的位置|位置)\s*:\s*")
_NOT_A_CATEGORY = {"首页", "主页", "网站首页", "正文", "正文内容", "内容", "详情", "文章", "详情页", "阅读", "本文"}

_THIS_SITE = ("本站", "本网")  # 来源:本站原创 names no source
DATE_WORDS = ("发布", "发表", "时间", "日期", "更新", "提问", "回答")


def iso_date(text: str) -> str | None:
    """The first date in text as ISO 8601 (date, or date and time)."""
    found = _DATE_RE.search(text)
    if not found:
        return None
    year, month, day, hour, minute, second = found.groups()
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        return None
    date = f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    if hour is None:
        return date
    return f"{date}T{int(hour):02d}:{int(minute):02d}:{int(second or 0):02d}"


def breadcrumb_category(line: str) -> str | None:
    crumbs = [c.strip() for c in _CRUMB_SPLIT_RE.split(_CRUMB_PREFIX_RE.sub("", line)) if c.strip()]
    crumbs = [c for c in crumbs if c not in _NOT_A_CATEGORY]
    return crumbs[-1] if crumbs else None


def harvest(rule_name: str, line: str, meta: dict[str, str]) -> None:
    """Adds what a dropped chrome line says about the article to meta (first value wins)."""
    if rule_name == "breadcrumb":
        category = breadcrumb_category(line)
        if category:
            meta.setdefault("category", category)
        return
    if rule_name in ("meta_line", "date_line"):
        # a byline's date is labeled (发布时间:…) or leads the line (2024-05-13 09:12 来源:…)
        if rule_name == "date_line" or _DATE_RE.match(line) or any(word in line for word in DATE_WORDS):
            date = iso_date(line)
            if date:
                meta.setdefault("published_at", date)
        source = _SOURCE_RE.search(line)
        if source and not source.group(1).startswith(_THIS_SITE):
            meta.setdefault("source", source.group(1))
    if rule_name in ("meta_line", "attribution", "copyright"):
        for pattern in _AUTHOR_RES:
            found = pattern.search(line)
            if found:
                meta.setdefault("author", found.group(1))
                break
        else:
            editor = _EDITOR_RE.search(line)
            if editor:
                meta.setdefault("editor", editor.group(1))
    if rule_name in ("source_url", "attribution", "copyright"):
        url = _URL_RE.search(line)
        if url:
            meta.setdefault("source_url", url.group(0))
