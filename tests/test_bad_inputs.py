"""Bad input never stops a run: every bad file gets its reason, fine-after-all files their record, memory stays bounded.

The small files live in tests/data/bad_inputs/ (rebuilt by make_bad_inputs.py there); the large
ones (a file over the size limit, a page over the page limit, gzip and WARC bombs), links and a
pipe are made here, in a temporary folder, and so are a dev-set page relabelled and a WARC archive over the
file limit (read all the same).
"""

import gzip
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import pandas as pd
import pytest

from pipeline.model import Page
from pipeline.readers import content_hash, read_source
from pipeline.readers.discover import MAX_FILE_BYTES, MAX_INFLATED_BYTES, MAX_PAGE_BYTES
from tests.conftest import DATA, RAW, ROOT, SAMPLE_LAST_SENTENCES, latest_summary, read_records

CORPUS = DATA / "bad_inputs"
DEV_DUMPS = DATA / "devset" / "dumps"
ARTICLE_END = "也要学会用法律保护自己的合法权益。"
NON_UTF8_NAME = b"\xc4\xe3\xba\xc3.txt"  # 你好.txt in GBK, as a Windows crawler names it

# source path → what its error must say
EXPECTED_ERRORS = {
    "empty.txt": "empty file",
    "blank_lines.txt": "empty file",
    "image_saved_as_page.html": "binary content",
    "random_bytes.txt": "binary content",
    "nul_filled.txt": "only NUL bytes",
    "truncated.txt.gz": "truncated gzip file",
    "corrupt.txt.gz": "corrupt gzip file",
    "gzip_inside_gzip.txt.gz": "gzip file inside a gzip file",
    "corrupt.warc#0": "corrupt WARC archive",
    "truncated.warc.gz#7": "truncated WARC record",
    "not_a_warc.warc": "not a WARC archive",
    "mixed_lines.jsonl#1": "malformed JSON line",
    "mixed_lines.jsonl#2": "no 'html' or 'text' string",
    "mixed_lines.jsonl#3": "not an object",
    "mixed_lines.jsonl#4": "no 'html' or 'text' string",
    # made by the test
    "huge.txt": "file too large",
    "long_page.txt": "page too large",
    "bomb.txt.gz": "gzip inflates beyond",
    "bomb.warc.gz#0": "page too large",
    "link_leaving.txt": "symbolic link leaving the input folder",
    "folder_link_leaving": "symbolic link leaving the input folder",
    "dev_zero.txt": "symbolic link leaving the input folder",
    "pipe.txt": "not a regular file",
}
# source path → (encoding, text its answer must hold): inputs that are fine after all
EXPECTED_RECORDS = {
    "nul_block_after_text.txt": ("utf-8", SAMPLE_LAST_SENTENCES["000_d4cb2d620e5ba3d0.txt"]),
    "truncated_inside_a_character.txt": ("utf-8", "上门走访的催收人员应当出示"),
    "control_characters.txt": ("utf-8", SAMPLE_LAST_SENTENCES["003_ebe907049f0875d6.txt"]),
    "utf16_with_bom.txt": ("utf-16", SAMPLE_LAST_SENTENCES["001_386c8cc45b7cb5d6.txt"]),
    "big5_unlabeled.txt": ("big5hkscs", "消費者債務清理條例"),
    "utf8_labeled_gb2312.html": ("utf-8", ARTICLE_END),
    "gbk_labeled_utf8.html": ("gb18030", ARTICLE_END),
    "big5_labeled_gb2312.html": ("big5hkscs", "銀行不能自己直接從您的薪水中扣款"),
    "unclosed_tags.html": ("utf-8", ARTICLE_END),
    "tag_soup.html": ("utf-8", ARTICLE_END),
    "two_gzip_members.txt.gz": ("utf-8", SAMPLE_LAST_SENTENCES["004_ca42f5a0b652b792.txt"]),
    "mixed_lines.jsonl#0": ("utf-8", "网贷逾期会对个人信用产生严重负面影响"),
    "truncated.warc.gz#2": ("utf-8", "信用卡"),
    "truncated.warc.gz#3": ("gb18030", "催收"),
    "truncated.warc.gz#5": ("gb18030", "征信"),
    "truncated.warc.gz#6": ("big5hkscs", "協商"),
    "\\xc4\\xe3\\xba\\xc3.txt": ("utf-8", "注意3年诉讼时效。"),
    "folder/link_inside.txt": ("utf-8", "工伤无小事，遇到问题请及时咨询专业律师或当地人社部门。"),
}
EXPECTED_NO_ARTICLE = {"markup_only.html"}
CONTROL_CHARACTERS = {chr(c) for c in [*range(0, 9), *range(14, 28), 31, 127]}


