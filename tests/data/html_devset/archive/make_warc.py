"""Build crawl.warc.gz and crawl.json from the dev-set pages.

Deterministic: every WARC-Date, WARC-Record-ID and HTTP Date is fixed, and the
gzip members carry no timestamp, so re-running produces identical bytes.

Usage:  python make_warc.py   (needs warcio)
"""
import json
import struct
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HERE = Path(__file__).resolve().parent
PAGES = HERE.parent / "pages"
WARC_PATH = HERE / "crawl.warc.gz"
INDEX_PATH = HERE / "crawl.json"

BASE_TIME = datetime(2024, 9, 1, 2, 0, 0, tzinfo=timezone.utc)
UA = "Mozilla/5.0 (compatible; DevsetCrawler/1.0)"

# (kind, url, page name or None, Content-Type header)
# Content-Type carries a charset for some pages and not for others on purpose:
#   synthetic_news_03   header without charset, page declares gb2312 but needs gbk
#   synthetic_farm_02   header without charset and no declaration in the page (GBK bytes)
#   synthetic_qa_03     header says UTF-8, page has a BOM and no meta charset
#   synthetic_law_01    header without charset, page declares utf-8
PLAN = [
    ("warcinfo", None, None, None),
    ("request", "https://www.hxmsw.com.cn/finance/2024/0312/87213.html", None, None),
    ("response", "https://www.hxmsw.com.cn/finance/2024/0312/87213.html", "synthetic_news_01", "text/html; charset=utf-8"),
    ("response", "http://www.nanfangfazhi.cn/fazhi/2024/0702/11823.html", "synthetic_news_03", "text/html"),
    ("png", "http://www.nanfangfazhi.cn/images/logo.png", None, "image/png"),
    ("response", "http://www.xinyongzs.com/zhengxin/3312.html", "synthetic_farm_02", "text/html"),
    ("response", "https://bbs.licaixiaozhan.com.tw/thread-30551-1-1.html", "synthetic_forum_03", "text/html; charset=big5"),
    ("response", "https://www.kuaiwenkuaida.com/question/55120.html", "synthetic_qa_03", "text/html; charset=UTF-8"),
    ("response", "http://www.dfcfg.com/insurance/2024/0513/98112.html", "synthetic_finance_03", "text/html;charset=GBK"),
    ("response", "https://www.zhangweilawyer.com/blog/1287.html", "synthetic_law_01", "text/html"),
]


def record_id(i):
    return "<urn:uuid:%s>" % uuid.uuid5(uuid.NAMESPACE_URL, "html-devset-record-%d" % i)


def warc_date(i):
    return (BASE_TIME + timedelta(seconds=7 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(i):
    return (BASE_TIME + timedelta(seconds=7 * i)).strftime("%a, %d %b %Y %H:%M:%S GMT")


def tiny_png():
    """A valid 4x4 RGB PNG built from scratch."""
    def chunk(tag, data):
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    w = h = 4
    rows = b"".join(b"\x00" + bytes([200, 30, 30]) * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def main():
    index = []
    request_ids = {}
    with open(WARC_PATH, "wb") as out:
        writer = WARCWriter(out, gzip=True, warc_version="WARC/1.0")
        for i, (kind, url, page, ctype) in enumerate(PLAN):
            base = {"WARC-Record-ID": record_id(i), "WARC-Date": warc_date(i)}
            if kind == "warcinfo":
                fields = (b"software: make_warc.py (warcio)\r\n"
                          b"format: WARC File Format 1.0\r\n"
                          b"description: html dev set crawl\r\n"
                          b"isPartOf: html_devset\r\n")
                base["WARC-Filename"] = WARC_PATH.name
                rec = writer.create_warc_record(None, "warcinfo", payload=BytesIO(fields), length=len(fields),
                                                warc_content_type="application/warc-fields",
                                                warc_headers_dict=base)
            elif kind == "request":
                path = url.split("/", 3)[3]
                host = url.split("/")[2]
                hh = StatusAndHeaders("GET /%s HTTP/1.1" % path,
                                      [("Host", host), ("User-Agent", UA),
                                       ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
                                       ("Accept-Language", "zh-CN,zh;q=0.9"), ("Connection", "close")],
                                      is_http_request=True)
                request_ids[url] = record_id(i)
                rec = writer.create_warc_record(url, "request", payload=BytesIO(b""), length=0,
                                                http_headers=hh, warc_headers_dict=base)
            else:
                body = tiny_png() if kind == "png" else (PAGES / (page + ".html")).read_bytes()
                hh = StatusAndHeaders("200 OK",
                                      [("Date", http_date(i)), ("Server", "nginx"), ("Content-Type", ctype),
                                       ("Content-Length", str(len(body))), ("Connection", "close")],
                                      protocol="HTTP/1.1")
                if url in request_ids:
                    base["WARC-Concurrent-To"] = request_ids[url]
                rec = writer.create_warc_record(url, "response", payload=BytesIO(body), length=len(body),
                                                http_headers=hh, warc_headers_dict=base)
                if kind == "response":
                    index.append({"record_index": i, "url": url, "page": page})
            writer.write_record(rec)
    INDEX_PATH.write_text(json.dumps(index, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
