"""Build the bad-input corpus in this folder from the real samples and the HTML dev set.

Deterministic (seeded random bytes, gzip members without timestamps): re-running produces identical
files. Large inputs (a huge file, a gzip bomb) and links are not kept here; the test makes them.

Usage:  python tests/data/bad_inputs/make_bad_inputs.py
"""

from __future__ import annotations

import gzip
import json
import random
import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SAMPLES = sorted((ROOT / "raw").glob("*.txt"))
TW_BLOG = ROOT / "tests" / "data" / "devset" / "dumps" / "synthetic_twblog_01.txt"
CRAWL = ROOT / "tests" / "data" / "html_devset" / "archive" / "crawl.warc.gz"

# A page in the style of a Chinese law Q&A site (made up: site, names and text).
TITLE = "网贷逾期后被上门催收怎么办？"
PARAGRAPHS = [
    "网贷逾期以后，不少借款人会遇到催收人员上门的情况。上门催收本身并不违法，但催收人员必须表明身份，"
    "不得在夜间上门，更不能采取威胁、恐吓、辱骂等方式逼迫还款。",
    "根据《中华人民共和国民法典》第一千零三十二条，自然人享有隐私权，任何组织或者个人不得以刺探、侵扰、"
    "泄露、公开等方式侵害他人的隐私权。催收人员向借款人的亲友、同事散布欠款信息，就可能构成侵权。",
    "遇到上门催收，借款人首先要保持冷静，核实对方的工作证件和委托授权书，并对沟通过程录音录像。",
    "如果催收人员有暴力或者软暴力行为，借款人可以拨打110报警，也可以向平台所在地的金融监管部门投诉。",
    "综上所述，借款人既要正视自己的债务，主动与平台协商还款方案，也要学会用法律保护自己的合法权益。",
]
LAST_SENTENCE = "也要学会用法律保护自己的合法权益。"


def article_html(charset: str, body: str, menu: str = "") -> str:
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">\n'
        f"<title>{TITLE}_律法问答网</title>\n</head>\n<body>\n"
        f'{menu}<div class="nav"><a href="/">首页</a> &gt; <a href="/zhaiwu/">债务纠纷</a> &gt; 正文</div>\n'
        f"<h1>{TITLE}</h1>\n"
        f"{body}\n"
        '<div class="footer">Copyright &copy; 2024 律法问答网 版权所有</div>\n</body>\n</html>\n'
    )


def paragraphs_html(paragraphs: list[str]) -> str:
    return "\n".join(f"<p>{p}</p>" for p in paragraphs)


def unclosed_tags_html() -> str:
    """Old CMS output: each of 300 menu entries opens a <font> it never closes, so the article nests 300 deep."""
    menu = "".join(f'<font color="#cc0000"><a href="/lanmu/{i + 1}/">栏目{i + 1}</a><br>\n' for i in range(300))
    return article_html("utf-8", paragraphs_html([PARAGRAPHS[0], *PARAGRAPHS[2:]]), menu)


def tag_soup_html() -> str:
    """Stray closing tags, unquoted attributes, a paragraph inside a table row, no </body>, no </html>."""
    body = (
        "</div></span><table width=100% border=0><tr><p>" + PARAGRAPHS[0] + "</td></tr>\n"
        "<div class=content align=left><p>" + PARAGRAPHS[1] + "</b></i>\n"
        "<div><<p>>" + PARAGRAPHS[3] + "</p></p></p>\n<p>" + PARAGRAPHS[4] + "\n<!-- unclosed comment"
    )
    return article_html("utf-8", body).split("<div class=\"footer\">")[0]


def markup_only_html() -> str:
    return ("<html><head><style>body{margin:0}</style><script>var ads=[1,2,3];</script></head><body>"
            "<nav><a href='/'>首页</a></nav><div><img src='banner.png'></div><script>load()</script>"
            "<footer>&copy;</footer></body></html>")


