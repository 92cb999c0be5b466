"""Property-based tests: on arbitrary input the readers, the cleaner and the record builder never raise."""

import itertools
import re
import signal
import unicodedata

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.clean import clean_page, load_rules
from pipeline.clean.rules import line_finder
from pipeline.model import Page, PageError
from pipeline.readers.decode import BinaryContent, decode_bytes
from pipeline.readers.discover import read_bytes
from pipeline.readers.html import read_html
from pipeline.records.build import RecordBuilder, record_id_for
from pipeline.records.extract import load_taxonomy

RULES = load_rules([])
RULE_NAMES = {rule.name for rule in RULES.all_rules()}
BUILDER = RecordBuilder(load_taxonomy({}), 8)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of the pages the pipeline meets: words, both punctuation widths, bullets, the words the
# rules key on, dates, links, citations, and characters that break naive code.
WORDS = ["网贷", "逾期", "催收", "借款人", "合法", "上门", "民法典", "征信", "銀行", "協商", "盲盒", "律师", "平台",
         "还款", "利息", "法院", "起诉", "的", "了", "是", "在", "借呗", "信用卡", "terms and conditions", "APP"]
PUNCTUATION = list("，。？！：；、,.?!:;（）()【】《》“”\"'…-—>»/|") + ["...", "……", "——"]
BULLETS = ["  • ", "• ", "- ", "* ", "1. ", "2、", "（一）", "一、", "第一，", "▲", "→"]
RULE_WORDS = ["当前位置:", "首页 > 金融债务 > 正文", "发布时间:2025-01-17 01:39:06", "相关文章", "大家都在看", "相关内容:",
              "上一篇", "下一篇 1小时前", "返回顶部", "To Top", "(0)", "admin", "本文为合飞律师原创,未经授权禁止转载",
              "扫描二维码推送至手机访问。", "版权声明:", "本文链接:https://www.example.com/a/1.html", "分享到：",
              "责任编辑：", "来源：", "阅读(123)", "Copyright ©", "京ICP备12345678号", "声明：本站内容来源于网络",
              "猜你喜欢", "热门文章", "推荐阅读", "综上所述，", "总之，", "标题 内容:内容”的格式输出", "4天前",
              "2024-04-21", "《中华人民共和国民法典》第1032条", "12368", "400-123-4567", "问：", "答：", "楼主",
              "本帖最后由 admin 于 2024-1-1 12:00 编辑", "——————", "====", "<p>", "</div>", "&nbsp;"]
ODD = ["\x00", "\x07", "\x08", "\x0b", "\x0c", "\x1b[31m", "\x7f", "\x85", "\u2028", "\u200b", "\ufeff", "\ufffd",
       "\u0301", "🙂", "𠮷", "\t", "\r", "\r\n", " ", "\u3000"]
FRAGMENT = st.one_of(st.sampled_from(WORDS), st.sampled_from(PUNCTUATION), st.sampled_from(BULLETS),
                     st.sampled_from(RULE_WORDS), st.sampled_from(ODD),
                     st.text(st.characters(blacklist_categories=("Cs",)), max_size=8))
