"""The HTML path through the real CLI: page metadata against the dev set's labels, DOM evidence in --explain."""

import gzip
import json
import shutil
from urllib.parse import urlparse

import pytest

from pipeline.readers.decode import canonical_encoding
from tests.conftest import DATA, read_records, run_cli

HTML_DEVSET = DATA / "html_devset"
FIELDS = {"title": "title", "published_at": "published_at", "author": "author", "site": "site", "url": "source_url"}


def _mismatches(record, labels: dict, fetched_url: str | None = None) -> list[str]:
    """Every field the record gets wrong; dates compare on the date or datetime the label gives.

    A null label means an empty field, except where the README's precedence falls back on where the
    page was fetched: source_url is then that URL, and site, when the page names none, its host name.
    The labels hold the other fallbacks (the visible 来源, the host name of the page's own URL).
    """
    expected = {label: labels[label] or "" for label in FIELDS}
    if fetched_url:
        expected["url"] = expected["url"] or fetched_url
        expected["site"] = expected["site"] or urlparse(expected["url"]).hostname
    wrong = []
    if record["encoding"] != canonical_encoding(labels["encoding"]):
        wrong.append(f"encoding: {record['encoding']!r} for a page in {labels['encoding']}")
    for label, column in FIELDS.items():
        got = record[column]
        if (got[:len(expected[label])] if label == "published_at" and expected[label] else got) != expected[label]:
            wrong.append(f"{column}: {got!r} != {expected[label]!r}")
    return wrong


@pytest.fixture(scope="module")
def page_records(tmp_path_factory):
    out = tmp_path_factory.mktemp("html_pages")
    run_cli("run", HTML_DEVSET / "pages", "--out", out, "--no-dedup", "--workers", "1")
    records = read_records(out)
    return {row["source_path"]: row for _, row in records[records["part"] == "0"].iterrows()}


@pytest.mark.parametrize("labels_path", sorted((HTML_DEVSET / "meta").glob("*.json")), ids=lambda p: p.stem)
def test_page_metadata_matches_the_labels(page_records, labels_path):
    labels = json.loads(labels_path.read_text(encoding="utf-8"))
    record = page_records[labels_path.stem + ".html"]
    assert _mismatches(record, labels) == []
    assert record["input_format"] == "html"
    assert "trafilatura_body" not in record["flags"]  # the DOM path found every dev-set article


def _labels(page: str) -> dict:
    return json.loads((HTML_DEVSET / "meta" / f"{page}.json").read_text(encoding="utf-8"))