def png() -> bytes:
    """An 8×8 grey PNG, as a crawler saves an image under a page's name."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + bytes([128]) * 8 for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def with_control_characters(text: str) -> str:
    """A dump captured from a terminal: ANSI colours, form feeds, backspaces, a bell, CR LF."""
    lines = text.split("\n")
    marked = [f"\x1b[1;31m{line}\x1b[0m" if i % 6 == 3 else line for i, line in enumerate(lines)]
    return "\r\n".join(marked).replace("。", "。\x08", 2).replace("\r\n\r\n", "\r\n\x0c\r\n", 2) + "\x07"


def cut_inside_a_character(data: bytes, after: str) -> bytes:
    """The file as a crawler killed mid-write leaves it: cut one byte into the character after `after`."""
    return data[: data.index(after.encode("utf-8")) + len(after.encode("utf-8")) + 1]


def big5_dump() -> bytes:
    """A Taiwanese blog dump saved in Big5 with no label; Big5 has no « » ©, the site used ＜ ＞ (C)."""
    text = TW_BLOG.read_text(encoding="utf-8")
    return text.translate({ord("«"): "＜", ord("»"): "＞", ord("©"): "(C)"}).encode("big5")


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def jsonl_lines() -> bytes:
    good = SAMPLES[2].read_text(encoding="utf-8")
    return "\n".join([
        json.dumps({"url": "https://example.com/a.html", "text": good}, ensure_ascii=False),
        '{"url": "https://example.com/b.html", "text": "unterminated',
        json.dumps({"url": "https://example.com/c.html"}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"html": 5}),
    ]).encode("utf-8") + b"\n"


def corrupt_warc() -> bytes:
    """A response record without WARC-Target-URI, whose length runs past the end of the file."""
    return (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000000>\r\n"
            b"Content-Type: application/http; msgtype=response\r\nContent-Length: 99999\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body><p>x</p>")


def build() -> dict[str, bytes]:
    sample = [path.read_bytes() for path in SAMPLES]
    crawl = CRAWL.read_bytes()
    lines = sample[4].split(b"\n")
    return {
        "empty.txt": b"",
        "blank_lines.txt": b"\n  \n\t\r\n   \n",
        "image_saved_as_page.html": png(),
        "random_bytes.txt": random.Random(7).randbytes(4096),
        "nul_filled.txt": b"\x00" * 8192,
        "nul_block_after_text.txt": sample[0] + b"\x00" * 4096,
        "truncated_inside_a_character.txt": cut_inside_a_character(sample[2], after="应当出示"),
        "control_characters.txt": with_control_characters(sample[3].decode("utf-8")).encode("utf-8"),
        "utf16_with_bom.txt": sample[1].decode("utf-8").encode("utf-16"),
        "big5_unlabeled.txt": big5_dump(),
        "utf8_labeled_gb2312.html": article_html("gb2312", paragraphs_html(PARAGRAPHS)).encode("utf-8"),
        "gbk_labeled_utf8.html": article_html("utf-8", paragraphs_html(PARAGRAPHS[1:])).encode("gbk"),
        "unclosed_tags.html": unclosed_tags_html().encode("utf-8"),
        "tag_soup.html": tag_soup_html().encode("utf-8"),
        "markup_only.html": markup_only_html().encode("utf-8"),
        "truncated.txt.gz": gz(sample[3])[: len(gz(sample[3])) // 2],
        "corrupt.txt.gz": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + random.Random(8).randbytes(600),
        "gzip_inside_gzip.txt.gz": gz(gz(sample[4])),
        "two_gzip_members.txt.gz": gz(b"\n".join(lines[:20]) + b"\n") + gz(b"\n".join(lines[20:])),
        "mixed_lines.jsonl": jsonl_lines(),
        "corrupt.warc": corrupt_warc(),
        "truncated.warc.gz": crawl[: len(crawl) * 3 // 4],
        "not_a_warc.warc": sample[1],
    }


if __name__ == "__main__":
    for name, data in build().items():
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")
