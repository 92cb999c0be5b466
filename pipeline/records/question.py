"""Question, alternative questions and question type from an article title."""

from __future__ import annotations

import re

_DECORATION_RE = re.compile(r"【[^】]*】|\[[^\]]*\]|〖[^〗]*〗|^\s*(?:原创|转载|独家|热门|置顶)\s*[:：|｜]\s*")
_SITE_SUFFIX_RE = re.compile(
    r"\s*(?:[_|｜—–-]+|\s-\s)\s*[^_|｜—–-]{1,20}?(?:网|站|问答|知道|百科|律师|法律|平台|社区|论坛|频道|头条|财经|"
    r"资讯|门户|在线|之家|新闻|博客|日报|晚报|\.com|\.cn|\.net)\s*$"
)
_QUESTION_SPLIT_RE = re.compile(r"(?<=[?？])")
_INTERROGATIVE_RE = re.compile(
    r"吗|呢|如何|怎么|怎样|是否|什么|哪|多少|能否|可否|为何|为什么|有没有|会不会|能不能|是不是|要不要|可不可以|算不算|[?？]$"
)
STANDALONE_MIN_CHARS = 6  # a shorter second question (如何应对?) continues the first
_FOLLOW_UP_RE = re.compile(r"^(?:这|那|它|此|该|还是|到底|究竟)")

QUESTION_TYPES = {
    "legality": r"合法|违法|犯法|合规|违规|侵权|犯罪|有权|允许|法律规定|算不算|构成",
    "cost": r"多少钱|费用|利息|利率|收费|手续费|年化|多少",
    "where": r"哪里|在哪|哪个平台|哪些平台|哪家|地址|去哪|哪些|哪个",
    "comparison": r"区别|哪个好|对比|比较|不同|差异|还是",
    "what-is": r"什么是|是什么|是指|含义|定义|意思|指的是|简介",
    "consequence": r"后果|影响|会怎样|会怎么样|会不会|会被|坐牢|风险|严重吗|有事吗",
    "how-to": r"怎么办|如何|怎么|怎样|应对|步骤|方法|流程|攻略|指南|办理|处理",
}
_TYPE_RES = [(name, re.compile(pattern)) for name, pattern in QUESTION_TYPES.items()]


def clean_title(title: str) -> str:
    title = _DECORATION_RE.sub("", title).strip()
    stripped = _SITE_SUFFIX_RE.sub("", title).strip()
    return stripped or title


def _as_question(part: str) -> str:
    return part.strip().rstrip("?？").strip().replace("?", "？") + "？"


def questions_from_title(title: str) -> tuple[str, list[str]]:
    """(question, alt_questions). A title asking two standalone questions gives one of each."""
    title = clean_title(title)
    pieces = [p for p in _QUESTION_SPLIT_RE.split(title) if p.strip()]
    questions: list[str] = []
    for piece in pieces:
        standalone = len(piece.strip().rstrip("?？")) >= STANDALONE_MIN_CHARS and not _FOLLOW_UP_RE.match(piece.strip())
        if questions and (not standalone or not piece.rstrip().endswith(("?", "？"))):
            questions[-1] = f"{questions[-1].rstrip('?？')}？{piece.strip()}"
            continue
        questions.append(piece.strip())
    result = []
    for q in questions:
        result.append(_as_question(q) if _INTERROGATIVE_RE.search(q) else q.replace("?", "？"))
    if not result:
        return "", []
    first = result[0]
    return first, [q for q in result[1:] if q != first]


def question_type(text: str) -> str:
    for name, pattern in _TYPE_RES:
        if pattern.search(text):
            return name
    return "other"
