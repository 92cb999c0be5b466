"""A deterministic synthetic crawl for benchmarks: many site templates, spun copies, mixed lengths, some HTML.

Each document is a pure function of (seed, index), so a corpus can be grown later (the nightly
"1% new" case) and any slice regenerated without the rest. Unique articles are drawn from the
sentence pool of the hand-written base articles with cities and amounts varied; a share
of documents are spun copies (`spin`) of an earlier unique article, wrapped in another site's chrome.
"""

from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyarrow as pa

from pipeline.bench.spun import (CATEGORIES, CHROME_TEMPLATES, CITIES, SITES, Related, char_dropout, load_articles,
                                 spin, wrap)

_CLAUSE_RE = re.compile(r"[^。！？!?，,；;：:]{4,}")
_QUESTION_FORMS = ("{}是否合法？", "{}怎么办？", "{}会有什么后果？", "{}如何处理？", "{}需要多少钱？", "{}是真的吗？",
                   "{}的流程是什么", "{}注意事项", "{}：律师解读")
_TOPICS = ("网贷逾期", "信用卡逾期", "催收上门", "征信修复", "民间借贷", "网贷起诉", "协商还款", "暴力催收投诉",
           "借条纠纷", "担保责任", "分期还款", "停息挂账", "利息过高", "债务重组", "失信被执行")
_HTML_SITES = ("utf-8", "utf-8", "gb18030")


@dataclass(frozen=True)
class CorpusSpec:
    docs: int
    html_share: float = 0.1
    copy_share: float = 0.25
    seed: int = 0
    length: float = 1.0  # paragraphs per article, scaled: 1 gives dumps of about 3 KB, 2.5 about the real samples


# what write_corpus tells of each document written: its path, the unique article it carries, its size
WRITTEN_SCHEMA = pa.schema([("path", pa.string()), ("source", pa.int64()), ("bytes", pa.int64())])


@dataclass(frozen=True)
class BenchDoc:
    index: int
    rel_path: str
    data: bytes
    source_index: int  # the unique article this document carries (itself unless a spun copy)


@lru_cache(maxsize=1)
def _pool() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Clauses of the base articles (a few thousand) and their titles."""
    articles = load_articles()
    clauses = tuple(sorted({c for a in articles for p in a.paragraphs for c in _CLAUSE_RE.findall(p.replace("\n", ""))}))
    return clauses, tuple(a.title for a in articles)


def _article(seed: int, index: int, length: float) -> tuple[str, list[str]]:
    """The unique article number `index`: a question title and 2-14 paragraphs (times length) of varied length.

    Sentences are random runs of clauses from the base articles, so two unique articles share
    about as little text as two real ones on the same topic do.
    """
    rng = random.Random(f"{seed}:{index}")
    clauses, _ = _pool()
    city = rng.choice(CITIES)
    title = rng.choice(_QUESTION_FORMS).format(f"{city}{rng.choice(_TOPICS)}{rng.choice(('', '后', '了'))}")
    paragraphs = []
    for _ in range(max(1, round(rng.choice((2, 3, 4, 5, 6, 8, 10, 14)) * length))):
        sentences = ["，".join(rng.choice(clauses) for _ in range(rng.randint(2, 4))) + "。"
                     for _ in range(rng.randint(1, 4))]
        text = "".join(sentences).replace("借款人", rng.choice(("借款人", f"{city}的借款人", "当事人")))
        paragraphs.append(re.sub(r"\d+", lambda m: str(rng.randint(2, 9999)), text))
    return title, paragraphs


def _related(rng: random.Random) -> list[Related]:
    clauses, titles = _pool()
    return [Related(rng.choice(titles), "，".join(rng.sample(clauses, 3))[:rng.randint(30, 60)] + "…")
            for _ in range(rng.randint(3, 7))]


def _html_page(title: str, paragraphs: list[str], related: list[Related], rng: random.Random) -> tuple[str, str]:
    site, domain = rng.choice(SITES)
    encoding = rng.choice(_HTML_SITES)
    e = html.escape
    nav = "".join(f'<li><a href="/{k}/">{k}</a></li>' for k in ("首页", "新闻", "贷款", "信用卡", "法律"))
    body = "".join(f"<p>{e(p)}</p>" for p in paragraphs)
    links = "".join(f'<li><a href="/a/{rng.randint(1, 99999)}.html">{e(r.title)}</a></li>' for r in related)
    page = (f'<!DOCTYPE html><html><head><meta charset="{encoding}"><title>{e(title)}_{site}</title>'
            f'<link rel="canonical" href="https://www.{domain}/a/{rng.randint(1, 999999)}.html"></head><body>'
            f'<header><ul class="nav">{nav}</ul></header>'
            f'<div class="crumb"><a href="/">首页</a> &gt; <a href="/c/">{rng.choice(CATEGORIES)}</a> &gt; 正文</div>'
            f'<div class="article"><h1>{e(title)}</h1><div class="info">发布时间:2025-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}'
            f' 来源:{site}</div>{body}</div><div class="related"><h3>相关文章</h3><ul>{links}</ul></div>'
            f'<footer>Copyright © 2025 {site} 版权所有</footer></body></html>')
    return page, encoding


def bench_doc(spec: CorpusSpec, index: int) -> BenchDoc:
    rng = random.Random(f"{spec.seed}:doc:{index}")
    source = index
    if index > 10 and rng.random() < spec.copy_share:
        source = rng.randrange(index)
        while random.Random(f"{spec.seed}:doc:{source}").random() < spec.copy_share and source > 10:
            source = rng.randrange(source)  # copy an original, not a copy
    title, paragraphs = _article(spec.seed, source, spec.length)
    chrome = CHROME_TEMPLATES[random.Random(f"{spec.seed}:chrome:{source}").randrange(len(CHROME_TEMPLATES))].name
    if source != index:
        ops = rng.sample(("dropout", "synonyms", "swap_paragraphs", "drop_last_paragraph"), rng.randint(1, 2))
        title, paragraphs, chrome = spin(title, paragraphs, rng, ops + ["chrome"], chrome=chrome)
    related = _related(rng)
    if rng.random() < 0.3:
        related = [Related(char_dropout(r.title, rng, 0.05), r.teaser) for r in related]
    folder = f"{index // 1000:04d}"
    if rng.random() < spec.html_share:
        page, encoding = _html_page(title, paragraphs, related, rng)
        return BenchDoc(index, f"{folder}/{index:07d}.html", page.encode(encoding, errors="replace"), source)
    return BenchDoc(index, f"{folder}/{index:07d}.txt", wrap(title, paragraphs, chrome, rng, related).encode("utf-8"),
                    source)


def write_corpus(out_dir: Path, spec: CorpusSpec, start: int = 0) -> pa.Table:
    """Writes documents start..spec.docs-1 under out_dir; returns per document its path, the unique article
    it carries and its size in bytes."""
    paths, sources, sizes = [], [], []
    for index in range(start, spec.docs):
        doc = bench_doc(spec, index)
        path = out_dir / doc.rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(doc.data)
        paths.append(doc.rel_path)
        sources.append(doc.source_index)
        sizes.append(len(doc.data))
    return pa.table({"path": paths, "source": sources, "bytes": sizes}, schema=WRITTEN_SCHEMA)
