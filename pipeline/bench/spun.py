"""Deterministic generator of a "spun" dev set for near-duplicate detection.

Chinese content farms re-post one article many times: characters dropped,
synonyms swapped, paragraphs moved or cut, a city name glued onto the title,
and the whole thing wrapped in a different site's chrome.  This module takes
the hand-written base articles in ``pipeline/data/base_articles/NN.txt`` and produces such
copies, together with the ground-truth clustering, so dedup settings can be
scored with pairwise precision/recall.

Layout of a base article file: first line the title, a blank line, then
paragraphs separated by blank lines (a paragraph may span several lines).

Usage::

    python -m pipeline.bench.spun OUT_DIR [--seed N] [--min-copies A --max-copies B]

Only the standard library is used.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

BASE_DIR = Path(__file__).resolve().parent.parent / "data" / "base_articles"

# ---------------------------------------------------------------------------
# Data tables
# ---------------------------------------------------------------------------

#: Synonym pairs used by the ``synonyms`` op.  Swaps go both ways.
SYNONYMS: list[tuple[str, str]] = [
    ("借款人", "贷款人"),
    ("催收", "催讨"),
    ("逾期", "延期未还"),
    ("合法", "合规"),
    ("平台", "机构"),
    ("首先", "第一"),
    ("因此", "所以"),
    ("其次", "第二"),
    ("此外", "另外"),
    ("但是", "不过"),
    ("然而", "可是"),
    ("如果", "假如"),
    ("能够", "可以"),
    ("欠款", "欠账"),
    ("还款", "偿还"),
    ("债务人", "欠债人"),
    ("出借人", "放款人"),
    ("起诉", "告上法庭"),
    ("人民法院", "法院"),
    ("投诉", "举报"),
    ("报警", "报案"),
    ("证据", "凭证"),
    ("保留", "保存"),
    ("骚扰", "滋扰"),
    ("威胁", "恐吓"),
    ("违法", "不合法"),
    ("侵犯", "侵害"),
    ("权益", "权利"),
    ("协商", "商量"),
    ("利息", "利钱"),
    ("网贷", "网络贷款"),
    ("征信报告", "信用报告"),
    ("征信", "信用记录"),
    ("借条", "欠条"),
    ("律师", "法律顾问"),
    ("明确", "清楚"),
    ("及时", "尽快"),
    ("立即", "马上"),
    ("目前", "现在"),
    ("近年来", "这几年"),
    ("随着", "伴随着"),
    ("导致", "造成"),
    ("很多", "许多"),
    ("通常", "一般"),
    ("往往", "常常"),
    ("严重", "恶劣"),
    ("重要", "关键"),
    ("情况", "状况"),
    ("方式", "方法"),
    ("手段", "办法"),
    ("行为", "举动"),
    ("相关", "有关"),
    ("公安机关", "警方"),
    ("监管部门", "监管机构"),
    ("本金", "本钱"),
    ("金额", "数额"),
    ("合同", "协议"),
    ("签名", "签字"),
    ("提供", "出示"),
    ("承担", "负担"),
    ("认定", "判定"),
    ("借钱", "借款"),
    ("客户", "用户"),
    ("资金", "钱款"),
    ("家人", "家属"),
    ("朋友", "友人"),
    ("处理", "解决"),
    ("了解", "知道"),
    ("注意", "留意"),
    ("避免", "防止"),
    ("建议", "提议"),
    ("贷款机构", "放贷机构"),
    ("信用卡", "信用卡片"),
    ("银行", "银行机构"),
]

#: City names for the ``city_title`` op (without the trailing 市).
CITIES: list[str] = [
    "乐平", "南昌", "九江", "赣州", "上饶", "景德镇", "杭州", "温州", "宁波", "绍兴",
    "合肥", "芜湖", "阜阳", "郑州", "洛阳", "南阳", "长沙", "株洲", "衡阳", "武汉",
    "宜昌", "襄阳", "成都", "绵阳", "南充", "重庆", "西安", "宝鸡", "兰州", "昆明",
    "曲靖", "贵阳", "遵义", "南宁", "柳州", "桂林", "广州", "东莞", "佛山", "深圳",
    "厦门", "泉州", "福州", "济南", "临沂", "潍坊", "石家庄", "保定", "太原", "沈阳",
]

#: Narrow topics covered by several *different* base articles (hard negatives).
HARD_NEGATIVE_GROUPS: dict[str, list[str]] = {
    "网贷上门催收是否合法": ["a01", "a02", "a03", "a04"],
    "信用卡逾期协商还款": ["a05", "a06", "a07", "a08"],
    "征信修复": ["a09", "a10", "a11", "a12"],
    "网贷逾期被起诉": ["a13", "a14", "a15"],
    "暴力催收投诉维权": ["a16", "a17", "a18"],
    "民间借贷利率上限": ["a19", "a20", "a21"],
}

#: Off-topic spam titles some farms append after an article.
SPAM_TITLES: list[str] = [
    "潮趣盲盒中奖事件真实性探究",
    "元气玛特盲盒回收全攻略:途径、流程与注意事项",
    "叮当魔盒开出好物的概率与实例探讨",
    "哈希盲盒:融合游戏与购物的新零售体验",
    "揭秘元气玛特抽奖活动的疑点与真相",
    "盲盒小程序哪个靠谱?五款热门平台横评",
    "潮趣盲盒提现到账时间说明",
    "叮当魔盒邀请码在哪里领取",
    "线上抽盒机真的能开出手机吗",
    "盲盒回收价格表2025最新版",
]

AUTHORS = ["admin", "小编", "法务君", "债务帮", "理财小助手", "张律师", "贷款百科", "编辑部"]
SITES = [
    ("借贷百科网", "jiedaibaike.com"),
    ("法律快车站", "falvkuaiche.cn"),
    ("债务之家", "zhaiwuzhijia.net"),
    ("信用生活网", "xinyongsh.com"),
    ("金融知识堂", "jinrongzst.cn"),
    ("还款无忧", "huankuan51.com"),
]
FIRMS = [("合飞", "hefei"), ("正衡", "zhengheng"), ("明诚", "mingcheng"), ("德润", "derun"), ("启元", "qiyuan")]
CATEGORIES = ["金融债务", "网贷逾期", "信用卡", "法律咨询", "贷款知识", "征信知识"]

CONTENT_OPS = ("dropout", "synonyms", "swap_paragraphs", "drop_last_paragraph")
EXTRA_OPS = ("city_title", "chrome")
ALL_OPS = CONTENT_OPS + EXTRA_OPS

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _build_synonym_map(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for a, b in pairs:
        for src, dst in ((a, b), (b, a)):
            if src in table and table[src] != dst:
                raise ValueError(f"synonym {src!r} mapped twice")
            table[src] = dst
    return table


#: Context guards (regex lookarounds) for keys that also occur inside other
#: words: 互联网贷款 is not 网贷, 第一步/第二十四条 are not 首先/其次.
_ORDINAL_GUARD = r"(?![步类件种个次期天条章年位名时一二三四五六七八九十百千零])"
SYNONYM_GUARDS: dict[str, tuple[str, str]] = {  # key -> (lookbehind, lookahead)
    "网贷": (r"(?<!互联)", r"(?!款)"),
    "第一": ("", _ORDINAL_GUARD),
    "第二": ("", _ORDINAL_GUARD),
}

_SYN_MAP = _build_synonym_map(SYNONYMS)


def _syn_pattern(key: str) -> str:
    before, after = SYNONYM_GUARDS.get(key, ("", ""))
    return f"{before}{re.escape(key)}{after}"


# Longest first so that e.g. 借款人 wins over 借款 at the same position.
_SYN_RE = re.compile("|".join(_syn_pattern(k) for k in sorted(_SYN_MAP, key=len, reverse=True)))


# ---------------------------------------------------------------------------
# Base articles
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Article:
    id: str  # e.g. "a07"
    title: str
    paragraphs: tuple[str, ...]


def parse_article(text: str) -> tuple[str, list[str]]:
    lines = text.replace("\r\n", "\n").strip("\n").split("\n")
    title = lines[0].strip()
    body = "\n".join(lines[1:])
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", body) if p.strip()]
    return title, paragraphs


def load_articles(base_dir: Path | str = BASE_DIR) -> list[Article]:
    out = []
    for path in sorted(Path(base_dir).glob("*.txt")):
        title, paras = parse_article(path.read_text(encoding="utf-8"))
        out.append(Article(id=f"a{path.stem}", title=title, paragraphs=tuple(paras)))
    return out


# ---------------------------------------------------------------------------
# Spinning operations
# ---------------------------------------------------------------------------


def char_dropout(text: str, rng: random.Random, rate: float) -> str:
    """Drop each CJK character with probability ``rate`` (at least one)."""
    positions = [m.start() for m in _CJK.finditer(text)]
    if not positions:
        return text
    drop = {p for p in positions if rng.random() < rate}
    if not drop:
        drop = {rng.choice(positions)}
    return "".join(ch for i, ch in enumerate(text) if i not in drop)


def synonym_swap(text: str, rng: random.Random, share: float) -> tuple[str, int]:
    """Replace a ``share`` of synonym occurrences; returns (text, n_swapped)."""
    matches = list(_SYN_RE.finditer(text))
    chosen = {i for i in range(len(matches)) if rng.random() < share}
    if matches and not chosen:
        chosen = {rng.randrange(len(matches))}
    parts, last = [], 0
    for i, m in enumerate(matches):
        if i in chosen:
            parts.append(text[last:m.start()])
            parts.append(_SYN_MAP[m.group(0)])
            last = m.end()
    parts.append(text[last:])
    return "".join(parts), len(chosen)


def city_title(title: str, rng: random.Random) -> str:
    city = rng.choice(CITIES)
    style = rng.randrange(4)
    if style == 0:
        return f"{city}市{title}"
    if style == 1:
        return f"{title.rstrip('?？')}({city})"
    if style == 2:
        return f"{city}{title}"
    return f"【{city}】{title}"


def spin(
    title: str,
    paragraphs: Sequence[str],
    rng: random.Random,
    ops: Sequence[str],
    chrome: str | None = None,
) -> tuple[str, list[str], str]:
    """Apply spinning ``ops`` to an article.

    Returns ``(title, paragraphs, chrome_name)``.  ``chrome`` is the chrome the
    source copy was wrapped in; with the ``chrome`` op a different template is
    picked, otherwise the same one is kept (a random one if ``chrome`` is None).
    Ops are applied in a fixed order (synonyms before dropout, so that dropout
    does not stop synonyms from matching), whatever order they are given in.
    """
    unknown = set(ops) - set(ALL_OPS)
    if unknown:
        raise ValueError(f"unknown ops: {sorted(unknown)}")
    paras = list(paragraphs)
    if "synonyms" in ops:
        share = rng.uniform(0.3, 0.8)
        paras = [synonym_swap(p, rng, share)[0] for p in paras]
    if "swap_paragraphs" in ops and len(paras) >= 2:
        i = rng.randrange(len(paras) - 1)
        paras[i], paras[i + 1] = paras[i + 1], paras[i]
    if "drop_last_paragraph" in ops and len(paras) >= 3:
        paras = paras[:-1]
    if "dropout" in ops:
        rate = rng.uniform(0.02, 0.08)
        paras = [char_dropout(p, rng, rate) for p in paras]
    if "city_title" in ops:
        title = city_title(title, rng)
    names = [c.name for c in CHROME_TEMPLATES]
    if chrome is None:
        chrome = rng.choice(names)
    if "chrome" in ops:
        chrome = rng.choice([n for n in names if n != chrome])
    return title, paras, chrome


# ---------------------------------------------------------------------------
# Site chrome
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Related:
    title: str
    teaser: str


def _date(rng: random.Random, with_time: bool = False) -> str:
    y, m, d = rng.randint(2021, 2025), rng.randint(1, 12), rng.randint(1, 28)
    s = f"{y}-{m:02d}-{d:02d}"
    if with_time:
        s += f" {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    return s


def _relative_date(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return f"{rng.randint(1, 23)}小时前"
    if kind == 1:
        return f"{rng.randint(1, 6)}天前"
    if kind == 2:
        return f"{rng.randint(2021, 2025)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日"
    return _date(rng)


def _body(paragraphs: Sequence[str]) -> str:
    return "\n\n".join(paragraphs)


def _short(t: str) -> str:
    return t.rstrip("?？")


class Chrome:
    """A named site chrome: ``render(title, paragraphs, related, rng) -> text``."""

    def __init__(self, name: str, render: Callable[..., str]):
        self.name = name
        self.render = render

    def __repr__(self) -> str:  # pragma: no cover
        return f"Chrome({self.name!r})"


def _c_lawfirm(title, paras, related, rng):
    firm, slug = rng.choice(FIRMS)
    cat = rng.choice(CATEGORIES)
    out = [f"当前位置:首页>{cat}> 正文内容", "", title, "", _body(paras), ""]
    out += [
        f"{title},本文为{firm}律师原创,未经授权禁止转载,个案情况不同,建议咨询专业律师制定方案。",
        "",
        "扫描二维码推送至手机访问。",
        "",
        f"版权声明:本文由浙江{firm}律师事务所结合法律法规原创并发布,如需转载请附上来源链接。",
        "",
        f"本文链接:https://www.{slug}laws.com/hf/{rng.randint(100000, 1999999)}.html",
        "",
        f"{title}的相关文章",
        "",
    ]
    for r in related:
        out += [r.title, ""]
        if rng.random() < 0.5:
            out += [r.title, ""]
        out += [r.teaser.rstrip("…") + "...", ""]
    return "\n".join(out).rstrip() + "\n"


def _c_wp_admin(title, paras, related, rng):
    out = [title, "", _body(paras), "", "(0)", rng.choice(AUTHORS)]
    out += [f"上一篇 {_relative_date(rng)}", f"下一篇 {_relative_date(rng)}", "", "相关文章", ""]
    for r in related:
        out += [f"  • {r.title}", "", f"    {r.teaser}", "", f"    {_relative_date(rng)}"]
    return "\n".join(out) + "\n"


def _c_dajia(title, paras, related, rng):
    body = list(paras)
    if len(body) > 1 and rng.random() < 0.7:  # image alt text repeating the title
        body.insert(1, title)
    out = [title, "", _body(body), "", "(0)", "", "大家都在看", ""]
    for r in related:
        out += [f"  • {r.title}", "", f"    {r.teaser.rstrip('…')}...", f"    {rng.choice(['贷款', '信用卡', '理财'])}", f"    {_date(rng)}"]
    out.append("返回顶部")
    return "\n".join(out) + "\n"


def _c_publish(title, paras, related, rng):
    out = [title, "", f"发布时间:{_date(rng, with_time=True)}"]
    out.append("\n".join(paras))  # this site loses the blank lines
    out += ["", "相关内容:"]
    if rng.random() < 0.5:
        out.append("标题 内容:内容”的格式输出,并对重点内容进行加粗显示。")
    titles = [r.title for r in related] + rng.sample(SPAM_TITLES, rng.randint(3, 7))
    out += titles
    out.append("To Top")
    return "\n".join(out)


def _c_portal(title, paras, related, rng):
    site, domain = rng.choice(SITES)
    nav = " | ".join(["首页", "新闻", "财经", "法律", "贷款", "信用卡", "理财", "保险"])
    out = [nav, "", f"首页 > {rng.choice(CATEGORIES)} > 正文", "", title, ""]
    out += [f"来源:{site}  作者:{rng.choice(AUTHORS)}  时间:{_date(rng, True)}  阅读({rng.randint(12, 9999)})", ""]
    out += [_body(paras), ""]
    out += ["分享到:", "微信  微博  QQ空间", "", f"责任编辑:{rng.choice(['王敏', '李强', '陈晓', '刘洋'])}", ""]
    out += ["声明:本站内容来源于网络,仅供参考,如有侵权请联系删除。", "", "猜你喜欢", ""]
    for r in related:
        out.append(f"  • {r.title}")
    out += ["", f"Copyright © 2018-2025 {site} {domain} 版权所有", f"京ICP备{rng.randint(10000000, 99999999)}号-1"]
    return "\n".join(out) + "\n"


def _c_hot(title, paras, related, rng):
    cat = rng.choice(CATEGORIES)
    out = [title, "", f"时间:{_date(rng)} | 分类:{cat} | 浏览:{rng.randint(100, 20000):,}次", ""]
    out += [_body(paras), ""]
    prev_next = related[:2] if len(related) >= 2 else related
    if prev_next:
        out.append(f"上一篇:{prev_next[0].title}")
        out.append(f"下一篇:{prev_next[-1].title}")
        out.append("")
    out += ["热门文章", ""]
    for i, r in enumerate(related, 1):
        out.append(f"{i}. {r.title}")
    out += ["", "推荐阅读", ""]
    for r in related[::-1]:
        out += [f"  • {r.title}", f"    {r.teaser}"]
    out += ["", "返回顶部"]
    return "\n".join(out) + "\n"


def _c_mobile(title, paras, related, rng):
    out = ["< 返回", "", title, "", f"{rng.choice(AUTHORS)} · {_relative_date(rng)}", ""]
    out += [_body(paras), ""]
    out += ["扫一扫在手机阅读", "", "延伸阅读", ""]
    for r in related:
        out += [f"  • {r.title}", f"    {r.teaser}", f"    {rng.choice(CATEGORIES)} · {_date(rng)}", ""]
    out.append("To Top")
    return "\n".join(out) + "\n"


CHROME_TEMPLATES: list[Chrome] = [
    Chrome("lawfirm", _c_lawfirm),
    Chrome("wp_admin", _c_wp_admin),
    Chrome("dajia", _c_dajia),
    Chrome("publish", _c_publish),
    Chrome("portal", _c_portal),
    Chrome("hot", _c_hot),
    Chrome("mobile", _c_mobile),
]
_CHROME_BY_NAME = {c.name: c for c in CHROME_TEMPLATES}


def _related(articles: Sequence[Article], exclude: str, rng: random.Random) -> list[Related]:
    pool = [a for a in articles if a.id != exclude]
    picks = rng.sample(pool, min(len(pool), rng.randint(3, 7)))
    out = []
    for a in picks:
        teaser = "".join(a.paragraphs)[: rng.randint(60, 110)].replace("\n", "") + "…"
        t = a.title
        if rng.random() < 0.3:  # farms list spun titles and teasers too
            t = char_dropout(t, rng, 0.06)
            teaser = char_dropout(teaser, rng, 0.06)
        out.append(Related(t, teaser))
    return out


def wrap(title: str, paragraphs: Sequence[str], chrome: str, rng: random.Random,
         related: Sequence[Related] = ()) -> str:
    """Render a full page dump for an article body using the named chrome."""
    return _CHROME_BY_NAME[chrome].render(title, list(paragraphs), list(related), rng)


# ---------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------


@dataclass
class SpunDoc:
    name: str  # e.g. "a07_c03.txt"; c00 is the unspun original
    text: str  # full dump with chrome
    cluster: str  # base article id, shared by all copies
    ops: list[str] = field(default_factory=list)
    title: str = ""  # title as it appears in this copy
    body: str = ""  # clean body of this copy (paragraphs joined by blank lines)
    chrome: str = ""


def _pick_ops(rng: random.Random, counter: int) -> list[str]:
    # Round-robin the first content op so all of them are covered, then add
    # 0-2 more content ops and, independently, the title/chrome ops.
    first = CONTENT_OPS[counter % len(CONTENT_OPS)]
    n_content = rng.choices([1, 2, 3], weights=[50, 35, 15])[0]
    others = [o for o in CONTENT_OPS if o != first]
    ops = [first] + rng.sample(others, n_content - 1)
    if counter % 5 == 2 or rng.random() < 0.25:
        ops.append("city_title")
    if counter % 3 == 1 or rng.random() < 0.35:
        ops.append("chrome")
    return [o for o in ALL_OPS if o in ops]


def generate(seed: int = 0, copies_per_article: tuple[int, int] = (2, 6),
             base_dir: Path | str = BASE_DIR) -> list[SpunDoc]:
    """Build the spun corpus: per base article one unspun copy (``c00``) plus
    ``randint(*copies_per_article)`` spun copies.  Deterministic for a seed."""
    rng = random.Random(seed)
    articles = load_articles(base_dir)
    if not articles:
        raise FileNotFoundError(f"no base articles in {base_dir}")
    lo, hi = copies_per_article
    docs: list[SpunDoc] = []
    counter = 0
    names = [c.name for c in CHROME_TEMPLATES]
    for art in articles:
        base_chrome = rng.choice(names)
        paras = list(art.paragraphs)
        text = wrap(art.title, paras, base_chrome, rng, _related(articles, art.id, rng))
        docs.append(SpunDoc(f"{art.id}_c00.txt", text, art.id, [], art.title, _body(paras), base_chrome))
        seen = {(art.title, _body(paras))}
        for k in range(1, rng.randint(lo, hi) + 1):
            ops = _pick_ops(rng, counter)
            counter += 1
            title, sp, chrome = spin(art.title, paras, rng, ops, chrome=base_chrome)
            while (title, _body(sp)) in seen:  # e.g. two copies with the same cut
                ops = [o for o in ALL_OPS if o in ops or o == "dropout"]
                title, sp, chrome = spin(art.title, paras, rng, ops, chrome=base_chrome)
            seen.add((title, _body(sp)))
            text = wrap(title, sp, chrome, rng, _related(articles, art.id, rng))
            docs.append(SpunDoc(f"{art.id}_c{k:02d}.txt", text, art.id, ops, title, _body(sp), chrome))
    return docs


def write_corpus(out_dir: Path | str, seed: int = 0,
                 copies_per_article: tuple[int, int] = (2, 6)) -> dict[str, str]:
    """Write the dumps (UTF-8 .txt) and ``truth.csv``; return name -> cluster."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    docs = generate(seed=seed, copies_per_article=copies_per_article)
    for d in docs:
        (out / d.name).write_text(d.text, encoding="utf-8")
    with open(out / "truth.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "cluster", "ops"])
        for d in docs:
            w.writerow([d.name, d.cluster, ";".join(d.ops)])
    return {d.name: d.cluster for d in docs}


def read_truth(path: Path | str) -> dict[str, str]:
    with open(path, encoding="utf-8", newline="") as f:
        return {row["name"]: row["cluster"] for row in csv.DictReader(f)}


# ---------------------------------------------------------------------------
# Metric
# ---------------------------------------------------------------------------


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise_scores(truth: dict[str, str], predicted: dict[str, str]) -> tuple[float, float]:
    """Pairwise precision/recall over all pairs of the documents in ``truth``.

    A pair is positive when both names share a cluster.  Documents missing from
    ``predicted`` count as singletons; names only in ``predicted`` are ignored.
    Computed from cluster sizes (sum of C(n, 2)), so it is linear in the
    number of documents.  With no predicted (or no true) positive pairs the
    corresponding score is 1.0.
    """
    pred = {name: predicted.get(name, ("__singleton__", name)) for name in truth}
    true_pairs = sum(_pairs(n) for n in Counter(truth.values()).values())
    pred_pairs = sum(_pairs(n) for n in Counter(pred.values()).values())
    tp = sum(_pairs(n) for n in Counter((truth[k], pred[k]) for k in truth).values())
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    return precision, recall


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write a spun near-duplicate dev set.")
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-copies", type=int, default=2)
    ap.add_argument("--max-copies", type=int, default=6)
    args = ap.parse_args(argv)
    truth = write_corpus(args.out_dir, seed=args.seed,
                         copies_per_article=(args.min_copies, args.max_copies))
    clusters = Counter(truth.values())
    print(f"wrote {len(truth)} documents in {len(clusters)} clusters "
          f"({len(truth) - len(clusters)} spun copies) to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
