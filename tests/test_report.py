"""report.html: self-contained, charts present, every scraped string escaped; `pipeline report` re-renders it."""

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import RAW, run_cli

# A dump written for this test in the style of the samples (breadcrumb, title, byline, body, related
# list), with markup injected where a hostile or broken site could put it: title, body, related items,
# the source line and the file name.
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
HOSTILE_DUMP = f"""当前位置:首页>金融债务> 正文内容

网贷逾期{SCRIPT}怎么办

来源:<b onmouseover=alert(3)>恶意站点</b>  发布时间:2025-01-17 01:39:06

网贷逾期以后,催收人员上门是否合法{SCRIPT},要看催收的方式。根据《中华人民共和国民法典》,债权人可以依法催收,但不得侵犯借款人的人身权利和隐私权。

如果催收人员采用暴力、威胁、骚扰等方式{IMG},借款人可以向公安机关报案,也可以向金融监管部门投诉,保留好通话录音和现场照片等证据。

综上所述,合法催收可以理解,违法催收必须抵制,借款人应当与平台协商还款方案。

相关文章

  • 网贷逾期怎么协商{SCRIPT}
    网贷逾期以后怎么和平台协商还款?首先要保持沟通…
    2024-04-21
  • 催收上门违法吗{IMG}
    催收人员上门是否违法,需要结合具体情况来判断…
    4天前
"""
HOSTILE_NAME = "synthetic_<img src=x onerror=alert(4)>.txt"
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "section", "div", "b",
                "table", "thead", "tbody", "tr", "th", "td", "svg", "g", "rect", "text", "line"}


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attributes, self.text = set(), set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    inputs = root / "in"
    inputs.mkdir()
    for path in RAW.iterdir():
        shutil.copy(path, inputs / path.name)
    shutil.copy(RAW / "001_386c8cc45b7cb5d6.txt", inputs / "copy_of_001.txt")  # a duplicate to fold
    (inputs / HOSTILE_NAME).write_text(HOSTILE_DUMP, encoding="utf-8")
    (inputs / "<script>empty.txt").write_bytes(b"")
    out = root / "out"
    result = run_cli("run", inputs, "--out", out, "--workers", "1")
    assert result.returncode == 1, result.stderr  # the empty file is an error
    run_dir = out / "runs" / (out / "latest_run").read_text().strip()
    return out, run_dir


def test_report_is_self_contained_and_has_every_section(hostile_run):
    _, run_dir = hostile_run
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(page)
    # nothing loads from elsewhere: no linked file, no remote style, no script
    assert not parser.attributes & {"src", "href", "xlink:href", "srcset"} and "link" not in parser.tags
    style = page.split("<style>")[1].split("</style>")[0]
    assert "url(" not in style and "@import" not in style
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    headings = {"Counts", "Removal reasons", "Share of each page removed", "Duplicate clusters", "Top tags", "Sites",
                "New records", "Errors", "Slowest files", "Time per stage"}
    assert headings <= {t.strip() for t in parser.text}
    # removal reasons, share removed, cluster sizes, top tags
    assert page.count("<svg") == 4
    summary = json.loads((run_dir / "run.json").read_text())
    assert f"<b>{summary['records_new']:,}</b>new records" in page


def test_every_scraped_string_shows_as_text(hostile_run):
    _, run_dir = hostile_run
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(page)
    assert parser.tags <= ALLOWED_TAGS, parser.tags - ALLOWED_TAGS
    assert not {a for a in parser.attributes if a.startswith("on")}
    assert "<script" not in page.lower() and "<img" not in page.lower()
    text = "".join(parser.text)
    assert SCRIPT in text  # in the title of the new record
    assert "onerror=alert(4)" in text  # the file name, in the records table
    assert "<script>empty.txt" in text  # the error table
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_share_histogram_shows_every_page_of_the_run(hostile_run):
    _, run_dir = hostile_run
    summary = json.loads((run_dir / "run.json").read_text())
    assert sum(summary["removed_share_histogram"]) == summary["pages"] == 7  # the empty file is not a page
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    section = page.split('id="share-of-each-page-removed"')[1].split("</section>")[0]
    parser = _Collector()
    parser.feed(section)
    counts = [int(t) for t in parser.text if t.isdigit()]
    assert counts == summary["removed_share_histogram"]  # the count above each column


def test_report_command_renders_the_same_page_from_the_files(hostile_run):
    out, run_dir = hostile_run
    first = (run_dir / "report.html").read_bytes()
    (run_dir / "report.html").unlink()
    result = run_cli("report", "--out", out)
    assert result.returncode == 0 and Path(result.stdout.strip()) == run_dir / "report.html"
    assert (run_dir / "report.html").read_bytes() == first
    assert run_cli("report", run_dir.name, "--out", out).returncode == 0
    assert run_cli("report", run_dir).returncode == 0
    missing = run_cli("report", "20990101T000000000000Z", "--out", out, check=False)
    assert missing.returncode == 2 and run_dir.name in missing.stderr and "Traceback" not in missing.stderr


def test_a_run_folder_whose_run_json_has_no_removal_examples_gets_them_from_removed_csv(hostile_run, tmp_path):
    _, run_dir = hostile_run
    older = tmp_path / run_dir.name  # as runs wrote it before run.json kept the first line each rule removed
    shutil.copytree(run_dir, older)
    summary = json.loads((older / "run.json").read_text(encoding="utf-8"))
    assert summary.pop("removal_examples")["breadcrumb"].startswith("当前位置")
    (older / "run.json").write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    (older / "report.html").unlink()
    assert run_cli("report", older).returncode == 0
    assert (older / "report.html").read_bytes() == (run_dir / "report.html").read_bytes()


def test_report_renders_in_headless_chromium(hostile_run, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no chromium on PATH (apt-get install chromium); the report's rendering is not checked")
    _, run_dir = hostile_run
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    url = (run_dir / "report.html").as_uri()
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert dom.count("<svg") == 4 and dom.count("<rect") >= 10
    assert "<script" not in dom and "<img" not in dom
    assert "网贷逾期&lt;script&gt;alert(1)&lt;/script&gt;怎么办" in dom
    shot = tmp_path / "report.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,2400", url], capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