LINE = st.one_of(
    st.lists(FRAGMENT, max_size=16).map("".join),
    # a very long line: a piece repeated to 1,000–6,000 characters
    st.tuples(st.lists(FRAGMENT, min_size=1, max_size=4).map("".join).filter(bool), st.integers(1000, 6000))
      .map(lambda t: t[0] * (t[1] // len(t[0]) + 1)),
)
PAGE_TEXT = st.lists(LINE, max_size=40).map("\n".join)
MARKUP = st.lists(st.one_of(
    FRAGMENT,
    st.sampled_from(["<html>", "<body>", "</body>", "<p>", "</p>", "<div class=x>", "</div>", "<ul>", "<ol>", "<li>",
                     "</li>", "<br>", "<br/>", "<script>var a='</p>';", "</script>", "<style>", "<!--", "-->",
                     "<![CDATA[", "]]>", "<table><tr><td>", "<h1>", "<nav>", "<img alt='标题'>", "<font>", "&amp;",
                     "&#x4e2d;", "&#99999999;", "<?xml version='1.0'?>", "<!DOCTYPE html>", "<", ">", "</"]),
), max_size=80).map("".join)


@SETTINGS
@given(PAGE_TEXT)
@example("分享 " * 16 + "。\n人气 1 " * 8 + "。\n" + "1 | " * 15)  # took minutes before the rules were unambiguous
def test_the_cleaner_decides_every_line_and_never_raises(text):
    cleaned = clean_page(Page("site/page.txt", text), RULES)
    assert len(cleaned.decisions) == len(text.splitlines())
    assert {d.rule for d in cleaned.decisions} <= RULE_NAMES | {"body"}
    assert sum(len(article.lines) for article in cleaned.articles) <= sum(d.keep for d in cleaned.decisions)


@SETTINGS
@given(PAGE_TEXT)
def test_the_record_builder_never_raises(text):
    cleaned = clean_page(Page("site/page.txt", text, url="https://example.com/x"), RULES)
    for record in BUILDER.build(cleaned, "run"):
        assert record.record_id == record_id_for(record.answer)
        assert record.char_count >= 0 and 0.0 <= record.removed_ratio <= 1.0


@SETTINGS
@given(MARKUP)
def test_the_html_reader_gives_every_line_its_evidence_and_never_raises(markup):
    page = read_html(markup)
    lines = page.text.split("\n") if page.text else []
    assert len(lines) == len(page.evidence) and all(line.strip() == line and line for line in lines)


@SETTINGS
@given(st.one_of(st.binary(max_size=2000), PAGE_TEXT.map(lambda t: t.encode("utf-8")),
                 MARKUP.map(lambda t: t.encode("gb18030", errors="replace"))),
       st.sampled_from(["a.txt", "a.html", "a.gz", "a.txt.gz", "a.warc", "a.warc.gz", "a.jsonl", "a"]))
def test_reading_any_bytes_gives_pages_or_per_file_errors(data, name):
    for item in read_bytes(data, name, name):
        assert isinstance(item, (Page, PageError))
    try:
        text, encoding = decode_bytes(data)
        assert isinstance(text, str) and encoding
    except BinaryContent:
        pass


def test_no_rule_backtracks_on_a_row_of_its_own_words():
    """A pattern with nested quantifiers over optional spaces takes exponential time on a row of its words
    that fails at the end (16 UI labels and a 。 took over a minute). Every row here takes milliseconds;
    the alarm only turns such a hang into a failure."""
    def hang(*_):
        raise TimeoutError("a rule backtracks catastrophically")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(60)
    try:
        for rule in (r for r in RULES.all_rules() if r.pattern):
            pattern = re.compile(rule.pattern, re.IGNORECASE)
            words = sorted(set(re.findall(r"[\u4e00-\u9fff]+|[a-z]{2,}", rule.pattern))) + ["1", "2024-01-02"]
            for word, separator, tail in itertools.product(words, [" ", "  ", " | ", " 1 ", " (2) ", "/", ":"], "。x"):
                row = (word + separator) * (rule.max_chars // len(word + separator) + 1)
                pattern.search(row[: rule.max_chars - 1] + tail)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)



@SETTINGS
@given(st.lists(st.one_of(FRAGMENT, st.sampled_from(RULE_WORDS)), max_size=12).map("".join))
def test_a_rule_split_into_anchored_and_free_alternatives_matches_the_lines_the_whole_pattern_matches(line):
    for rule in RULES.line_rules:
        assert bool(line_finder(rule.pattern)(line)) == bool(re.compile(rule.pattern, re.IGNORECASE).search(line)), rule.name


def test_patterns_whose_meaning_splitting_would_change_are_searched_whole():
    for pattern, line, found in [(r"^(a)(c)|(b)\1", "bb", False), (r"(?m)^a|b", "x\na", True), (r"^[|]x|y", "|x", True)]:
        assert bool(line_finder(pattern)(line)) is found


COMPOSING = ["\u0301", "\u0338", "\u3099", "\u309b", "<", "=", "e", "a", "℃", "㎡", "™", "①", "ｅ", "＜", "，", "…",
             "\u1100", "\u1161", "\u11a8", "가", "ㄱ", "ㅏ", "\ue000", "\uf900", "ﬁ", "＿", "_", "\U0001d165"]


@SETTINGS
@given(st.lists(st.one_of(FRAGMENT, st.sampled_from(COMPOSING)), max_size=40).map("".join), st.booleans())
@example("e，\u0301", False)
@example("ㄱ，ㅏ", False)
@example("\ue000e\ue001\u0303a", False)
def test_the_signature_normalizer_is_nfkc_first_then_punctuation_dropped(text, simplified):
    """Punctuation is dropped before NFKC for speed: the result is what the normalizer's definition gives."""
    from pipeline.dedup.signature import _DIGIT_RE, _DROP_RE, normalize_body
    from pipeline.textnorm import to_simplified

    expected = unicodedata.normalize("NFKC", text).lower()
    expected = _DIGIT_RE.sub("0", _DROP_RE.sub("", to_simplified(expected) if simplified else expected))
    assert normalize_body(text, simplified) == expected