def gzip_stream(pieces) -> bytes:
    """A gzip member made from pieces without holding the inflated whole in memory."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join(packer.compress(piece) for piece in pieces) + packer.flush()


def make_large_inputs(folder: Path) -> None:
    page = (RAW / "000_d4cb2d620e5ba3d0.txt").read_bytes()
    with open(folder / "huge.txt", "wb") as handle:
        for _ in range(MAX_FILE_BYTES // len(page) + 1):
            handle.write(page)
    (folder / "long_page.txt").write_bytes(page * (MAX_PAGE_BYTES // len(page) + 1))
    zeros = bytes(1 << 20)
    (folder / "bomb.txt.gz").write_bytes(gzip_stream(zeros for _ in range(4 * MAX_INFLATED_BYTES >> 20)))
    html = "<p>网贷逾期，平台上门催收合法吗？</p>\n".encode() * ((8 * MAX_PAGE_BYTES) // 50)
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    warc = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://example.com/bomb.html\r\n"
            b"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
            b"Content-Type: application/http; msgtype=response\r\n"
            b"Content-Length: %d\r\n\r\n" % (len(http) + len(html)))
    (folder / "bomb.warc.gz").write_bytes(gzip_stream([warc, http, html, b"\r\n\r\n"]))


def make_relabelled_page(folder: Path) -> None:
    """A Taiwanese Q&A page in Big5 whose http-equiv says gb2312 (a template copied from a mainland site)."""
    page = (DATA / "html_devset" / "pages" / "synthetic_qa_04.html").read_bytes()
    assert b"charset=big5" in page
    (folder / "big5_labeled_gb2312.html").write_bytes(page.replace(b"charset=big5", b"charset=gb2312"))


def make_links_and_pipe(folder: Path, outside: Path) -> None:
    outside.mkdir()
    shutil.copy(RAW / "004_ca42f5a0b652b792.txt", outside / "secret.txt")
    (folder / "link_leaving.txt").symlink_to(outside / "secret.txt")
    (folder / "folder_link_leaving").symlink_to(outside, target_is_directory=True)
    (folder / "dev_zero.txt").symlink_to("/dev/zero")
    (folder / "folder").mkdir()
    shutil.copy(DEV_DUMPS / "synthetic_wechat_01.txt", folder / "folder" / ".hidden.txt")  # skipped; read via the link
    (folder / "folder" / "link_inside.txt").symlink_to(".hidden.txt")
    (folder / "folder" / "same_folder_again").symlink_to("..", target_is_directory=True)  # a cycle, not walked
    os.mkfifo(folder / "pipe.txt")
    with open(os.path.join(os.fsencode(folder), NON_UTF8_NAME), "wb") as handle:
        handle.write((DEV_DUMPS / "synthetic_lawblog_01.txt").read_bytes())


def run_with_peak_memory(*args) -> tuple[int, str, int]:
    """Runs the CLI; returns (exit code, stderr, peak resident memory of the process in MiB)."""
    process = subprocess.Popen([sys.executable, "-m", "pipeline", *map(str, args)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, stderr, usage.ru_maxrss // 1024


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad_inputs")
    inputs = base / "in"
    shutil.copytree(CORPUS, inputs, ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__"))
    make_large_inputs(inputs)
    make_relabelled_page(inputs)
    make_links_and_pipe(inputs, base / "outside")
    code, stderr, peak = run_with_peak_memory("run", inputs, "--out", base / "out", "--workers", "1", "--no-dedup")
    _, _, baseline_peak = run_with_peak_memory("run", RAW, "--out", base / "samples", "--workers", "1", "--no-dedup")
    return base / "out", code, stderr, peak, baseline_peak


def test_a_run_over_bad_inputs_finishes_with_exit_1_and_no_traceback(bad_run):
    out, code, stderr, _, _ = bad_run
    assert code == 1, stderr
    assert "Traceback" not in stderr


def test_every_bad_input_gets_its_reason_in_run_json_and_errors_csv(bad_run):
    out = bad_run[0]
    reasons = {e["source_path"]: e["reason"] for e in latest_summary(out)["errors"]}
    assert set(reasons) == set(EXPECTED_ERRORS)
    for path, expected in EXPECTED_ERRORS.items():
        assert expected in reasons[path], (path, reasons[path])
    errors = pd.read_csv(out / "errors.csv", encoding="utf-8-sig", keep_default_na=False)
    listed = dict(zip(errors["source_path"], errors["reason"]))
    assert {path: listed[path] for path in reasons} == reasons
    assert {p for p, r in listed.items() if r == "no article found"} == EXPECTED_NO_ARTICLE
    assert set(latest_summary(out)["no_article"]) == EXPECTED_NO_ARTICLE


def test_every_bad_input_is_logged_on_stderr(bad_run):
    out, _, stderr, _, _ = bad_run
    errors = latest_summary(out)["errors"]
    assert {e["source_path"] for e in errors} >= {"link_leaving.txt", "dev_zero.txt", "pipe.txt"}  # refused at discovery
    for error in errors:
        assert f"pipeline: warning: {error['source_path']}: {error['reason']}\n" in stderr, error


def test_inputs_that_are_fine_after_all_give_their_records(bad_run):
    records = read_records(bad_run[0]).set_index("source_path")
    assert set(records.index) == set(EXPECTED_RECORDS)
    for path, (encoding, text) in EXPECTED_RECORDS.items():
        assert records.loc[path, "encoding"] == encoding, path
        assert text in records.loc[path, "answer"], path
        assert not CONTROL_CHARACTERS & set(records.loc[path, "answer"] + records.loc[path, "title"]), path
        assert "\ufffd" not in records.loc[path, "answer"], path
    assert records.loc["unclosed_tags.html", "title"] == "网贷逾期后被上门催收怎么办？"
    assert records.loc["big5_labeled_gb2312.html", "title"] == "信用貸款逾期，銀行可以直接扣我薪水嗎？"
    assert "[1;31m" not in records.loc["control_characters.txt", "answer"]
    assert "secret" not in " ".join(records.index)  # the file behind the leaving links was never read


def test_huge_files_and_bombs_keep_memory_bounded(bad_run):
    _, _, _, peak, baseline_peak = bad_run
    print(f"peak memory: {peak} MiB with the bad inputs, {baseline_peak} MiB on the five samples")
    assert peak < baseline_peak + 250


@pytest.mark.parametrize("gzipped", [False, True], ids=["warc", "warc.gz"])
def test_a_warc_over_the_file_limit_is_streamed_record_by_record(tmp_path, monkeypatch, gzipped):
    # a crawl archive of a gigabyte, scaled down: the file limit lowered, the dev-set crawl repeated past it
    crawl = (DATA / "html_devset" / "archive" / "crawl.warc.gz").read_bytes()
    responses = len(json.loads((DATA / "html_devset" / "archive" / "crawl.json").read_text(encoding="utf-8")))
    copy = crawl if gzipped else gzip.decompress(crawl)
    limit = 256 * 1024
    # the package exports a function named discover, which hides the module of that name
    monkeypatch.setattr(importlib.import_module("pipeline.readers.discover"), "MAX_FILE_BYTES", limit)
    path = tmp_path / ("crawl.warc.gz" if gzipped else "crawl.warc")
    path.write_bytes(copy)
    list(read_source(path, path.name))  # imports and caches filled first: they are not the archive's memory
    copies = 8 * limit // len(copy) + 1
    path.write_bytes(copy * copies)

    names = set()
    tracemalloc.start()
    try:
        for item in read_source(path, path.name):
            assert isinstance(item, Page) and item.input_format == "warc", item
            names.add(item.source_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(names) == copies * responses
    size = path.stat().st_size
    # read whole, the archive alone would take its size; streamed, a record or two at a time
    assert size > 8 * limit and peak < size // 4, f"peak {peak} bytes reading a {size}-byte archive"
    assert content_hash(path) == hashlib.sha1(path.read_bytes()).hexdigest()