def test_warc_records_carry_page_metadata_and_the_target_uri(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(HTML_DEVSET / "archive" / "crawl.warc.gz", inputs)
    run_cli("run", inputs, "--out", tmp_path / "out", "--no-dedup", "--workers", "1")
    records = {row["source_path"]: row for _, row in read_records(tmp_path / "out").iterrows()}
    crawl = json.loads((HTML_DEVSET / "archive" / "crawl.json").read_text(encoding="utf-8"))
    assert set(records) == {f"crawl.warc.gz#{entry['record_index']}" for entry in crawl}
    for entry in crawl:
        labels = _labels(entry["page"])
        record = records[f"crawl.warc.gz#{entry['record_index']}"]
        # a page without a canonical link or 本文链接 keeps the URL it was fetched from
        assert _mismatches(record, labels, fetched_url=entry["url"]) == [], entry["page"]
        assert record["input_format"] == "warc"


# Written for the tests in the style of a portal page: site header with a menu, an article, a run of
# links after it without a heading, a sidebar and a footer.
SYNTHETIC_PORTAL_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>个人征信报告怎么查_某某资讯网</title></head><body>
<header><div class="logo">某某资讯网</div>
<nav><a href="/">首页</a> <a href="/news/">新闻</a> <a href="/loan/">贷款</a></nav></header>
<div class="content">
<div class="user">积分 12</div>
<h1>个人征信报告怎么查？三种渠道一次说清</h1>
<p>个人征信报告记录了一个人的借贷和还款情况，办理房贷、车贷之前最好先查一次，了解自己的信用状况。</p>
<p>第一种渠道是登录征信中心的官方网站，注册后在线申请，一般第二天就能看到报告。</p>
<p>第二种渠道是到人民银行分支机构或者银行网点的自助查询机，带上身份证就能打印征信报告。</p>
<div class="more"><a href="/a/1.html">征信有逾期记录多久能消除</a><br>
<a href="/a/2.html">网贷会不会影响房贷审批</a><br>
<a href="/a/3.html">信用卡分期对征信有什么影响</a></div>
</div>
<aside><h3>热门文章</h3><ul><li><a href="/a/9.html">征信修复是骗局吗</a></li></ul></aside>
<footer>关于我们 | 联系方式</footer>
</body></html>
"""


def test_dom_evidence_names_its_rules_and_text_dumps_have_none(tmp_path):
    page = tmp_path / "synthetic_portal.html"
    page.write_text(SYNTHETIC_PORTAL_PAGE, encoding="utf-8")
    explained = run_cli("clean", page, "--explain").stdout.splitlines()

    def decision(text: str) -> str:
        return next(line for line in explained if line.endswith(f"| {text}")).split()[1:3]

    assert decision("首页 新闻 贷款") == ["drop", "page_container"]
    assert decision("• 征信修复是骗局吗") == ["drop", "page_container"]
    assert decision("关于我们 | 联系方式") == ["drop", "page_container"]
    assert decision("个人征信报告怎么查？三种渠道一次说清") == ["KEEP", "title"]
    for link in ("征信有逾期记录多久能消除", "网贷会不会影响房贷审批", "信用卡分期对征信有什么影响"):
        assert decision(link) == ["drop", "link_dense_list"]
    assert decision("第二种渠道是到人民银行分支机构或者银行网点的自助查询机，带上身份证就能打印征信报告。")[0] == "KEEP"

    # the same visible lines as a text dump: no DOM rule can fire
    dump = tmp_path / "synthetic_portal.txt"
    dump.write_text("\n".join(line.split("| ", 1)[1] for line in explained), encoding="utf-8")
    as_text = run_cli("clean", dump, "--explain").stdout
    assert "page_container" not in as_text and "link_dense_list" not in as_text
    listed = run_cli("rules").stdout
    assert "page_container" in listed and "link_dense_list" in listed


def test_xhtml_page_in_a_form_with_an_encoding_declaration(tmp_path):
    # ASP.NET sites wrap the whole body in <form>; XHTML pages start with an XML declaration
    html = ('<?xml version="1.0" encoding="gb2312"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head>'
            '<meta http-equiv="Content-Type" content="text/html; charset=gb2312" /><title>公告_某某市政府网</title>'
            '</head><body><form id="form1"><input type="hidden" value="x" /><h2>关于调整公积金贷款额度的通知</h2>'
            '<p>发布时间：2024-06-03</p><p>为进一步支持缴存职工购房需求，经研究决定，自即日起调整住房公积金贷款最高额度。</p>'
            '<p>本通知自发布之日起施行，此前规定与本通知不一致的，以本通知为准。</p></form></body></html>')
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "notice.htm").write_bytes(html.encode("gb18030"))
    run_cli("run", inputs, "--out", tmp_path / "out", "--no-dedup", "--workers", "1")
    record = read_records(tmp_path / "out").iloc[0]
    assert record["title"] == "关于调整公积金贷款额度的通知"
    assert record["published_at"] == "2024-06-03" and record["site"] == "某某市政府网"
    assert record["answer"].startswith("为进一步支持缴存职工购房需求")


# Written for the tests in the style of a county news portal whose template never closes its <header>:
# the browser shows the page as usual, but the whole article sits inside the header element.
SYNTHETIC_UNCLOSED_HEADER_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>农村信用社小额贷款逾期了怎么办？_青禾资讯网</title>
<meta name="keywords" content="小额贷款,逾期,信用社">
</head><body>
<header class="site-top"><div class="logo"><a href="/">青禾资讯网</a></div>
<div class="menu"><a href="/">首页</a> <a href="/nongye/">农业</a> <a href="/jinrong/">金融</a> <a href="/falv/">法律</a></div>
<div class="wrap">
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/jinrong/">金融</a> &gt; 正文</div>
<div class="article">
<h1>农村信用社小额贷款逾期了怎么办？</h1>
<div class="info">发布时间：2024-05-21 09:30　来源：青禾资讯网　作者：李春生</div>
<div class="text">
<p>　　不少农户在春耕前向农村信用社申请了小额贷款，用来购买种子、化肥和农机。遇上收成不好或者农产品价格下跌，到期还不上贷款的情况并不少见。</p>
<p>　　贷款逾期以后，信用社一般会先电话提醒，再由信贷员上门了解情况。逾期记录会报送到人民银行征信系统，以后再办理贷款、信用卡都会受到影响。</p>
<p>　　如果确实是因为自然灾害或者市场原因暂时还不上，借款人可以主动到网点说明情况，提交受灾证明或者收入下降的材料，申请展期或者调整还款计划。</p>
<p>　　需要提醒的是，逾期时间越长，罚息越多。借款人不要躲避催收，更不要轻信所谓“征信修复”的广告，以免上当受骗。</p>
<p>免责声明：本站部分文章来源于网络，如有侵权请联系删除。</p>
</div>
<div class="editor">责任编辑：王丽</div>
</div>
<div class="xgwz"><h3>相关文章</h3>
<ul><li><a href="/jinrong/1021.html">农户贷款利率是多少</a></li>
<li><a href="/jinrong/1022.html">扶贫小额信贷政策解读</a></li>
<li><a href="/jinrong/1023.html">信用社贷款需要什么条件</a></li></ul></div>
</div>
<footer><p>Copyright © 2024 青禾资讯网 版权所有　ICP备12345678号</p></footer>
</body></html>
"""


def test_a_page_whose_article_sits_in_furniture_gets_trafilatura_s_body_cleaned_and_flagged(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    page = inputs / "synthetic_unclosed_header.html"
    page.write_text(SYNTHETIC_UNCLOSED_HEADER_PAGE, encoding="utf-8")
    explained = run_cli("clean", page, "--explain").stdout.splitlines()
    first_paragraph = "不少农户在春耕前向农村信用社申请了小额贷款，用来购买种子、化肥和农机。遇上收成不好或者农产品价格下跌，到期还不上贷款的情况并不少见。"
    disclaimer = "免责声明：本站部分文章来源于网络，如有侵权请联系删除。"
    decisions = [line.split()[1:3] for line in explained if line.endswith(f"| {first_paragraph}")]
    assert decisions == [["drop", "page_container"], ["KEEP", "trafilatura_body"]]  # the page's line, then the extraction's
    assert [line.split()[1:3] for line in explained if line.endswith(f"| {disclaimer}")][-1] == ["drop", "copyright"]

    run_cli("run", inputs, "--out", tmp_path / "out", "--no-dedup", "--workers", "1")
    record = read_records(tmp_path / "out").iloc[0]
    assert record["flags"].split(";") == ["trafilatura_body"]
    assert record["answer"].startswith(first_paragraph) and record["answer"].endswith("以免上当受骗。")
    assert "免责声明" not in record["answer"] and "相关文章" not in record["answer"]
    assert record["title"] == "农村信用社小额贷款逾期了怎么办？"
    assert (record["published_at"], record["author"], record["site"]) == ("2024-05-21T09:30:00", "李春生", "青禾资讯网")
    assert 0.2 < float(record["removed_ratio"]) < 0.6


def test_every_input_form_gives_its_record_with_its_format_encoding_and_url(tmp_path):
    # a GBK page labelled gb2312 without a canonical link: only a fetched URL can give its source_url
    page = (HTML_DEVSET / "pages" / "synthetic_news_03.html").read_bytes()
    labels = _labels("synthetic_news_03")
    assert labels["url"] is None
    inputs = tmp_path / "in"
    inputs.mkdir()
    html_files = {"news.html.gz": gzip.compress(page), "news-page": gzip.compress(page), "news": page,
                  "news.htm": page, "news.shtml": page, "NEWS.HTML": page}
    for name, data in html_files.items():
        (inputs / name).write_bytes(data)
    lines = [{"url": "https://www.nanfangfazhi.cn/fazhi/2024/0702/11823.html", "html": page.decode("gb18030")},
             {"url": "https://news.qjwb.com.cn/fazhi/2024/1105/6620.html",
              "text": (DATA / "devset" / "dumps" / "synthetic_newsportal_02.txt").read_text(encoding="utf-8")}]
    (inputs / "pages.jsonl").write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines),
                                        encoding="utf-8")
    shutil.copy(HTML_DEVSET / "archive" / "crawl.warc.gz", inputs / "crawl-20240702")

    expected = {name: ("html", canonical_encoding(labels["encoding"]), "") for name in html_files}
    expected["pages.jsonl#0"] = ("jsonl", "utf-8", lines[0]["url"])
    expected["pages.jsonl#1"] = ("jsonl", "utf-8", lines[1]["url"])
    for entry in json.loads((HTML_DEVSET / "archive" / "crawl.json").read_text(encoding="utf-8")):
        entry_labels = _labels(entry["page"])
        expected[f"crawl-20240702#{entry['record_index']}"] = (
            "warc", canonical_encoding(entry_labels["encoding"]), entry_labels["url"] or entry["url"])
    run_cli("run", inputs, "--out", tmp_path / "out", "--no-dedup", "--workers", "1")
    records = read_records(tmp_path / "out").set_index("source_path")
    got = {path: (row["input_format"], row["encoding"], row["source_url"]) for path, row in records.iterrows()}
    assert got == expected
    assert set(records.loc[[*html_files, "pages.jsonl#0"], "title"]) == {labels["title"]}
